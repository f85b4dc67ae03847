/**
 * tracoco's fused training BatchNorm(+ReLU) kernels (contract in src/shared/model/batchnorm.ts):
 *   TracocoBatchNormTrain     {x [..., C], scale [C], offset [C]} {epsilon, relu} -> [y, mean, variance (biased)]
 *   TracocoBatchNormTrainGrad {dy, x, y, scale, mean, variance} {epsilon, relu}  -> [dx, dscale, doffset]
 * Statistics are over every axis but the last (N*D*H*W rows for NDHWC).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL, type BatchNormAttrs } from '../../model/batchnorm.js';
import type { NativeAddon } from '../native-addon.js';
import { float32Of, outputFloat32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';

function channelsOf(x: TensorInfo): number {
  return x.shape.length > 0 ? x.shape[x.shape.length - 1]! : 0;
}

function batchNormTrain({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo[] | null {
  const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
  const { epsilon, relu } = attrs as unknown as BatchNormAttrs;
  const c = channelsOf(x);
  const [xv, sv, ov] = [float32Of(backend, x), float32Of(backend, scale), float32Of(backend, offset)];
  if (!xv || !sv || !ov || c === 0 || xv.length === 0 || sv.length !== c || ov.length !== c) return null;
  const y = outputFloat32(xv.length);
  const mean = new Float32Array(c);
  const variance = new Float32Array(c);
  addon.batchNormTrain(xv.length / c, c, xv, sv, ov, Number(epsilon), Boolean(relu), y, mean, variance);
  return [backend.makeTensorInfo([...x.shape], 'float32', y), backend.makeTensorInfo([c], 'float32', mean), backend.makeTensorInfo([c], 'float32', variance)];
}

function batchNormTrainGrad({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo[] | null {
  const t = inputs as Record<'dy' | 'x' | 'y' | 'scale' | 'mean' | 'variance', TensorInfo>;
  const { epsilon, relu } = attrs as unknown as BatchNormAttrs;
  const c = channelsOf(t.x);
  const v = {
    dy: float32Of(backend, t.dy),
    x: float32Of(backend, t.x),
    y: float32Of(backend, t.y),
    scale: float32Of(backend, t.scale),
    mean: float32Of(backend, t.mean),
    variance: float32Of(backend, t.variance),
  };
  if (!v.dy || !v.x || !v.y || !v.scale || !v.mean || !v.variance || c === 0 || v.x.length === 0) return null;
  if (v.dy.length !== v.x.length || v.y.length !== v.x.length || v.scale.length !== c || v.mean.length !== c || v.variance.length !== c) return null;
  const dx = outputFloat32(v.x.length);
  const dscale = new Float32Array(c);
  const doffset = new Float32Array(c);
  addon.batchNormTrainGrad(v.x.length / c, c, v.dy, v.x, v.y, v.scale, v.mean, v.variance, Number(epsilon), Boolean(relu), dx, dscale, doffset);
  return [backend.makeTensorInfo([...t.x.shape], 'float32', dx), backend.makeTensorInfo([c], 'float32', dscale), backend.makeTensorInfo([c], 'float32', doffset)];
}

export const batchNormKernels: NativeKernel[] = [
  { kernelName: BATCH_NORM_TRAIN_KERNEL, run: batchNormTrain },
  { kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL, run: batchNormTrainGrad },
];
