/**
 * Sliding-window inference, the reference `test_single_case`:
 *  - optional min-max normalisation of the volume to [0, 1] (the reference testing transform);
 *  - zero padding, centred (left = pad // 2), up to at least the patch on each axis;
 *  - windows per axis s = ceil((size - patch) / stride) + 1, window i starting at
 *    min(stride * i, size - patch);
 *  - softmax of every window's logits summed per voxel and divided by the number of windows
 *    covering it; argmax; the padding cropped off again.
 * Windows run in batches in eval mode; the running sum is the only volume-sized buffer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import type { VNet } from '../model/vnet.js';
import type { Shape3 } from '../volume.js';
import { normalizeMinMax } from '../data/intensity.js';

/** Logits `[B, px, py, pz, classes]` of a batch of windows `[B, px, py, pz, 1]`. */
export type WindowPredictor = (windows: tf.Tensor5D) => tf.Tensor5D;

export type InputNormalization = 'minmax' | 'none';

export interface SlidingWindowOptions {
  patch: Shape3;
  strideXY: number;
  strideZ: number;
  /** Windows per forward (default 1). */
  batch?: number;
  /** 'minmax' (default) rescales the volume to [0, 1] first; 'none' uses it as is. */
  normalize?: InputNormalization;
  /** Names the input in errors (a file path). */
  source?: string;
  /** Called after each batch with windows done and total. */
  onProgress?: (done: number, total: number) => void;
}

export interface SlidingWindowResult {
  shape: Shape3;
  classes: number;
  /** `[X, Y, Z, classes]`, class fastest: mean softmax over the windows covering each voxel. */
  probabilities: Float32Array;
  /** `[X, Y, Z]` argmax of the probabilities (first class on ties, like numpy). */
  labels: Uint8Array;
}

/** Window starts along one axis of (padded) length `size`. */
export function windowStarts(size: number, patch: number, stride: number): number[] {
  const count = Math.ceil((size - patch) / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.min(stride * i, size - patch));
}

/** Zero padding per axis so each size reaches the patch: [before, after] with before = pad // 2. */
export function centredPadding(shape: Shape3, patch: Shape3): [number, number][] {
  return shape.map((s, axis) => {
    const pad = Math.max(patch[axis]! - s, 0);
    return [Math.floor(pad / 2), pad - Math.floor(pad / 2)] as [number, number];
  });
}

