/**
 * Training-mode BatchNorm (+ optional ReLU) as one differentiable op.
 *
 * On a CPU backend a training step is dominated by elementwise passes, so the forward and backward
 * of BatchNorm are kernels a backend may implement natively:
 *
 *   'TracocoBatchNormTrain'     inputs {x [N,D,H,W,C] f32, scale [C], offset [C]}, attrs {epsilon, relu, perInstance}
 *                               -> [y like x, mean [C], variance [C] (biased, divided by M = N*D*H*W)]
 *   'TracocoBatchNormTrainGrad' inputs {dy, x, y, scale, mean, variance}, attrs {epsilon, relu, perInstance}
 *                               -> [dx like x, dscale [C], doffset [C]]
 *
 * With `perInstance` the statistics are per (sample, channel) over D*H*W — instance normalisation —
 * and mean/variance are [N*C] (sample-major); scale, offset and their gradients stay [C].
 *
 * When the active backend has no such kernel, the composites below (plain tfjs ops, same
 * contract) run instead. `batchNormTrain` wraps either in `tf.customGrad`.
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs's gradients (tfjs-core alone has none; see layers.ts).
import '@tensorflow/tfjs';
import { backendHasKernel, channelSums } from './layers.js';

export const BATCH_NORM_TRAIN_KERNEL = 'TracocoBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD_KERNEL = 'TracocoBatchNormTrainGrad';

export interface BatchNormAttrs {
  epsilon: number;
  relu: boolean;
  /** Statistics per (sample, channel): instance normalisation. */
  perInstance?: boolean;
}

function voxelsPerChannel(x: tf.Tensor): number {
  return x.size / x.shape[4]!;
}

/** Forward composite: y = act((x - mean) / sqrt(var + eps) * scale + offset), with biased batch variance. */
export function batchNormTrainComposite(
  x: tf.Tensor5D,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  attrs: BatchNormAttrs,
): [tf.Tensor5D, tf.Tensor1D, tf.Tensor1D] {
  if (attrs.perInstance) {
    return tf.tidy(() => {
      const n = x.shape[0];
      const [y, mean, variance] = batchNormTrainComposite(instancesAsChannels(x), tf.tile(scale, [n]), tf.tile(offset, [n]), { ...attrs, perInstance: false });
      return [channelsAsInstances(y, n), mean, variance];
    });
  }
  return tf.tidy(() => {
    const m = voxelsPerChannel(x);
    const mean = tf.div(channelSums(x), m) as tf.Tensor1D;
    const centered = tf.sub(x, mean);
    const variance = tf.div(channelSums(tf.square(centered)), m) as tf.Tensor1D;
    const gain = tf.mul(scale, tf.rsqrt(tf.add(variance, attrs.epsilon)));
    const affine = tf.add(tf.mul(centered, gain), offset) as tf.Tensor5D;
    const y = attrs.relu ? tf.relu(affine) : affine;
    return [y, mean, variance];
  });
}

/**
 * Backward composite: g = relu ? dy*(y>0) : dy; xhat = (x-mean)*rstd; doffset = sum(g);
 * dscale = sum(g*xhat); dx = scale*rstd/M * (M*g - doffset - xhat*dscale), evaluated as
 * g*a - (x-mean)*(a*rstd*dscale/M) - a*doffset/M with a = scale*rstd (fewer full-size passes).
 */
export function batchNormTrainGradComposite(
  dy: tf.Tensor5D,
  x: tf.Tensor5D,
  y: tf.Tensor5D,
  scale: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  attrs: BatchNormAttrs,
): [tf.Tensor5D, tf.Tensor1D, tf.Tensor1D] {
  if (attrs.perInstance) {
    return tf.tidy(() => {
      const [n, c] = [x.shape[0], x.shape[4]];
      const [dx, dscale, doffset] = batchNormTrainGradComposite(
        instancesAsChannels(dy), instancesAsChannels(x), instancesAsChannels(y), tf.tile(scale, [n]) as tf.Tensor1D, mean, variance, { ...attrs, perInstance: false },
      );
      const perChannel = (t: tf.Tensor1D) => tf.sum(tf.reshape(t, [n, c]), 0) as tf.Tensor1D;
      return [channelsAsInstances(dx, n), perChannel(dscale), perChannel(doffset)];
    });
  }
  return tf.tidy(() => {
    const m = voxelsPerChannel(x);
    const g = attrs.relu ? tf.mul(dy, tf.step(y)) : dy;
    const rstd = tf.rsqrt(tf.add(variance, attrs.epsilon));
    const centered = tf.sub(x, mean);
    const doffset = channelSums(g);
    const dscale = tf.mul(channelSums(tf.mul(g, centered)), rstd) as tf.Tensor1D;
    const a = tf.mul(scale, rstd);
    const centeredGain = tf.div(tf.mul(tf.mul(a, rstd), dscale), m);
    const shift = tf.div(tf.mul(a, doffset), m);
    const dx = tf.sub(tf.sub(tf.mul(g, a), tf.mul(centered, centeredGain)), shift) as tf.Tensor5D;
    return [dx, dscale, doffset];
  });
}

