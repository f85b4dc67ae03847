/**
 * tracoco's fused training BatchNorm(+ReLU) kernels (contract in src/shared/model/batchnorm.ts):
 *   TracocoBatchNormTrain     {x [..., C], scale [C], offset [C]} {epsilon, relu} -> [y, mean, variance (biased)]
 *   TracocoBatchNormTrainGrad {dy, x, y, scale, mean, variance} {epsilon, relu}  -> [dx, dscale, doffset]
 * Statistics are over every axis but the last (N*D*H*W rows for NDHWC); with `perInstance`, over
 * each sample's rows separately (mean/variance [N*C]; dscale/doffset summed over samples to [C]).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL, type BatchNormAttrs } from '../../model/batchnorm.js';
import type { NativeAddon } from '../native-addon.js';
import { float32Of, outputFloat32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';

function channelsOf(x: TensorInfo): number {
  return x.shape.length > 0 ? x.shape[x.shape.length - 1]! : 0;
}

/** Statistic groups: one per sample with `perInstance` (each a contiguous block of rows), else one. */
function groupsOf(x: TensorInfo, attrs: BatchNormAttrs): number {
  return attrs.perInstance ? x.shape[0]! : 1;
}

function batchNormTrain({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo[] | null {
  const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo };
  const bn = attrs as unknown as BatchNormAttrs;
  const c = channelsOf(x);
  const groups = groupsOf(x, bn);
  const [xv, sv, ov] = [float32Of(backend, x), float32Of(backend, scale), float32Of(backend, offset)];
  if (!xv || !sv || !ov || c === 0 || xv.length === 0 || sv.length !== c || ov.length !== c || groups < 1) return null;
  const y = outputFloat32(xv.length);
  const mean = new Float32Array(groups * c);
  const variance = new Float32Array(groups * c);
  const size = xv.length / groups;
  for (let g = 0; g < groups; g++) {
    const [from, to] = [g * size, (g + 1) * size];
    addon.batchNormTrain(size / c, c, xv.subarray(from, to), sv, ov, Number(bn.epsilon), Boolean(bn.relu), y.subarray(from, to), mean.subarray(g * c, (g + 1) * c), variance.subarray(g * c, (g + 1) * c));
  }
  return [backend.makeTensorInfo([...x.shape], 'float32', y), backend.makeTensorInfo([groups * c], 'float32', mean), backend.makeTensorInfo([groups * c], 'float32', variance)];
}

function batchNormTrainGrad({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo[] | null {
  const t = inputs as Record<'dy' | 'x' | 'y' | 'scale' | 'mean' | 'variance', TensorInfo>;
  const bn = attrs as unknown as BatchNormAttrs;
  const c = channelsOf(t.x);
  const groups = groupsOf(t.x, bn);
  const v = {
    dy: float32Of(backend, t.dy),
    x: float32Of(backend, t.x),
    y: float32Of(backend, t.y),
    scale: float32Of(backend, t.scale),
    mean: float32Of(backend, t.mean),
    variance: float32Of(backend, t.variance),
  };
  if (!v.dy || !v.x || !v.y || !v.scale || !v.mean || !v.variance || c === 0 || v.x.length === 0) return null;
  if (v.dy.length !== v.x.length || v.y.length !== v.x.length || v.scale.length !== c || v.mean.length !== groups * c || v.variance.length !== groups * c) return null;
  const dx = outputFloat32(v.x.length);
  const dscale = new Float32Array(c);
  const doffset = new Float32Array(c);
  const [groupScale, groupOffset] = [new Float32Array(c), new Float32Array(c)];
  const size = v.x.length / groups;
  for (let g = 0; g < groups; g++) {
    const [from, to] = [g * size, (g + 1) * size];
    const [stats0, stats1] = [g * c, (g + 1) * c];
    addon.batchNormTrainGrad(
      size / c, c, v.dy.subarray(from, to), v.x.subarray(from, to), v.y.subarray(from, to), v.scale,
      v.mean.subarray(stats0, stats1), v.variance.subarray(stats0, stats1), Number(bn.epsilon), Boolean(bn.relu), dx.subarray(from, to), groupScale, groupOffset,
    );
    for (let k = 0; k < c; k++) {
      dscale[k] += groupScale[k]!;
      doffset[k] += groupOffset[k]!;
    }
  }
  return [backend.makeTensorInfo([...t.x.shape], 'float32', dx), backend.makeTensorInfo([c], 'float32', dscale), backend.makeTensorInfo([c], 'float32', doffset)];
}

export const batchNormKernels: NativeKernel[] = [
  { kernelName: BATCH_NORM_TRAIN_KERNEL, run: batchNormTrain },
  { kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL, run: batchNormTrainGrad },
];
