/**
 * Data movement on float32 tensors: Transpose, strided Slice (contiguous slices are already free
 * views in the cpu kernel), PadV2 and Concat, as box copies in the addon.
 */
import { backend_util, slice_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { collapsePermutation } from './shapes.js';
import { float32Of, outputFloat32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';
import { elementCount } from '../../volume.js';

const i32 = (v: readonly number[]) => Int32Array.from(v);

function transpose({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x } = inputs as { x: TensorInfo };
  const perm = (attrs as { perm: number[] }).perm;
  const xv = float32Of(backend, x);
  if (!xv || perm.length !== x.shape.length) return null;
  const outShape = perm.map((d) => x.shape[d]!);
  const out = outputFloat32(xv.length);
  if (xv.length > 0) {
    const loop = collapsePermutation(x.shape, perm);
    addon.transpose(i32(loop.shape), i32(loop.perm), xv, out);
  }
  return backend.makeTensorInfo(outShape, 'float32', out);
}

function slice({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x } = inputs as { x: TensorInfo };
  const { begin, size } = attrs as { begin: number | number[]; size?: number | number[] };
  const xv = float32Of(backend, x);
  if (!xv || x.shape.length === 0) return null;
  const [$begin, $size] = slice_util.parseSliceParams(x as never, begin, size);
  slice_util.assertParamsValid(x as never, $begin, $size);
  if (slice_util.isSliceContinous(x.shape, $begin, $size)) return null;
  const out = outputFloat32(elementCount($size));
  if (out.length > 0) addon.copyBox(i32(x.shape), i32($begin), i32($size), i32($size.map(() => 0)), i32($size), xv, out);
  return backend.makeTensorInfo($size, 'float32', out);
}

function padV2({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x } = inputs as { x: TensorInfo };
  const { paddings, constantValue } = attrs as { paddings: [number, number][]; constantValue: number };
  const xv = float32Of(backend, x);
  if (!xv || x.shape.length === 0 || paddings.some(([lo, hi]) => lo < 0 || hi < 0)) return null;
  const outShape = paddings.map(([lo, hi], d) => lo + x.shape[d]! + hi);
  const out = outputFloat32(elementCount(outShape));
  if (out.length > 0) addon.fill(out, constantValue);
  if (xv.length > 0) addon.copyBox(i32(x.shape), i32(x.shape.map(() => 0)), i32(outShape), i32(paddings.map(([lo]) => lo)), i32(x.shape), xv, out);
  return backend.makeTensorInfo(outShape, 'float32', out);
}

function concat({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const tensors = Object.values(inputs) as TensorInfo[];
  const rank = tensors[0]?.shape.length ?? 0;
  if (tensors.length === 0 || rank === 0) return null;
  const values = tensors.map((t) => float32Of(backend, t));
  if (values.some((v) => !v) || tensors.some((t) => t.shape.length !== rank)) return null;
  const axis = (((attrs as { axis: number }).axis % rank) + rank) % rank;
  const outShape = backend_util.computeOutShape(tensors.map((t) => t.shape), axis);
  const out = outputFloat32(elementCount(outShape));
  let offset = 0;
  tensors.forEach((t, i) => {
    const start = outShape.map((_, d) => (d === axis ? offset : 0));
    if (elementCount(t.shape) > 0) addon.copyBox(i32(t.shape), i32(t.shape.map(() => 0)), i32(outShape), i32(start), i32(t.shape), values[i]!, out);
    offset += t.shape[axis]!;
  });
  return backend.makeTensorInfo(outShape, 'float32', out);
}

export const layoutKernels: NativeKernel[] = [
  { kernelName: 'Transpose', run: transpose },
  { kernelName: 'Slice', run: slice },
  { kernelName: 'PadV2', run: padV2 },
  { kernelName: 'Concat', run: concat },
];
