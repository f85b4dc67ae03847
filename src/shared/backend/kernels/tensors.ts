/** Access to tfjs CPU-backend tensor storage for native kernels. */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { bufferPool } from '../buffer-pool.js';

/** The typed array behind a tensor of the given dtype, or null when it is stored otherwise. */
export function float32Of(backend: MathBackendCPU, t: TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

export function int32Of(backend: MathBackendCPU, t: TensorInfo): Int32Array | null {
  if (t.dtype !== 'int32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Int32Array ? v : null;
}

/**
 * An int32 tensor's values as an Int32Array: the stored array, or a copy when tfjs keeps them in
 * another integer array (a cast from bool keeps the bool's Uint8Array); null for other dtypes.
 */
export function int32ValuesOf(backend: MathBackendCPU, t: TensorInfo): Int32Array | null {
  if (t.dtype !== 'int32') return null;
  const v = backend.data.get(t.dataId)?.values;
  if (v instanceof Int32Array) return v;
  return v instanceof Uint8Array || v instanceof Int16Array || v instanceof Uint16Array || v instanceof Int8Array ? Int32Array.from(v) : null;
}

export function boolOf(backend: MathBackendCPU, t: TensorInfo): Uint8Array | null {
  if (t.dtype !== 'bool') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Uint8Array ? v : null;
}

// Below this many bytes a zero-filled allocation costs nothing worth avoiding.
const UNINITIALISED_MIN_BYTES = 1 << 16;

/**
 * A Float32Array of n elements for a native kernel to overwrite completely: from 1 MB a recycled
 * one from `bufferPool` (contents unspecified); else large ones skip zero-filling
 * (`allocUnsafeSlow` gives a private, unpooled ArrayBuffer).
 */
export function outputFloat32(n: number): Float32Array {
  if (bufferPool.pools(n)) return bufferPool.allocate(n);
  if (n * 4 < UNINITIALISED_MIN_BYTES) return new Float32Array(n);
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(buf.buffer, buf.byteOffset, n);
}

export function outputUint8(n: number): Uint8Array {
  if (n < UNINITIALISED_MIN_BYTES) return new Uint8Array(n);
  const buf = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

export function outputInt32(n: number): Int32Array {
  if (n * 4 < UNINITIALISED_MIN_BYTES) return new Int32Array(n);
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Int32Array(buf.buffer, buf.byteOffset, n);
}