function checkOptions(image: Float32Array, shape: Shape3, o: SlidingWindowOptions): void {
  const source = o.source ? { file: o.source } : {};
  if (image.length !== shape[0] * shape[1] * shape[2]) {
    throw new TracocoError(`image has ${image.length} voxels, shape ${shape.join('x')} needs ${shape[0] * shape[1] * shape[2]}`, source);
  }
  for (const [name, v] of [['patch', o.patch[0]], ['patch', o.patch[1]], ['patch', o.patch[2]], ['stride-xy', o.strideXY], ['stride-z', o.strideZ], ['batch', o.batch ?? 1]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new TracocoError(`${name} must be a positive integer, got ${v}`, { ...source, field: name });
  }
  for (let i = 0; i < image.length; i++) {
    if (!Number.isFinite(image[i]!)) {
      const x = Math.floor(i / (shape[1] * shape[2]));
      const y = Math.floor(i / shape[2]) % shape[1];
      throw new TracocoError(`non-finite voxel ${image[i]} at (${x}, ${y}, ${i % shape[2]})`, source);
    }
  }
}

/**
 * Predicts a whole volume `[X, Y, Z]` (row-major, z fastest) with a VNet in eval mode, or any
 * window predictor. Resolves with probabilities and labels of the original size.
 */
export async function slidingWindowPredict(
  model: VNet | WindowPredictor,
  image: Float32Array,
  shape: Shape3,
  options: SlidingWindowOptions,
): Promise<SlidingWindowResult> {
  checkOptions(image, shape, options);
  const predict: WindowPredictor = typeof model === 'function' ? model : (x) => model.forward(x, { training: false });
  const input = (options.normalize ?? 'minmax') === 'minmax' ? normalizeMinMax(image) : image;
  const pads = centredPadding(shape, options.patch);
  const padded = shape.map((s, a) => s + pads[a]![0] + pads[a]![1]) as unknown as Shape3;
  const volume = padVolume(input, shape, padded, pads);
  const [px, py, pz] = options.patch;
  const starts = [
    windowStarts(padded[0], px, options.strideXY),
    windowStarts(padded[1], py, options.strideXY),
    windowStarts(padded[2], pz, options.strideZ),
  ];
  const windows: [number, number, number][] = [];
  for (const xs of starts[0]!) for (const ys of starts[1]!) for (const zs of starts[2]!) windows.push([xs, ys, zs]);

  const batchSize = options.batch ?? 1;
  const patchVoxels = px * py * pz;
  let scores: Float32Array | null = null;
  let classes = 0;
  for (let b = 0; b < windows.length; b += batchSize) {
    const batch = windows.slice(b, b + batchSize);
    const data = new Float32Array(batch.length * patchVoxels);
    batch.forEach((w, i) => extractWindow(volume, padded, w, options.patch, data.subarray(i * patchVoxels, (i + 1) * patchVoxels)));
    const probs = tf.tidy(() => tf.softmax(predict(tf.tensor5d(data, [batch.length, px, py, pz, 1]))));
    const values = (await probs.data()) as Float32Array;
    classes = probs.shape[4]!;
    probs.dispose();
    scores ??= new Float32Array(padded[0] * padded[1] * padded[2] * classes);
    batch.forEach((w, i) => accumulateWindow(scores!, padded, w, options.patch, classes, values.subarray(i * patchVoxels * classes)));
    options.onProgress?.(Math.min(b + batchSize, windows.length), windows.length);
  }
  divideByCoverage(scores!, padded, options.patch, starts, classes);
  const probabilities = cropVolume(scores!, padded, shape, pads, classes);
  return { shape, classes, probabilities, labels: argmaxLabels(probabilities, classes) };
}

function padVolume(image: Float32Array, shape: Shape3, padded: Shape3, pads: [number, number][]): Float32Array {
  if (padded.every((s, a) => s === shape[a])) return image;
  const out = new Float32Array(padded[0] * padded[1] * padded[2]);
  for (let x = 0; x < shape[0]; x++) {
    for (let y = 0; y < shape[1]; y++) {
      const src = (x * shape[1] + y) * shape[2];
      const dst = ((x + pads[0]![0]) * padded[1] + y + pads[1]![0]) * padded[2] + pads[2]![0];
      out.set(image.subarray(src, src + shape[2]), dst);
    }
  }
  return out;
}

function extractWindow(volume: Float32Array, size: Shape3, start: readonly number[], patch: Shape3, out: Float32Array): void {
  const [xs, ys, zs] = start as [number, number, number];
  for (let x = 0; x < patch[0]; x++) {
    for (let y = 0; y < patch[1]; y++) {
      const src = ((xs + x) * size[1] + ys + y) * size[2] + zs;
      out.set(volume.subarray(src, src + patch[2]), (x * patch[1] + y) * patch[2]);
    }
  }
}

function accumulateWindow(scores: Float32Array, size: Shape3, start: readonly number[], patch: Shape3, classes: number, probs: Float32Array): void {
  const [xs, ys, zs] = start as [number, number, number];
  const run = patch[2] * classes;
  for (let x = 0; x < patch[0]; x++) {
    for (let y = 0; y < patch[1]; y++) {
      const dst = (((xs + x) * size[1] + ys + y) * size[2] + zs) * classes;
      const src = (x * patch[1] + y) * run;
      for (let k = 0; k < run; k++) scores[dst + k] += probs[src + k]!;
    }
  }
}

/** Windows form a grid, so the number covering a voxel is the product of per-axis counts. */
function divideByCoverage(scores: Float32Array, size: Shape3, patch: Shape3, starts: number[][], classes: number): void {
  const perAxis = size.map((s, a) => {
    const count = new Float32Array(s);
    for (const start of starts[a]!) for (let i = start; i < start + patch[a]!; i++) count[i]! += 1;
    return count;
  });
  for (let x = 0; x < size[0]; x++) {
    for (let y = 0; y < size[1]; y++) {
      const cxy = perAxis[0]![x]! * perAxis[1]![y]!;
      for (let z = 0; z < size[2]; z++) {
        const count = cxy * perAxis[2]![z]!;
        const at = ((x * size[1] + y) * size[2] + z) * classes;
        for (let c = 0; c < classes; c++) scores[at + c] = scores[at + c]! / count;
      }
    }
  }
}

function cropVolume(scores: Float32Array, padded: Shape3, shape: Shape3, pads: [number, number][], classes: number): Float32Array {
  if (padded.every((s, a) => s === shape[a])) return scores;
  const out = new Float32Array(shape[0] * shape[1] * shape[2] * classes);
  const run = shape[2] * classes;
  for (let x = 0; x < shape[0]; x++) {
    for (let y = 0; y < shape[1]; y++) {
      const src = (((x + pads[0]![0]) * padded[1] + y + pads[1]![0]) * padded[2] + pads[2]![0]) * classes;
      out.set(scores.subarray(src, src + run), (x * shape[1] + y) * run);
    }
  }
  return out;
}

/** Per-voxel argmax of `[..., classes]` probabilities (first class on ties, like numpy). */
export function argmaxLabels(probabilities: Float32Array, classes: number): Uint8Array {
  const labels = new Uint8Array(probabilities.length / classes);
  for (let v = 0; v < labels.length; v++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[v * classes + c]! > probabilities[v * classes + best]!) best = c;
    labels[v] = best;
  }
  return labels;
}
