/**
 * tracoco's fused binary supervised loss (contract in src/shared/losses/supervised.ts):
 *   TracocoSupervisedLoss     {logits [..., C], labels int32 [...]}        -> [loss, ce, dice]
 *   TracocoSupervisedLossGrad {logits, labels, dy [3]}                     -> dlogits
 * One pass over the logits instead of tfjs's dozen (softmax, logSoftmax, oneHot, products, sums).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SUPERVISED_LOSS_GRAD_KERNEL, SUPERVISED_LOSS_KERNEL } from '../../losses/supervised.js';
import type { NativeAddon } from '../native-addon.js';
import { float32Of, int32ValuesOf, outputFloat32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';

/** Float32 logits with C ≥ 2 on the last axis and int32 labels with one element per voxel, or null. */
function operands({ inputs, backend }: NativeKernelArgs): { logits: Float32Array; labels: Int32Array; classes: number; voxels: number } | null {
  const { logits, labels } = inputs as { logits: TensorInfo; labels: TensorInfo };
  const [lv, tv] = [float32Of(backend, logits), int32ValuesOf(backend, labels)];
  const classes = logits.shape[logits.shape.length - 1] ?? 0;
  if (!lv || !tv || classes < 2 || lv.length === 0 || tv.length * classes !== lv.length) return null;
  return { logits: lv, labels: tv, classes, voxels: tv.length };
}

function supervisedLoss(args: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const o = operands(args);
  if (!o) return null;
  const out = new Float32Array(3);
  addon.supervisedLoss(o.voxels, o.classes, o.logits, o.labels, out);
  return args.backend.makeTensorInfo([3], 'float32', out);
}

function supervisedLossGrad(args: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const o = operands(args);
  const dy = float32Of(args.backend, args.inputs.dy as TensorInfo);
  if (!o || !dy || dy.length !== 3) return null;
  const dlogits = outputFloat32(o.logits.length);
  addon.supervisedLossGrad(o.voxels, o.classes, o.logits, o.labels, dy, dlogits);
  return args.backend.makeTensorInfo([...(args.inputs.logits as TensorInfo).shape], 'float32', dlogits);
}

export const lossKernels: NativeKernel[] = [
  { kernelName: SUPERVISED_LOSS_KERNEL, run: supervisedLoss },
  { kernelName: SUPERVISED_LOSS_GRAD_KERNEL, run: supervisedLossGrad },
];
