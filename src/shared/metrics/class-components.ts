/**
 * Largest connected component per class (GUIDE §5b: the published ACDC pseudo-label filter,
 * `get_ACDC_2DLargestCC`). Per sample, for each foreground class c, the largest connected
 * component of argmax == c keeps label c; every other voxel (background, smaller components)
 * becomes background 0. The probabilities are then multiplied by the one-hot of that kept map:
 * a voxel keeps only its kept class's probability, the others are zeroed. When the kept map
 * holds one value over the whole batch (no foreground anywhere), the published code returns its
 * input unchanged, and so does this.
 *
 * Connectivity defaults to full (8 in 2D, 26 in 3D): the published code labels with
 * `skimage.measure.label`, whose default is full connectivity, not scipy's 4/6.
 */
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';
import { labelComponents, type Connectivity2, type Connectivity3 } from './connected-components.js';
import { checkMaskShape } from './overlap.js';

export interface ClassComponentOptions {
  /** 4 or 8 for 2D samples, 6, 18 or 26 for 3D ones; default 8 / 26. */
  connectivity?: Connectivity2 | Connectivity3;
  /**
   * A class whose largest component has fewer voxels keeps none (the published evaluation
   * post-process uses 10; its training filter 0, the default).
   */
  minVoxels?: number;
}

/**
 * Kept label map of one label volume [X, Y, Z] (a 2D slice is [1, H, W]) with 3D `connectivity`:
 * class c on the voxels of the largest component of `labels == c`, 0 elsewhere. Ties between
 * components of equal size go to the first in raster order, as the published `np.argmax`.
 */
export function largestComponentPerClass(
  labels: ArrayLike<number>,
  shape: Shape3,
  classes: number,
  connectivity: Connectivity3 = 26,
  minVoxels = 0,
): Uint8Array {
  checkMaskShape(labels, shape, 'labels');
  checkClasses(classes);
  checkMinVoxels(minVoxels);
  checkLabelValues(labels, classes, 'labels');
  const out = new Uint8Array(labels.length);
  const mask = new Uint8Array(labels.length);
  for (let c = 1; c < classes; c++) {
    for (let i = 0; i < labels.length; i++) mask[i] = labels[i] === c ? 1 : 0;
    const { labels: components, sizes, count } = labelComponents(mask, shape, connectivity);
    if (count === 0) continue;
    let best = 1;
    for (let k = 2; k <= count; k++) if (sizes[k]! > sizes[best]!) best = k;
    if (sizes[best]! < minVoxels) continue;
    for (let i = 0; i < components.length; i++) if (components[i] === best) out[i] = c;
  }
  return out;
}

/**
 * The pseudo-label filter on probabilities `prob` of `shape` [N, H, W, C] (N slices, each
 * labelled in 2D) or [N, X, Y, Z, C] (N volumes, in 3D), classes last; returns a new array.
 */
export function largestComponentPseudoLabels(prob: Float32Array, shape: readonly number[], options: ClassComponentOptions = {}): Float32Array {
  const { volume, classes, samples, connectivity } = sampleGeometry(prob, shape, options.connectivity);
  const voxels = volume[0] * volume[1] * volume[2];
  const argmax = new Uint8Array(voxels);
  const kept = new Uint8Array(samples * voxels);
  for (let n = 0; n < samples; n++) {
    for (let v = 0; v < voxels; v++) argmax[v] = argmaxAt(prob, (n * voxels + v) * classes, classes);
    kept.set(largestComponentPerClass(argmax, volume, classes, connectivity, options.minVoxels ?? 0), n * voxels);
  }
  if (kept.every((k) => k === kept[0])) return Float32Array.from(prob);
  const out = new Float32Array(prob.length);
  for (let v = 0; v < kept.length; v++) out[v * classes + kept[v]!] = prob[v * classes + kept[v]!]!;
  return out;
}

/** First index of the largest of `classes` values from `offset` (torch.argmax's tie rule). */
export function argmaxAt(values: Float32Array, offset: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (values[offset + c]! > values[offset + best]!) best = c;
  return best;
}

function sampleGeometry(prob: Float32Array, shape: readonly number[], connectivity: ClassComponentOptions['connectivity']) {
  if ((shape.length !== 4 && shape.length !== 5) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TracocoError(`expected [N, H, W, C] or [N, X, Y, Z, C] of positive integers, got [${shape.join(', ')}]`, { field: 'shape' });
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (prob.length !== size) throw new TracocoError(`has ${prob.length} values but shape [${shape.join(', ')}] needs ${size}`, { field: 'prob' });
  const classes = shape[shape.length - 1]!;
  checkClasses(classes);
  if (shape.length === 4) {
    const c = connectivity ?? 8;
    if (c !== 4 && c !== 8) throw new TracocoError(`2D connectivity must be 4 or 8, got ${c}`, { field: 'connectivity' });
    // A slice is a volume one voxel thick: in-plane corners are 18-neighbours there.
    return { volume: [1, shape[1]!, shape[2]!] as const, classes, samples: shape[0]!, connectivity: (c === 4 ? 6 : 18) as Connectivity3 };
  }
  const c = connectivity ?? 26;
  if (c !== 6 && c !== 18 && c !== 26) throw new TracocoError(`3D connectivity must be 6, 18 or 26, got ${c}`, { field: 'connectivity' });
  return { volume: [shape[1]!, shape[2]!, shape[3]!] as const, classes, samples: shape[0]!, connectivity: c };
}

/** Throws a TracocoError naming `field` unless every value is an integer class 0…classes−1. */
export function checkLabelValues(labels: ArrayLike<number>, classes: number, field: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
      throw new TracocoError(`label value ${v} at voxel ${i} is outside the classes 0…${classes - 1}`, { field });
    }
  }
}

function checkClasses(classes: number): void {
  if (!Number.isInteger(classes) || classes < 2 || classes > 256) {
    throw new TracocoError(`needs an integer class count in 2…256, got ${classes}`, { field: 'classes' });
  }
}

function checkMinVoxels(minVoxels: number): void {
  if (!Number.isFinite(minVoxels) || minVoxels < 0) throw new TracocoError(`must be a finite number ≥ 0, got ${minVoxels}`, { field: 'minVoxels' });
}
