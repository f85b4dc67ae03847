/**
 * Surface distances with medpy semantics (`medpy.metric.binary.__surface_distances`, `hd95`, `asd`).
 *
 * - The surface (border) of a mask is `mask XOR binary_erosion(mask, 6-connected cross)` with
 *   scipy's default border handling: outside the array is background, so foreground voxels on
 *   the array edge are border voxels.
 * - Directed distances result→reference: the distance transform of the reference border,
 *   sampled at the result's border voxels (in raster order).
 * - hd95: the 95th percentile (numpy's default linear interpolation) of both directed sets
 *   together; asd: the mean of the directed result→reference set.
 *
 * The distance transforms only run on the bounding box of the two borders: every border voxel
 * lies inside it, so the nearest-border distances are the same as on the whole volume.
 */
import type { Shape3, Vec3 } from '../volume.js';
import { squaredDistanceTransform } from './distance-transform.js';
import { checkMaskShape, checkSpacing } from './overlap.js';

const UNIT_SPACING: Vec3 = [1, 1, 1];

export interface SurfaceDistanceMetrics {
  hd95: number;
  asd: number;
}

/** Inclusive-exclusive voxel box [lo, hi) per axis. */
interface Box {
  lo: [number, number, number];
  hi: [number, number, number];
}

/** Border voxels (1) of `mask`: foreground voxels with a background or out-of-array 6-neighbour. */
export function surfaceBorder(mask: Uint8Array, shape: Shape3): Uint8Array {
  checkMaskShape(mask, shape);
  const [X, Y, Z] = shape;
  const YZ = Y * Z;
  const border = new Uint8Array(mask.length);
  for (let x = 0, i = 0; x < X; x++) {
    const xInside = x > 0 && x < X - 1;
    for (let y = 0; y < Y; y++) {
      const xyInside = xInside && y > 0 && y < Y - 1;
      for (let z = 0; z < Z; z++, i++) {
        if (mask[i] === 0) continue;
        const interior =
          xyInside &&
          z > 0 &&
          z < Z - 1 &&
          mask[i - YZ] !== 0 &&
          mask[i + YZ] !== 0 &&
          mask[i - Z] !== 0 &&
          mask[i + Z] !== 0 &&
          mask[i - 1] !== 0 &&
          mask[i + 1] !== 0;
        if (!interior) border[i] = 1;
      }
    }
  }
  return border;
}

/**
 * Distances from each border voxel of `result` (raster order) to the nearest border voxel of
 * `reference`. An empty `result` gives an empty array; an empty `reference` gives Infinity values
 * (medpy raises on both; `caseMetrics` applies the reference protocol before calling this).
 */
export function directedSurfaceDistances(
  result: Uint8Array,
  reference: Uint8Array,
  shape: Shape3,
  spacing: Vec3 = UNIT_SPACING,
): Float64Array {
  checkMaskShape(reference, shape, 'reference');
  checkSpacing(spacing);
  const resultBorder = surfaceBorder(result, shape);
  const referenceBorder = surfaceBorder(reference, shape);
  return borderDistances(resultBorder, referenceBorder, shape, spacing)[0];
}

/**
 * hd95 and asd of `pred` against `label` (both non-empty; NaN for both figures when either is
 * empty, where medpy raises).
 */
export function surfaceDistanceMetrics(
  pred: Uint8Array,
  label: Uint8Array,
  shape: Shape3,
  spacing: Vec3 = UNIT_SPACING,
): SurfaceDistanceMetrics {
  checkMaskShape(pred, shape, 'pred');
  checkMaskShape(label, shape, 'label');
  checkSpacing(spacing);
  const [predToLabel, labelToPred] = borderDistances(surfaceBorder(pred, shape), surfaceBorder(label, shape), shape, spacing);
  if (predToLabel.length === 0 || labelToPred.length === 0) return { hd95: NaN, asd: NaN };
  const both = new Float64Array(predToLabel.length + labelToPred.length);
  both.set(predToLabel);
  both.set(labelToPred, predToLabel.length);
  return { hd95: percentile(both, 95), asd: mean(predToLabel) };
}

/** q-th percentile (0..100) with numpy's default linear interpolation; sorts `values` in place. */
export function percentile(values: Float64Array, q: number): number {
  const n = values.length;
  if (n === 0 || !(q >= 0 && q <= 100)) return NaN;
  values.sort();
  const rank = ((n - 1) * q) / 100;
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  const below = values[lo]!;
  return below + (values[hi]! - below) * (rank - lo);
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** [a→b, b→a] directed distances between two border masks, computed on their joint bounding box. */
function borderDistances(aBorder: Uint8Array, bBorder: Uint8Array, shape: Shape3, spacing: Vec3): [Float64Array, Float64Array] {
  const box = boundingBox([aBorder, bBorder], shape);
  if (!box) return [new Float64Array(0), new Float64Array(0)];
  const boxShape: Shape3 = [box.hi[0] - box.lo[0], box.hi[1] - box.lo[1], box.hi[2] - box.lo[2]];
  const a = crop(aBorder, shape, box);
  const b = crop(bBorder, shape, box);
  const scratch = new Float64Array(a.length);
  const aToB = sampleDistances(squaredDistanceTransform(b, boxShape, spacing, scratch), a);
  const bToA = sampleDistances(squaredDistanceTransform(a, boxShape, spacing, scratch), b);
  return [aToB, bToA];
}

/** sqrt of the squared distances at the nonzero voxels of `at`, in raster order. */
function sampleDistances(squared: Float64Array, at: Uint8Array): Float64Array {
  let count = 0;
  for (let i = 0; i < at.length; i++) if (at[i] !== 0) count++;
  const out = new Float64Array(count);
  for (let i = 0, k = 0; i < at.length; i++) if (at[i] !== 0) out[k++] = Math.sqrt(squared[i]!);
  return out;
}

/** Smallest box holding every nonzero voxel of the masks, or null when all are empty. */
function boundingBox(masks: Uint8Array[], shape: Shape3): Box | null {
  const [X, Y, Z] = shape;
  const lo: [number, number, number] = [X, Y, Z];
  const hi: [number, number, number] = [0, 0, 0];
  for (const mask of masks) {
    for (let x = 0, i = 0; x < X; x++) {
      for (let y = 0; y < Y; y++) {
        for (let z = 0; z < Z; z++, i++) {
          if (mask[i] === 0) continue;
          if (x < lo[0]) lo[0] = x;
          if (x >= hi[0]) hi[0] = x + 1;
          if (y < lo[1]) lo[1] = y;
          if (y >= hi[1]) hi[1] = y + 1;
          if (z < lo[2]) lo[2] = z;
          if (z >= hi[2]) hi[2] = z + 1;
        }
      }
    }
  }
  return hi[0] > lo[0] ? { lo, hi } : null;
}

function crop(mask: Uint8Array, shape: Shape3, box: Box): Uint8Array {
  const [, Y, Z] = shape;
  const [bx, by, bz] = [box.hi[0] - box.lo[0], box.hi[1] - box.lo[1], box.hi[2] - box.lo[2]];
  const out = new Uint8Array(bx * by * bz);
  for (let x = 0, o = 0; x < bx; x++) {
    for (let y = 0; y < by; y++, o += bz) {
      const start = ((box.lo[0] + x) * Y + box.lo[1] + y) * Z + box.lo[2];
      out.set(mask.subarray(start, start + bz), o);
    }
  }
  return out;
}
