/**
 * Reductions (Sum, Mean, Max, Min, ArgMax, ArgMin) over axes that form one contiguous block
 * (after ignoring size-1 dims), and Softmax over the last axis, on float32 tensors. Other axis
 * sets, dtypes and empty tensors go to the cpu kernel.
 */
import { backend_util, util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { reductionView } from './shapes.js';
import { float32Of, outputFloat32, outputInt32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';
import { elementCount } from '../../volume.js';

interface ReduceOp {
  code: number;
  /** attribute holding the axes (tfjs names it differently per kernel) */
  axisAttr: 'axis' | 'reductionIndices';
  /** arg-reductions return int32 indices over a single axis and never keep dims */
  arg: boolean;
}

const REDUCE_OPS: Record<string, ReduceOp> = {
  Sum: { code: 0, axisAttr: 'axis', arg: false },
  Mean: { code: 1, axisAttr: 'axis', arg: false },
  Max: { code: 2, axisAttr: 'reductionIndices', arg: false },
  Min: { code: 3, axisAttr: 'axis', arg: false },
  ArgMax: { code: 4, axisAttr: 'axis', arg: true },
  ArgMin: { code: 5, axisAttr: 'axis', arg: true },
};

function reduceKernel(kernelName: string, op: ReduceOp): NativeKernel {
  const run = ({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null => {
    const { x } = inputs as { x: TensorInfo };
    const xv = float32Of(backend, x);
    if (!xv || xv.length === 0) return null;
    const a = (attrs ?? {}) as Record<string, unknown>;
    let axes = util.parseAxisParam(a[op.axisAttr] as number | number[], x.shape);
    if (op.arg) axes = [axes[0]!];
    const view = reductionView(x.shape, axes);
    if (!view) return null;
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const n = elementCount(outShape);
    const out = op.arg ? outputInt32(n) : outputFloat32(n);
    addon.reduce(op.code, view.outer, view.size, view.inner, xv, out);
    const shape = !op.arg && a.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return backend.makeTensorInfo(shape, op.arg ? 'int32' : 'float32', out);
  };
  return { kernelName, run };
}

function softmax({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { logits } = inputs as { logits: TensorInfo };
  const xv = float32Of(backend, logits);
  const rank = logits.shape.length;
  const dim = (attrs as { dim?: number } | undefined)?.dim ?? -1;
  if (!xv || xv.length === 0 || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
  const cols = logits.shape[rank - 1]!;
  const out = outputFloat32(xv.length);
  addon.softmax(xv.length / cols, cols, xv, out);
  return backend.makeTensorInfo([...logits.shape], 'float32', out);
}

export const reduceKernels: NativeKernel[] = [
  ...Object.entries(REDUCE_OPS).map(([name, op]) => reduceKernel(name, op)),
  { kernelName: 'Softmax', run: softmax },
];
