/**
 * Resampling of volumes to another grid (`data.scale`, GUIDE §4): trilinear for images and class
 * probabilities, nearest for labels. Both use the half-voxel convention of PyTorch's
 * `interpolate(..., align_corners=False)` (`nearest-exact` for labels): output voxel i samples the
 * input at (i + 0.5) · in/out − 0.5, so a volume and its resampled copy cover the same extent.
 * Volumes are row-major `[X, Y, Z]` (z fastest), optionally with `channels` values per voxel last.
 */
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';

/** The grid a volume of `shape` has after scaling each axis by `scale` (at least one voxel). */
export function scaledShape(shape: Shape3, scale: number): Shape3 {
  if (!(scale > 0 && Number.isFinite(scale))) throw new TracocoError(`must be a positive number, got ${scale}`, { field: 'data.scale' });
  return shape.map((s) => Math.max(1, Math.round(s * scale))) as unknown as Shape3;
}

/** Trilinear resampling of `[X, Y, Z, channels]` values onto `target`; separable, one axis at a time. */
export function resampleLinear(values: Float32Array, shape: Shape3, target: Shape3, channels = 1): Float32Array {
  checkSize(values.length, shape, channels, 'values');
  let current = values;
  let dims: number[] = [...shape];
  for (let axis = 0; axis < 3; axis++) {
    if (dims[axis] === target[axis]) continue;
    current = resampleAxis(current, dims, axis, target[axis]!, channels);
    dims = dims.map((d, a) => (a === axis ? target[axis]! : d));
  }
  return current === values ? values.slice() : current;
}

/** Nearest-neighbour resampling of a label volume `[X, Y, Z]`: every output label is an input label. */
export function resampleNearest(labels: Uint8Array, shape: Shape3, target: Shape3): Uint8Array {
  checkSize(labels.length, shape, 1, 'labels');
  const index = [0, 1, 2].map((a) => nearestIndex(shape[a]!, target[a]!));
  const out = new Uint8Array(target[0] * target[1] * target[2]);
  let o = 0;
  for (let x = 0; x < target[0]; x++) {
    for (let y = 0; y < target[1]; y++) {
      const row = (index[0]![x]! * shape[1] + index[1]![y]!) * shape[2];
      for (let z = 0; z < target[2]; z++) out[o++] = labels[row + index[2]![z]!]!;
    }
  }
  return out;
}

function nearestIndex(size: number, out: number): Int32Array {
  const idx = new Int32Array(out);
  for (let i = 0; i < out; i++) idx[i] = Math.min(size - 1, Math.floor(((i + 0.5) * size) / out));
  return idx;
}

/** Resamples one axis of a row-major volume `dims` (with `channels` innermost) to `size` samples. */
function resampleAxis(values: Float32Array, dims: number[], axis: number, size: number, channels: number): Float32Array {
  const n = dims[axis]!;
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1) * channels;
  const out = new Float32Array(outer * size * inner);
  const ratio = n / size;
  for (let i = 0; i < size; i++) {
    const src = Math.max(0, (i + 0.5) * ratio - 0.5);
    const i0 = Math.min(n - 1, Math.floor(src));
    const i1 = Math.min(n - 1, i0 + 1);
    const w1 = src - i0;
    const w0 = 1 - w1;
    for (let o = 0; o < outer; o++) {
      const a = (o * n + i0) * inner;
      const b = (o * n + i1) * inner;
      const d = (o * size + i) * inner;
      for (let k = 0; k < inner; k++) out[d + k] = w0 * values[a + k]! + w1 * values[b + k]!;
    }
  }
  return out;
}

function checkSize(length: number, shape: Shape3, channels: number, field: string): void {
  if (shape.some((s) => !(Number.isInteger(s) && s > 0)) || length !== shape[0] * shape[1] * shape[2] * channels) {
    throw new TracocoError(`has ${length} values, shape [${shape.join(', ')}] × ${channels} channel(s) needs ${shape[0] * shape[1] * shape[2] * channels}`, { field });
  }
}
