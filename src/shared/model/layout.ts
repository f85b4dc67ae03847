/**
 * PyTorch <-> tfjs tensor layouts.
 *
 * PyTorch keeps conv weights as `[out, in, kx, ky, kz]` and ConvTranspose3d weights as
 * `[in, out, kx, ky, kz]`; tfjs `conv3d` wants `[kx, ky, kz, in, out]` and `conv3dTranspose`
 * `[kx, ky, kz, out, in]`. Both conversions are the same axis permutation, so every rank-5
 * weight moves with `TORCH_TO_TFJS_WEIGHT`; vectors and scalars are identical in both.
 * Activations are NCDHW in PyTorch and NDHWC in tfjs.
 */
import { rowMajorStrides } from '../volume.js';

/** One tensor of a PyTorch-style state_dict (row-major, PyTorch layout). */
export interface StateTensor {
  shape: number[];
  dtype: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
}

/** A state_dict in PyTorch layout, keyed by the PyTorch parameter/buffer name, in module order. */
export type StateDict = Map<string, StateTensor>;

/** `[out,in,kx,ky,kz]` (or `[in,out,k...]`) -> `[kx,ky,kz,in,out]` (or `[k...,out,in]`). */
export const TORCH_TO_TFJS_WEIGHT = [2, 3, 4, 1, 0] as const;
/** Inverse of TORCH_TO_TFJS_WEIGHT. */
export const TFJS_TO_TORCH_WEIGHT = [4, 3, 0, 1, 2] as const;
export const NCDHW_TO_NDHWC = [0, 2, 3, 4, 1] as const;
export const NDHWC_TO_NCDHW = [0, 4, 1, 2, 3] as const;

/** `out.shape[i] = shape[perm[i]]`, like numpy/torch `permute`. */
export function permute<T extends Float32Array | BigInt64Array>(
  data: T,
  shape: readonly number[],
  perm: readonly number[],
): { data: T; shape: number[] } {
  if (perm.length !== shape.length) throw new RangeError(`permute: rank ${shape.length} vs perm of ${perm.length}`);
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = rowMajorStrides(shape);
  // Stride in the input of each output axis; walk the output in order with an odometer.
  const walk = perm.map((p) => inStrides[p]!);
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const rank = outShape.length;
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += walk[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      src -= walk[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** A parameter in PyTorch layout -> tfjs layout (rank-5 weights permuted, others unchanged). */
export function torchToTfjs(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  return shape.length === 5 ? permute(data, shape, TORCH_TO_TFJS_WEIGHT) : { data, shape: [...shape] };
}

/** A parameter in tfjs layout -> PyTorch layout. */
export function tfjsToTorch(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  return shape.length === 5 ? permute(data, shape, TFJS_TO_TORCH_WEIGHT) : { data, shape: [...shape] };
}
