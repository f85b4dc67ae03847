/**
 * Post-processing of a predicted binary mask (GUIDE §5 Evaluation): the reference drops
 * 26-connected foreground components smaller than 8000 voxels. Outputs are new 0/1 masks;
 * the input is left untouched.
 */
import type { Shape3 } from '../volume.js';
import { labelComponents } from './connected-components.js';

/** The reference threshold in voxels. */
export const DEFAULT_MIN_COMPONENT_VOXELS = 8000;

/** Keeps the 26-connected components with at least `minVoxels` voxels (fewer are dropped). */
export function removeSmallComponents(mask: Uint8Array, shape: Shape3, minVoxels = DEFAULT_MIN_COMPONENT_VOXELS): Uint8Array {
  if (!Number.isFinite(minVoxels) || minVoxels < 0) throw new RangeError(`removeSmallComponents: minVoxels must be >= 0, got ${minVoxels}`);
  const { labels, sizes } = labelComponents(mask, shape);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (c !== 0 && sizes[c]! >= minVoxels) out[i] = 1;
  }
  return out;
}

/** Keeps only the largest 26-connected component (the first in raster order on a tie); empty stays empty. */
export function largestComponent(mask: Uint8Array, shape: Shape3): Uint8Array {
  const { labels, sizes, count } = labelComponents(mask, shape);
  const out = new Uint8Array(mask.length);
  if (count === 0) return out;
  let best = 1;
  for (let c = 2; c <= count; c++) if (sizes[c]! > sizes[best]!) best = c;
  for (let i = 0; i < labels.length; i++) if (labels[i] === best) out[i] = 1;
  return out;
}
