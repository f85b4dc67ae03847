/**
 * The VNet's building blocks as tfjs ops on NDHWC tensors (weights in tfjs layout, see layout.ts).
 * Each is differentiable (tfjs gradients or a `tf.customGrad`), so they compose under `tf.grad`.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients; the @tensorflow/tfjs bundle registers all of them into the
// shared global registry (once per process, ~0.3 s). Training cannot run without them.
import '@tensorflow/tfjs';
import type { Random } from '../random.js';

export const NORM_EPSILON = 1e-5;

/**
 * Per-channel sums of an NDHWC tensor [N, D, H, W, C] as matmuls with ones: tfjs reduces over
 * leading axes by transposing the whole tensor first, which costs ~15x more on the CPU backends.
 * Two stages (over H*W, then over N*D) keep float32 accumulation error near pairwise summation:
 * BatchNorm gradients are differences of such sums.
 */
export function channelSums(t: tf.Tensor): tf.Tensor1D {
  const [n, d, h, w, c] = t.shape as [number, number, number, number, number];
  const rows = n * d;
  const partial = tf.matMul(tf.ones([rows, 1, h * w]), tf.reshape(t, [rows, h * w, c])); // [rows, 1, c]
  return tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(partial, [rows, c])), [c]);
}

/** How a layer's bias reaches its output: `addChannelBias`, or `cancelledBias` before a normalisation. */
export type BiasOp = (x: tf.Tensor5D, bias: tf.Tensor1D) => tf.Tensor5D;

/** x + bias (one broadcast add); the bias gradient is `channelSums(dy)` instead of tfjs's transpose + sum. */
export function addChannelBias(x: tf.Tensor5D, bias: tf.Tensor1D): tf.Tensor5D {
  const add = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, bIn] = args as [tf.Tensor5D, tf.Tensor1D];
    return { value: tf.add(xIn, bIn), gradFunc: (dy: tf.Tensor) => [dy, channelSums(dy)] };
  });
  return add(x, bias) as tf.Tensor5D;
}

/**
 * `x` itself, with `bias` in the graph at gradient zero: a conv bias that the following
 * normalisation cancels (batch or instance statistics subtract it again; PyTorch's gradient for it
 * is zero up to rounding). Skipping the add saves a full pass forward and a reduction backward;
 * keeping the parameter in the graph keeps weight decay and momentum updating it as PyTorch does.
 */
export function cancelledBias(x: tf.Tensor5D, bias: tf.Tensor1D): tf.Tensor5D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, bIn] = args as [tf.Tensor5D, tf.Tensor1D];
    return { value: tf.clone(xIn), gradFunc: (dy: tf.Tensor) => [dy, tf.zerosLike(bIn)] };
  });
  return op(x, bias) as tf.Tensor5D;
}

/** Conv3d (kernel `[k,k,k,in,out]`, zero padding k/2, given stride) then the bias add. */
export function conv3dBias(x: tf.Tensor5D, weight: tf.Tensor5D, bias: tf.Tensor1D, stride: 1 | 2, applyBias: BiasOp = addChannelBias): tf.Tensor5D {
  const pad = stride === 1 ? 'same' : 'valid';
  return applyBias(tf.conv3d(x, weight, stride, pad), bias);
}

/**
 * Inference-only conv3d + bias (+ ReLU) as one kernel, which a backend may run as a single
 * primitive (oneDNN: the bias and a ReLU post-op applied while the output is written), instead of
 * two more full passes over the output. No gradient: eval forwards only.
 *   'TracocoConv3DBias' inputs {x [N,D,H,W,Cin], filter [k,k,k,Cin,Cout], bias [Cout]}, attrs {strides, pad, relu}
 */
export const CONV3D_BIAS_KERNEL = 'TracocoConv3DBias';

export interface Conv3dBiasAttrs {
  strides: 1 | 2;
  pad: 'same' | 'valid';
  relu: boolean;
}

/** Whether the active backend registers `kernelName` (tracoco's fused kernels exist only on `native`). */
export function backendHasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** conv3dBias (then ReLU when `relu`) for inference: the fused kernel when the backend has one. */
export function conv3dBiasInference(x: tf.Tensor5D, weight: tf.Tensor5D, bias: tf.Tensor1D, stride: 1 | 2, relu: boolean): tf.Tensor5D {
  if (backendHasKernel(CONV3D_BIAS_KERNEL)) {
    const attrs: Conv3dBiasAttrs = { strides: stride, pad: stride === 1 ? 'same' : 'valid', relu };
    return tf.engine().runKernel(CONV3D_BIAS_KERNEL, { x, filter: weight, bias }, { ...attrs }) as tf.Tensor5D;
  }
  const y = conv3dBias(x, weight, bias, stride);
  return relu ? tf.relu(y) : y;
}

/**
 * Inference-only ConvTranspose3d (kernel 2, stride 2) + bias (+ ReLU) (+ a skip tensor added last),
 * the VNet decoder's up unit and skip connection, as one kernel a backend may fuse (native: oneDNN's
 * deconvolution, then one threaded pass for bias, ReLU and skip, since oneDNN 2.6's own deconvolution
 * post-ops are slower than that pass). No gradient.
 *   'TracocoConv3DTransposeBias' inputs {x [N,D,H,W,Cin], filter [2,2,2,Cout,Cin], bias [Cout], skip? [N,2D,2H,2W,Cout]}, attrs {relu}
 */
