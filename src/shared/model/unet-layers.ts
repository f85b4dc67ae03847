/**
 * Building blocks the UNets add to layers.ts: element-wise Dropout, LeakyReLU, 2× max-pooling, a
 * concat with a fast gradient and the 2D convolution as a depth-1 3D one. All take NDHWC tensors
 * (a UNet2D runs its slices as [N, 1, H, W, C] so every convolution and BatchNorm reaches the
 * native backend's oneDNN and fused kernels, which exist for 3D only) and are differentiable.
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs's gradients (tfjs-core alone has none).
import '@tensorflow/tfjs';
import { TracocoError } from '../errors.js';
import type { Random } from '../random.js';
import { addChannelBias, type BiasOp } from './layers.js';

/**
 * nn.Dropout(p) in training: each element is zeroed with probability p, the rest scaled by
 * 1/(1−p). Sample i's mask is drawn in NDHWC order from `random[i]` when one stream per sample is
 * given (so it does not depend on its batch-mates), else all from `random`; runs repeat exactly.
 */
export function dropoutElementwise<T extends tf.Tensor>(x: T, p: number, random: Random | readonly Random[]): T {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout probability must be in [0, 1], got ${p}`);
  const n = x.shape[0]!;
  if (Array.isArray(random) && random.length !== n) {
    throw new RangeError(`dropout: ${random.length} random streams for a batch of ${n}`);
  }
  if (p === 0) return tf.clone(x);
  // One 32-bit draw per element (against p·2³²): masks cover whole activations, so draws are hot.
  const threshold = p * 4294967296;
  const keepScale = p < 1 ? 1 / (1 - p) : 0;
  const perSample = x.size / n;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < n; i++) {
    const stream = Array.isArray(random) ? (random[i] as Random) : (random as Random);
    const base = i * perSample;
    for (let j = 0; j < perSample; j++) mask[base + j] = stream.nextUint32() < threshold ? 0 : keepScale;
  }
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, 'float32'))) as T;
}

/**
 * LeakyReLU(slope) as x·step(x, slope) with the saved step as its gradient (PyTorch's: slope at
 * x ≤ 0). tfjs's own LeakyRelu and its gradient (a Select) have no native kernels; Step and
 * Multiply do.
 */
export function leakyRelu<T extends tf.Tensor>(x: T, slope: number): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const gain = tf.step(xIn, slope);
    save([gain]);
    return { value: tf.mul(xIn, gain), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!)] };
  });
  return op(x) as T;
}

/**
 * tf.concat whose gradient slices `dy` (the Slice kernel, native for channel slices) instead of
 * tfjs's SplitV, which the native backend inherits as a JavaScript loop (~4 s per UNet3D decoder
 * level at 64×64×48).
 */
export function concatAxis<T extends tf.Tensor>(tensors: readonly T[], axis: number): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, tensors.length) as tf.Tensor[];
    return {
      value: tf.concat(inputs, axis),
      gradFunc: (dy: tf.Tensor) => {
        let offset = 0;
        return inputs.map((t) => {
          const begin = t.shape.map((_, d) => (d === axis ? offset : 0));
          offset += t.shape[axis]!;
          return tf.slice(dy, begin, t.shape);
        });
      },
    };
  });
  return op(...tensors) as T;
}

/**
 * Max over the pairs (2i, 2i+1) of one axis. The gradient goes to the first of a tied pair,
 * PyTorch's choice. Built from slices, Maximum and Concat, which the native backend runs natively.
 */
function pairMax(x: tf.Tensor, axis: number): tf.Tensor {
  const shape = x.shape;
  const paired = [...shape.slice(0, axis), shape[axis]! / 2, 2, ...shape.slice(axis + 1)];
  const half = (index: number, t: tf.Tensor) => {
    const begin = paired.map((_, d) => (d === axis + 1 ? index : 0));
    return tf.slice(t, begin, paired.map((s, d) => (d === axis + 1 ? 1 : s)));
  };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const p = tf.reshape(xIn, paired);
    const [a, b] = [half(0, p), half(1, p)];
    const firstWins = tf.cast(tf.greaterEqual(a, b), 'float32');
    save([firstWins]);
    return {
      value: tf.reshape(tf.maximum(a, b), paired.filter((_, d) => d !== axis + 1)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const toFirst = tf.mul(tf.reshape(dy, saved[0]!.shape), saved[0]!);
        return [tf.reshape(tf.concat([toFirst, tf.sub(tf.reshape(dy, toFirst.shape), toFirst)], axis + 1), shape)];
      },
    };
  });
  return op(x);
}

/**
 * MaxPool3d(2) (`planar`: MaxPool2d(2) on [N, 1, H, W, C], the depth axis kept), as pair maxima
 * along each axis: tfjs's MaxPool3D and its gradient are JavaScript loops on the native backend
 * (the gradient ~4 s per call at 64×64×48×16).
 */
export function maxPool2x(x: tf.Tensor5D, planar = false): tf.Tensor5D {
  const axes = planar ? [2, 3] : [1, 2, 3];
  if (axes.some((a) => x.shape[a]! % 2 !== 0)) {
    throw new TracocoError(`2x max-pooling needs even sizes on axes ${axes.join(', ')}, got [${x.shape.join(', ')}]`);
  }
  return tf.tidy(() => axes.reduce<tf.Tensor>((t, axis) => pairMax(t, axis), x)) as tf.Tensor5D;
}

/**
 * Conv (kernel k, zero padding k/2, stride 1) of an NDHWC tensor, then the bias. A 2D weight
 * `[kh, kw, in, out]` becomes `[1, kh, kw, in, out]`: the same convolution on [N, 1, H, W, C].
 */
export function convSame(x: tf.Tensor5D, weight: tf.Tensor4D | tf.Tensor5D, bias: tf.Tensor1D, applyBias: BiasOp = addChannelBias): tf.Tensor5D {
  const w5 = weight.rank === 4 ? (tf.expandDims(weight, 0) as tf.Tensor5D) : (weight as tf.Tensor5D);
  return applyBias(tf.conv3d(x, w5, 1, 'same'), bias);
}
