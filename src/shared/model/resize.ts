/**
 * ×2 linear upsampling as PyTorch's `nn.Upsample(scale_factor=2, mode='bilinear' | 'trilinear')`,
 * separable per axis, built from differentiable tfjs ops (tfjs registers no gradient for its own
 * resize kernels in 3D, and its bilinear gradient is a slow JavaScript loop).
 *
 *  - `align_corners=False` (UNet3D): output o reads source (o + 0.5)/2 − 0.5, clamped at 0, so
 *    out[2i] = 0.75·x[i] + 0.25·x[i−1] and out[2i+1] = 0.75·x[i] + 0.25·x[i+1], with the edge
 *    sample repeated. Built from slices, concats and an interleave (concats whose gradient is a
 *    slice, see unet-layers.ts): elementwise cost only.
 *  - `align_corners=True` (UNet2D): output o reads source o·(n−1)/(2n−1); the weights vary with o,
 *    so the axis is multiplied by a [2n, n] interpolation matrix (a batched matmul, which the
 *    native backend runs in oneDNN and whose gradient is the transposed matmul).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs's gradients (tfjs-core alone has none): upsampling is differentiated in training.
import '@tensorflow/tfjs';
import { TracocoError } from '../errors.js';
import { concatAxis } from './unet-layers.js';

export interface UpsampleOptions {
  /** Axes to double (each once). */
  axes: readonly number[];
  /** PyTorch's `align_corners`. */
  alignCorners: boolean;
}

/** `x` with every axis in `options.axes` doubled by linear interpolation (PyTorch semantics). */
export function upsampleLinear2x<T extends tf.Tensor>(x: T, options: UpsampleOptions): T {
  checkAxes(x.shape, options.axes);
  return tf.tidy(() => options.axes.reduce<tf.Tensor>((t, axis) => (options.alignCorners ? alignedAxis(t, axis) : halfPixelAxis(t, axis)), x)) as T;
}

/** Trilinear ×2, align_corners=False, of an NDHWC tensor (the UNet3D decoder's upsampling). */
export function trilinearUpsample2x(x: tf.Tensor5D): tf.Tensor5D {
  if (x.rank !== 5) throw new TracocoError(`trilinear upsampling expects [N, x, y, z, C], got [${x.shape.join(', ')}]`);
  return upsampleLinear2x(x, { axes: [1, 2, 3], alignCorners: false });
}

/** Bilinear ×2, align_corners=True, of an NHWC tensor (the UNet2D decoder's upsampling). */
export function bilinearUpsample2x(x: tf.Tensor4D): tf.Tensor4D {
  if (x.rank !== 4) throw new TracocoError(`bilinear upsampling expects [N, H, W, C], got [${x.shape.join(', ')}]`);
  return upsampleLinear2x(x, { axes: [1, 2], alignCorners: true });
}

function checkAxes(shape: readonly number[], axes: readonly number[]): void {
  if (axes.length === 0) throw new TracocoError('upsampling needs at least one axis');
  for (const axis of axes) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
      throw new TracocoError(`upsampling axis ${axis} is not an axis of a rank-${shape.length} tensor [${shape.join(', ')}]`);
    }
    if (shape[axis]! < 1) throw new TracocoError(`cannot upsample the empty axis ${axis} of [${shape.join(', ')}]`);
  }
  if (new Set(axes).size !== axes.length) throw new TracocoError(`upsampling axes repeat: [${axes.join(', ')}]`);
}

/** `count` entries of `t` from `start` along `axis`. */
function sliceAxis(t: tf.Tensor, axis: number, start: number, count: number): tf.Tensor {
  const begin = t.shape.map((_, d) => (d === axis ? start : 0));
  const size = t.shape.map((s, d) => (d === axis ? count : s));
  return tf.slice(t, begin, size);
}

/** align_corners=False along one axis: two fixed-weight blends, interleaved. */
function halfPixelAxis(t: tf.Tensor, axis: number): tf.Tensor {
  const n = t.shape[axis]!;
  const previous = n === 1 ? t : concatAxis([sliceAxis(t, axis, 0, 1), sliceAxis(t, axis, 0, n - 1)], axis);
  const next = n === 1 ? t : concatAxis([sliceAxis(t, axis, 1, n - 1), sliceAxis(t, axis, n - 1, 1)], axis);
  const near = tf.mul(t, 0.75);
  // [.., n, 1, ..] twice -> [.., n, 2, ..] -> [.., 2n, ..] puts out[2i] = even[i], out[2i+1] = odd[i].
  const paired = [...t.shape.slice(0, axis + 1), 1, ...t.shape.slice(axis + 1)];
  const even = tf.reshape(tf.add(near, tf.mul(previous, 0.25)), paired);
  const odd = tf.reshape(tf.add(near, tf.mul(next, 0.25)), paired);
  return tf.reshape(concatAxis([even, odd], axis + 1), t.shape.map((s, d) => (d === axis ? 2 * s : s)));
}

/**
 * The [2n, n] matrix of align_corners=True: row o has 1 − λ at i0 and λ at i0 + 1 (or 1 at i0 on
 * the last sample), with src = o·(n−1)/(2n−1), i0 = ⌊src⌋, λ = src − i0, in float32 as PyTorch's
 * CPU kernel computes them.
 */
export function alignedInterpolationMatrix(n: number): Float32Array {
  const out = 2 * n;
  const scale = n > 1 ? Math.fround((n - 1) / (out - 1)) : 0;
  const m = new Float32Array(out * n);
  for (let o = 0; o < out; o++) {
    const src = Math.fround(scale * o);
    const i0 = Math.min(Math.floor(src), n - 1);
    const lambda = Math.fround(src - i0);
    const i1 = i0 < n - 1 ? i0 + 1 : i0;
    m[o * n + i0] += Math.fround(1 - lambda);
    m[o * n + i1] += lambda;
  }
  return m;
}

/** align_corners=True along one axis: [outer, n, inner] multiplied by the interpolation matrix. */
function alignedAxis(t: tf.Tensor, axis: number): tf.Tensor {
  const n = t.shape[axis]!;
  const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const matrix = tf.tensor3d(alignedInterpolationMatrix(n), [1, 2 * n, n]);
  const y = tf.matMul(matrix, tf.reshape(t, [outer, n, inner]));
  return tf.reshape(y, t.shape.map((s, d) => (d === axis ? 2 * s : s)));
}
