/**
 * Checks that turn bad volumes into clear errors before they reach training or evaluation:
 * image/label shape mismatch, NaN/Inf image voxels, label values outside 0..classes-1 and
 * fractional label values. Each error names the file and the first offending voxel.
 * Volumes smaller than a patch are fine here: the sampler pads them (GUIDE §4).
 */
import { TracocoError } from '../errors.js';
import { formatShape, sameShape, type VoxelArray } from '../volume.js';

/** `(x, y, z)` (or `(x, y, z, c)`) of a flat row-major index. */
export function formatVoxel(index: number, shape: readonly number[]): string {
  const coords: number[] = [];
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const n = shape[axis]!;
    coords.unshift(rest % n);
    rest = Math.floor(rest / n);
  }
  return `(${coords.join(', ')})`;
}

export function checkSameShape(imageShape: readonly number[], labelShape: readonly number[], files: { image: string; label: string }): void {
  if (!sameShape(imageShape, labelShape)) {
    throw new TracocoError(
      `label shape ${formatShape(labelShape)} does not match image shape ${formatShape(imageShape)} (${files.image})`,
      { file: files.label },
    );
  }
}

/** Throws on the first NaN/Inf voxel, reporting how many there are in all. */
export function checkFinite(data: ArrayLike<number>, shape: readonly number[], file: string): void {
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first >= 0) {
    throw new TracocoError(
      `image voxel ${formatVoxel(first, shape)} is ${data[first]} (${count} non-finite voxel${count === 1 ? '' : 's'} in all)`,
      { file },
    );
  }
}

/** The image as float32 (converting other datatypes), rejecting NaN/Inf voxels. */
export function toImageArray(data: VoxelArray, shape: readonly number[], file: string): Float32Array {
  let image: Float32Array;
  if (data instanceof Float32Array) {
    image = data;
  } else {
    image = new Float32Array(data.length);
    image.set(data);
  }
  checkFinite(image, shape, file);
  return image;
}

/**
 * The label map as uint8, rejecting fractional values and values outside 0..classes-1
 * (0..255 when `classes` is not given).
 */
export function toLabelArray(data: VoxelArray, shape: readonly number[], file: string, classes?: number): Uint8Array {
  const max = labelMax(classes);
  if (data instanceof Uint8Array) {
    checkLabelRange(data, shape, file, classes);
    return data;
  }
  const label = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v)) {
      throw new TracocoError(`label voxel ${formatVoxel(i, shape)} is ${v}: label values must be integers`, { file });
    }
    if (v < 0 || v > max) throw outOfRange(v, i, shape, file, classes);
    label[i] = v;
  }
  return label;
}

/** Throws on the first label value outside 0..classes-1. */
export function checkLabelRange(label: Uint8Array, shape: readonly number[], file: string, classes?: number): void {
  const max = labelMax(classes);
  if (max >= 255) return;
  for (let i = 0; i < label.length; i++) {
    if (label[i]! > max) throw outOfRange(label[i]!, i, shape, file, classes);
  }
}

export interface CaseVolumes {
  image: Float32Array;
  label: Uint8Array | null;
  shape: readonly number[];
}

/** Validates a case already in tracoco's types (e.g. read from HDF5). */
export function validateCase(c: CaseVolumes, files: { image: string; label?: string }, classes?: number): void {
  checkFinite(c.image, c.shape, files.image);
  if (c.label) checkLabelRange(c.label, c.shape, files.label ?? files.image, classes);
}

function labelMax(classes: number | undefined): number {
  if (classes === undefined) return 255;
  if (!Number.isInteger(classes) || classes < 1 || classes > 256) throw new RangeError(`classes must be an integer 1..256, got ${classes}`);
  return classes - 1;
}

function outOfRange(value: number, index: number, shape: readonly number[], file: string, classes: number | undefined): TracocoError {
  const range = classes === undefined ? '0..255' : `0..${classes - 1} (${classes} classes)`;
  return new TracocoError(`label voxel ${formatVoxel(index, shape)} is ${value}, outside ${range}`, { file });
}