/** [N,D,H,W,C] -> [1,D,H,W,N*C]: one channel per (sample, channel), sample-major. */
function instancesAsChannels(x: tf.Tensor5D): tf.Tensor5D {
  const [n, d, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [1, 2, 3, 0, 4]), [1, d, h, w, n * c]);
}

function channelsAsInstances(x: tf.Tensor5D, n: number): tf.Tensor5D {
  const [, d, h, w, nc] = x.shape;
  return tf.transpose(tf.reshape(x, [d, h, w, n, nc / n]), [3, 0, 1, 2, 4]);
}

function forwardKernel(x: tf.Tensor5D, scale: tf.Tensor1D, offset: tf.Tensor1D, attrs: BatchNormAttrs) {
  if (!backendHasKernel(BATCH_NORM_TRAIN_KERNEL)) return batchNormTrainComposite(x, scale, offset, attrs);
  const out = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x, scale, offset }, { ...attrs }) as tf.Tensor[];
  return out as [tf.Tensor5D, tf.Tensor1D, tf.Tensor1D];
}

function gradKernel(
  dy: tf.Tensor5D,
  saved: [tf.Tensor5D, tf.Tensor5D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D],
  attrs: BatchNormAttrs,
): [tf.Tensor5D, tf.Tensor1D, tf.Tensor1D] {
  const [x, y, scale, mean, variance] = saved;
  if (!backendHasKernel(BATCH_NORM_TRAIN_GRAD_KERNEL)) {
    return batchNormTrainGradComposite(dy, x, y, scale, mean, variance, attrs);
  }
  const inputs = { dy, x, y, scale, mean, variance };
  return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD_KERNEL, inputs, { ...attrs }) as [tf.Tensor5D, tf.Tensor1D, tf.Tensor1D];
}

export interface BatchNormTrainOptions extends BatchNormAttrs {
  /**
   * Called once per forward with the batch mean and biased variance (valid only during the call),
   * e.g. to update running statistics; tensors it creates are disposed after it returns.
   */
  onStatistics?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/** Training-mode BatchNorm(+ReLU) of an NDHWC tensor; differentiable in x, scale and offset. */
export function batchNormTrain(
  x: tf.Tensor5D,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  options: BatchNormTrainOptions,
): tf.Tensor5D {
  const attrs: BatchNormAttrs = { epsilon: options.epsilon, relu: options.relu, perInstance: options.perInstance ?? false };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, scaleIn, offsetIn, save] = args as [tf.Tensor5D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [y, mean, variance] = forwardKernel(xIn, scaleIn, offsetIn, attrs);
    options.onStatistics?.(mean, variance);
    save([xIn, y, scaleIn, mean, variance]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        gradKernel(dy as tf.Tensor5D, saved as [tf.Tensor5D, tf.Tensor5D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D], attrs),
    };
  });
  return op(x, scale, offset) as tf.Tensor5D;
}

/**
 * InstanceNorm3d without affine or running statistics, then ReLU (biased variance, as PyTorch):
 * the fused BatchNorm(+ReLU) op with per-instance statistics.
 */
export function instanceNormRelu(x: tf.Tensor5D, epsilon: number): tf.Tensor5D {
  // Not in a tidy: the constants are saved for the backward pass; the caller's scope frees them.
  const c = x.shape[4];
  return batchNormTrain(x, tf.ones([c]), tf.zeros([c]), { epsilon, relu: true, perInstance: true });
}
