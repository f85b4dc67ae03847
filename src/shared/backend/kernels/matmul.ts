/** BatchMatMul on float32 tensors through oneDNN's sgemm (batch dims broadcast like the cpu kernel). */
import { broadcast_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { float32Of, outputFloat32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';
import { elementCount } from '../../volume.js';

function batchMatMul({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = (attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  const av = float32Of(backend, a);
  const bv = float32Of(backend, b);
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (!av || !bv || ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || m === 0 || n === 0 || k === 0) return null;
  const batchA = elementCount(a.shape.slice(0, -2));
  const batchB = elementCount(b.shape.slice(0, -2));
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  if (batch === 0 || elementCount(outer) !== batch) return null;
  const out = outputFloat32(batch * m * n);
  addon.matmul(batch, batchA, batchB, m, n, k, Boolean(transposeA), Boolean(transposeB), av, bv, out);
  return backend.makeTensorInfo([...outer, m, n], 'float32', out);
}

export const matmulKernels: NativeKernel[] = [{ kernelName: 'BatchMatMul', run: batchMatMul }];
