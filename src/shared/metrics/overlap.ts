/**
 * Voxel-overlap scores of two binary masks (nonzero = foreground), plus the shape checks every
 * metrics function shares. Dice and Jaccard follow medpy: `dc` = 2|A∩B|/(|A|+|B|) and
 * `jc` = |A∩B|/|A∪B|, both 0 when the denominator is 0.
 */
import { TracocoError } from '../errors.js';
import type { Shape3, Vec3 } from '../volume.js';

/** Foreground counts of a prediction A and a reference B. */
export interface OverlapCounts {
  /** |A| */
  pred: number;
  /** |B| */
  label: number;
  /** |A ∩ B| */
  both: number;
}

/** Throws a TracocoError naming `what` unless `shape` is 3 positive integers and `mask` has that many voxels. */
export function checkMaskShape(mask: ArrayLike<number>, shape: Shape3, what = 'mask'): number {
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new TracocoError(`expected a shape of 3 positive integers, got [${Array.from(shape).join(', ')}]`, { field: `${what}.shape` });
  }
  const voxels = shape[0] * shape[1] * shape[2];
  if (mask.length !== voxels) {
    throw new TracocoError(`has ${mask.length} voxels but shape [${shape.join(', ')}] needs ${voxels}`, { field: what });
  }
  return voxels;
}

/** Throws a TracocoError unless every spacing component is finite and positive. */
export function checkSpacing(spacing: Vec3): void {
  if (spacing.length !== 3 || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new TracocoError(`expected 3 finite positive voxel sizes, got [${Array.from(spacing).join(', ')}]`, { field: 'spacing' });
  }
}

export function overlapCounts(pred: Uint8Array, label: Uint8Array): OverlapCounts {
  if (pred.length !== label.length) {
    throw new TracocoError(`prediction has ${pred.length} voxels, label ${label.length}`, { field: 'label' });
  }
  let a = 0;
  let b = 0;
  let both = 0;
  for (let i = 0; i < pred.length; i++) {
    const inA = pred[i] !== 0;
    const inB = label[i] !== 0;
    if (inA) a++;
    if (inB) b++;
    if (inA && inB) both++;
  }
  return { pred: a, label: b, both };
}

export function diceFromCounts(c: OverlapCounts): number {
  const denominator = c.pred + c.label;
  return denominator === 0 ? 0 : (2 * c.both) / denominator;
}

export function jaccardFromCounts(c: OverlapCounts): number {
  const union = c.pred + c.label - c.both;
  return union === 0 ? 0 : c.both / union;
}

export function dice(pred: Uint8Array, label: Uint8Array): number {
  return diceFromCounts(overlapCounts(pred, label));
}

export function jaccard(pred: Uint8Array, label: Uint8Array): number {
  return jaccardFromCounts(overlapCounts(pred, label));
}