export const CONV3D_TRANSPOSE_BIAS_KERNEL = 'TracocoConv3DTransposeBias';

/** upsample2x (then ReLU when `relu`, then + `skip`) for inference: the fused kernel when the backend has one. */
export function upsample2xInference(x: tf.Tensor5D, weight: tf.Tensor5D, bias: tf.Tensor1D, relu: boolean, skip?: tf.Tensor5D): tf.Tensor5D {
  if (backendHasKernel(CONV3D_TRANSPOSE_BIAS_KERNEL)) {
    return tf.engine().runKernel(CONV3D_TRANSPOSE_BIAS_KERNEL, { x, filter: weight, bias, ...(skip ? { skip } : {}) }, { relu }) as tf.Tensor5D;
  }
  return tf.tidy(() => {
    const up = upsample2x(x, weight, bias);
    const y = relu ? tf.relu(up) : up;
    return skip ? tf.add(y, skip) : y;
  });
}

/**
 * ConvTranspose3d with kernel 2, stride 2 (weight `[2,2,2,out,in]`, the tfjs conv3dTranspose
 * layout) plus bias. tfjs registers no gradient for conv3dTranspose, so it is a custom op whose
 * backward runs the two conv kernels a backend accelerates anyway: the input gradient is the
 * strided conv3d of dy, the filter gradient is Conv3DBackpropFilter with dy as the input.
 */
export function upsample2x(x: tf.Tensor5D, weight: tf.Tensor5D, bias: tf.Tensor1D, applyBias: BiasOp = addChannelBias): tf.Tensor5D {
  const deconv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn, save] = args as [tf.Tensor5D, tf.Tensor5D, tf.GradSaveFunc];
    const [n, d, h, w] = xIn.shape;
    save([xIn, wIn]);
    return {
      value: tf.conv3dTranspose(xIn, wIn, [n, 2 * d, 2 * h, 2 * w, wIn.shape[3]], 2, 'valid'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor5D, tf.Tensor5D];
        const attrs = { strides: [2, 2, 2], pad: 'valid', filterShape: ws.shape };
        const dw = tf.engine().runKernel('Conv3DBackpropFilterV2', { x: dy, dy: xs }, attrs) as tf.Tensor;
        return [tf.conv3d(dy as tf.Tensor5D, ws, 2, 'valid'), dw];
      },
    };
  });
  return applyBias(deconv(x, weight) as tf.Tensor5D, bias);
}

/**
 * Inference BatchNorm folded into the preceding (transposed) conv:
 * conv(x, W*g) + (b - mean)*g + beta with g = gamma/sqrt(var+eps). Output channels are the last
 * weight axis of a conv `[k,k,k,in,out]` and axis 3 of a transposed conv `[2,2,2,out,in]`.
 */
export function foldBatchNorm(
  weight: tf.Tensor5D,
  bias: tf.Tensor1D,
  norm: { gamma: tf.Tensor1D; beta: tf.Tensor1D; runningMean: tf.Tensor1D; runningVar: tf.Tensor1D },
  kind: 'conv' | 'deconv',
): { weight: tf.Tensor5D; bias: tf.Tensor1D } {
  const gain = tf.mul(norm.gamma, tf.rsqrt(tf.add(norm.runningVar, NORM_EPSILON))) as tf.Tensor1D;
  const perOutput = kind === 'conv' ? gain : tf.reshape(gain, [1, 1, 1, -1, 1]);
  return {
    weight: tf.mul(weight, perOutput),
    bias: tf.add(tf.mul(tf.sub(bias, norm.runningMean), gain), norm.beta),
  };
}

/** GroupNorm(groups, C) with affine weight/bias; statistics per sample and group (biased variance). */
export function groupNorm(x: tf.Tensor5D, weight: tf.Tensor1D, bias: tf.Tensor1D, groups: number): tf.Tensor5D {
  const [n, d, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [n, d * h * w, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 3], true);
  const normalized = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, NORM_EPSILON)));
  return tf.add(tf.mul(tf.reshape(normalized, x.shape), weight), bias);
}

/**
 * Dropout3d(p) in training: each (sample, channel) is zeroed with probability p, the rest scaled
 * by 1/(1-p). Masks are drawn in (sample, channel) order from `random`, or from `random[i]` for
 * sample i when one stream per sample is given (so a sample's mask does not depend on its
 * batch-mates); either way runs repeat exactly.
 */
export function dropout3d(x: tf.Tensor5D, p: number, random: Random | readonly Random[]): tf.Tensor5D {
  const [n, , , , c] = x.shape;
  if (Array.isArray(random) && random.length !== n) {
    throw new RangeError(`dropout3d: ${random.length} random streams for a batch of ${n}`);
  }
  const keepScale = p < 1 ? 1 / (1 - p) : 0;
  const mask = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    const stream = Array.isArray(random) ? (random[i] as Random) : (random as Random);
    for (let ch = 0; ch < c; ch++) mask[i * c + ch] = stream.uniform() < p ? 0 : keepScale;
  }
  return tf.mul(x, tf.tensor5d(mask, [n, 1, 1, 1, c]));
}
