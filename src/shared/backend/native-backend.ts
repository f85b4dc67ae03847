/**
 * The `native` tfjs backend: a `MathBackendCPU` (same tensor storage, same JavaScript kernels)
 * registered under its own name, with every cpu kernel re-registered for it and the hot ones
 * replaced by the oneDNN addon. A native kernel may decline a call (dtype, layout, attributes it
 * does not handle); the cpu kernel then runs, so results never depend on coverage.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendValues, DataId, DataType } from '@tensorflow/tfjs-core';
import { bufferPool } from './buffer-pool.js';
import type { NativeAddon } from './native-addon.js';
import { bindThreadSink } from './threads.js';
import { disabledNativeKernels } from './kernels/disabled.js';
import { nativeKernels } from './kernels/index.js';
import type { NativeKernelArgs } from './kernels/types.js';

export const NATIVE_BACKEND_NAME = 'native';

/** Calls served natively vs. handed to the cpu kernel, per kernel name (tests, profiling). */
export interface NativeKernelStats {
  native: Record<string, number>;
  fallback: Record<string, number>;
}

const stats: NativeKernelStats = { native: {}, fallback: {} };
let registeredWith: NativeAddon | null = null;

export function nativeKernelStats(): NativeKernelStats {
  return { native: { ...stats.native }, fallback: { ...stats.fallback } };
}

/**
 * The cpu backend's storage, with the native kernels' output buffers recycled through
 * `bufferPool`: storage records which tensor data holds each pooled array, reading an array out
 * makes it ineligible, and freeing the data returns an eligible array to the pool.
 */
class NativeBackend extends MathBackendCPU {
  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = super.write(values, shape, dtype);
    bufferPool.attach(values, dataId);
    return dataId;
  }

  override readSync(dataId: DataId): BackendValues {
    bufferPool.escape(this.data.get(dataId)?.values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force?: boolean): boolean {
    const values = this.data.get(dataId)?.values;
    const released = super.disposeData(dataId, force);
    if (!this.data.has(dataId)) bufferPool.release(values, dataId);
    return released;
  }
}

/** JavaScript kernels that only share their input's storage (a new shape, the same data), never a view of it. */
const SHARES_STORAGE = new Set(['Reshape', 'Identity', 'ExpandDims', 'Squeeze']);

/** A cpu kernel whose inputs can no longer be recycled: it may return views into them (Slice does). */
function escapingInputs(kernelName: string, cpuFunc: tf.KernelFunc): tf.KernelFunc {
  if (SHARES_STORAGE.has(kernelName)) return cpuFunc;
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    for (const input of Object.values(args.inputs)) if (input) bufferPool.escape(backend.data.get(input.dataId)?.values);
    return cpuFunc(args);
  };
}

/** Registers the backend and its kernels once per process (idempotent). */
export function registerNativeBackend(addon: NativeAddon): void {
  if (registeredWith) return;
  registeredWith = addon;
  bindThreadSink((n) => addon.setThreads(n));
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(), 0);

  const disabled = disabledNativeKernels();
  const enabled = nativeKernels.filter((k) => !disabled.has(k.kernelName));
  const overrides = new Map(enabled.map((k) => [k.kernelName, k]));
  for (const cpu of tf.getKernelsForBackend('cpu')) {
    const override = overrides.get(cpu.kernelName);
    const cpuFunc = escapingInputs(cpu.kernelName, cpu.kernelFunc);
    const kernelFunc: tf.KernelFunc = override
      ? (args) => {
          const out = override.run(args as unknown as NativeKernelArgs, addon);
          if (out !== null) {
            count(stats.native, cpu.kernelName);
            return out;
          }
          count(stats.fallback, cpu.kernelName);
          return cpuFunc(args);
        }
      : cpuFunc;
    tf.registerKernel({ ...cpu, backendName: NATIVE_BACKEND_NAME, kernelFunc });
  }
  // Kernels with no cpu counterpart (tracoco's fused ops) exist only on this backend.
  for (const k of enabled) {
    if (tf.getKernel(k.kernelName, 'cpu')) continue;
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: NATIVE_BACKEND_NAME,
      kernelFunc: (args) => {
        const out = k.run(args as unknown as NativeKernelArgs, addon);
        if (out === null) throw new Error(`${k.kernelName}: unsupported inputs for the native kernel`);
        count(stats.native, k.kernelName);
        return out;
      },
    });
  }
}

function count(map: Record<string, number>, name: string): void {
  map[name] = (map[name] ?? 0) + 1;
}
