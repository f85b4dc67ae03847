/**
 * Sliding-window inference, the reference `test_single_case` without its pre- and post-steps:
 *  - zero padding, centred (left = pad // 2), up to at least the patch on each axis
 *    (data/geometry.ts, as training crops pad);
 *  - windows per axis s = ceil((size - patch) / stride) + 1, window i starting at
 *    min(stride * i, size - patch);
 *  - softmax of every window's logits (or the logits themselves) summed per voxel and divided by
 *    the number of windows covering it; the padding cropped off again.
 * Input normalisation (`normalizeMinMax`) comes before and `argmaxLabels` after, as separate
 * steps. Windows run in batches through any predictor; the running sum is the only volume-sized
 * buffer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';
import { cropPatch, padBefore, paddedShape, padToPatch } from '../data/geometry.js';
import { ARCHITECTURE_FACTS, type Architecture, type SegmentationNetwork } from '../model/network.js';

/** Logits `[B, px, py, pz, classes]` of a batch of windows `[B, px, py, pz, 1]`. */
export type WindowPredictor = (windows: tf.Tensor5D) => tf.Tensor5D;

/**
 * A network in eval mode as a window predictor. A 2D network (unet2d) predicts each axial slice of
 * the window on its own, as the published ACDC evaluation does.
 */
export function evalModePredictor(model: Pick<SegmentationNetwork, 'architecture' | 'forward'>): WindowPredictor {
  if (ARCHITECTURE_FACTS[model.architecture].spatialDims === 3) return (windows) => model.forward(windows, { training: false }) as tf.Tensor5D;
  return (windows) =>
    tf.tidy(() => {
      const [b, x, y, z, c] = windows.shape;
      const slices = tf.reshape(tf.transpose(windows, [0, 3, 1, 2, 4]), [b * z, x, y, c]);
      const logits = model.forward(slices, { training: false }) as tf.Tensor4D;
      return tf.transpose(tf.reshape(logits, [b, z, x, y, logits.shape[3]]), [0, 2, 3, 1, 4]);
    });
}

/**
 * A TracocoError naming `flag` unless every axis of `patch` suits the network: multiples of its
 * downsampling (x and y only for a 2D network, which sees one slice at a time). With no
 * architecture yet (before the checkpoint is read), x and y, which every network downsamples.
 */
export function checkWindowPatch(patch: Shape3, architecture: Architecture | null, flag: string): void {
  const { spatialDims, spatialMultiple } = ARCHITECTURE_FACTS[architecture ?? 'unet2d'];
  if (patch.slice(0, spatialDims).some((v) => v % spatialMultiple !== 0)) {
    const which = spatialDims === 3 ? 'every axis' : 'x and y';
    const network = architecture ? `a ${architecture}` : 'every network';
    throw new TracocoError(`${which} must be a multiple of ${spatialMultiple} for ${network} (it downsamples 4 times), got ${patch.join('x')}`, { flag });
  }
}

/** What is averaged over the windows covering a voxel: softmax probabilities (the reference) or logits. */
export type WindowAverage = 'probabilities' | 'logits';

export interface SlidingWindowOptions {
  patch: Shape3;
  strideXY: number;
  strideZ: number;
  /** Windows per forward (default 1). */
  batch?: number;
  /** Default 'probabilities'. */
  average?: WindowAverage;
  /** Names the input in errors (a file path). */
  source?: string;
  /** Called after each batch with windows done and total. */
  onProgress?: (done: number, total: number) => void;
}

export interface SlidingWindowResult {
  shape: Shape3;
  classes: number;
  /** `[X, Y, Z, classes]`, class fastest: the mean over the windows covering each voxel. */
  values: Float32Array;
  average: WindowAverage;
}

/** Window starts along one axis of (padded) length `size`. */
export function windowStarts(size: number, patch: number, stride: number): number[] {
  const count = Math.ceil((size - patch) / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.min(stride * i, size - patch));
}

/** Zero padding per axis so each size reaches the patch: [before, after] with before = pad // 2. */
export function centredPadding(shape: Shape3, patch: Shape3): [number, number][] {
  const before = padBefore(shape, patch);
  const padded = paddedShape(shape, patch);
  return shape.map((s, a) => [before[a]!, padded[a]! - s - before[a]!] as [number, number]);
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
 * Predicts a whole volume `[X, Y, Z]` (row-major, z fastest) window by window and resolves with
 * the per-voxel mean of the windows' probabilities (or logits), on the volume's own grid.
 */
export async function slidingWindowPredict(predict: WindowPredictor, image: Float32Array, shape: Shape3, options: SlidingWindowOptions): Promise<SlidingWindowResult> {
  checkOptions(image, shape, options);
  const average = options.average ?? 'probabilities';
  const { data: volume, shape: padded } = padToPatch(image, shape, options.patch);
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
  let sums: Float32Array | null = null;
  let classes = 0;
  for (let b = 0; b < windows.length; b += batchSize) {
    const batch = windows.slice(b, b + batchSize);
    const data = new Float32Array(batch.length * patchVoxels);
    batch.forEach((w, i) => cropPatch(volume, padded, w, options.patch, data, i * patchVoxels));
    const out = tf.tidy(() => {
      const logits = predict(tf.tensor5d(data, [batch.length, px, py, pz, 1]));
      return average === 'probabilities' ? tf.softmax(logits) : logits;
    });
    const values = (await out.data()) as Float32Array;
    classes = out.shape[4]!;
    out.dispose();
    sums ??= new Float32Array(padded[0] * padded[1] * padded[2] * classes);
    batch.forEach((w, i) => accumulateWindow(sums!, padded, w, options.patch, classes, values.subarray(i * patchVoxels * classes)));
    options.onProgress?.(Math.min(b + batchSize, windows.length), windows.length);
  }
  divideByCoverage(sums!, padded, options.patch, starts, classes);
  // Classes are the fastest axis, so [X, Y, Z, C] crops as a volume [X, Y, Z * C].
  if (padded.every((s, a) => s === shape[a])) return { shape, classes, values: sums!, average };
  const pad = padBefore(shape, options.patch);
  const values = cropPatch(sums!, [padded[0], padded[1], padded[2] * classes], [pad[0], pad[1], pad[2] * classes], [shape[0], shape[1], shape[2] * classes]);
  return { shape, classes, values, average };
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
