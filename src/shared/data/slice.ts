/**
 * Axial slices of a volume for the 2D network (GUIDE §5b): slice z of `[X, Y, Z]` resized to
 * `size` (bilinear image, nearest label, both with the half-pixel convention of resample.ts), as a
 * volume `[H, W, 1]`, so the 3D crop, translation and CutMix machinery runs on it unchanged.
 */
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';
import { resampleLinear, resampleNearest } from './resample.js';

/** Which slice of a stored volume a batch slot trains on, and the size it is resized to. */
export interface SliceCut {
  z: number;
  size: readonly [number, number];
}

/** The volume shape a cut slice has: `[H, W, 1]`. */
export function sliceShape(cut: SliceCut): Shape3 {
  return [cut.size[0], cut.size[1], 1];
}

export function checkSliceCut(cut: SliceCut, volumeShape: Shape3): void {
  if (!(Number.isInteger(cut.z) && cut.z >= 0 && cut.z < volumeShape[2])) {
    throw new TracocoError(`slice ${cut.z} is outside the volume's ${volumeShape[2]} axial slices`, { field: 'slice.z' });
  }
  if (cut.size.length !== 2 || !cut.size.every((v) => Number.isInteger(v) && v > 0)) {
    throw new TracocoError(`must be two positive integers, got [${cut.size.join(', ')}]`, { field: 'data.slice_size' });
  }
}

/** Axial slice `cut.z` of an image, resized bilinearly to `cut.size`. */
export function imageSlice(image: Float32Array, shape: Shape3, cut: SliceCut): Float32Array {
  return resampleLinear(axial(image, shape, cut, new Float32Array(shape[0] * shape[1])), [shape[0], shape[1], 1], sliceShape(cut));
}

/** Axial slice `cut.z` of a label volume, resized by nearest neighbour (labels stay labels). */
export function labelSlice(label: Uint8Array, shape: Shape3, cut: SliceCut): Uint8Array {
  return resampleNearest(axial(label, shape, cut, new Uint8Array(shape[0] * shape[1])), [shape[0], shape[1], 1], sliceShape(cut));
}

function axial<T extends Float32Array | Uint8Array>(values: T, shape: Shape3, cut: SliceCut, out: T): T {
  checkSliceCut(cut, shape);
  const Z = shape[2];
  for (let i = 0; i < out.length; i++) out[i] = values[i * Z + cut.z]!;
  return out;
}
