/**
 * Per-volume intensity transforms of the reference pipeline: min-max normalisation to [0, 1] and
 * a random brightness factor clipped back to [0, 1]. Each writes to `out` (a new array by default;
 * passing the input itself works in place, which the batch builder does on crops).
 */
import { TracocoError } from '../errors.js';

export interface IntensityRange {
  min: number;
  max: number;
}

/** Minimum and maximum of an image; NaN/Inf voxels or an empty image are errors naming the voxel. */
export function intensityRange(image: ArrayLike<number>): IntensityRange {
  if (image.length === 0) throw new TracocoError('empty image has no intensity range', { field: 'image' });
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    if (v !== v) throw nonFinite(i);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw nonFinite(firstNonFinite(image));
  return { min, max };
}

/**
 * (image - min) / (max - min) over the whole image (or over `range`, the whole volume's, when
 * `image` is a crop of it). A constant image maps to zeros rather than NaN.
 */
export function normalizeMinMax(
  image: Float32Array,
  range: IntensityRange = intensityRange(image),
  out: Float32Array = new Float32Array(image.length),
): Float32Array {
  const { min } = range;
  const span = range.max - range.min;
  if (span > 0) for (let i = 0; i < image.length; i++) out[i] = (image[i]! - min) / span;
  else out.fill(0, 0, image.length);
  return out;
}

/** image × factor, clipped to [0, 1] (the reference's RandomBrightness after normalisation). */
export function scaleBrightness(image: Float32Array, factor: number, out: Float32Array = new Float32Array(image.length)): Float32Array {
  if (!Number.isFinite(factor) || factor < 0) throw new TracocoError(`brightness factor must be finite and >= 0, got ${factor}`, { field: 'brightness' });
  for (let i = 0; i < image.length; i++) {
    const v = image[i]! * factor;
    out[i] = v > 1 ? 1 : v < 0 ? 0 : v;
  }
  return out;
}

function nonFinite(index: number): TracocoError {
  return new TracocoError(`image holds a NaN or infinite voxel (flat index ${index})`, { field: 'image' });
}

function firstNonFinite(image: ArrayLike<number>): number {
  for (let i = 0; i < image.length; i++) if (!Number.isFinite(image[i]!)) return i;
  return -1;
}
