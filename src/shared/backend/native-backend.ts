/**
 * The `native` tfjs backend: a `MathBackendCPU` (same tensor storage, same JavaScript kernels)
 * registered under its own name, with every cpu kernel re-registered for it and the hot ones
 * replaced by the oneDNN addon. A native kernel may decline a call (dtype, layout, attributes it
 * does not handle); the cpu kernel then runs, so results never depend on coverage.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native-addon.js';
import { bindThreadSink } from './threads.js';
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
 * Native kernels left out at registration: `TRACOCO_NATIVE_DISABLE=Add,Multiply` keeps those on
 * the cpu kernels (profiling, or isolating a numerical difference). Kernels without a cpu
 * counterpart (the fused BatchNorm) are then not registered, so callers use their composites.
 */
export function disabledNativeKernels(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env.TRACOCO_NATIVE_DISABLE ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

/** Registers the backend and its kernels once per process (idempotent). */
export function registerNativeBackend(addon: NativeAddon): void {
  if (registeredWith) return;
  registeredWith = addon;
  bindThreadSink((n) => addon.setThreads(n));
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new MathBackendCPU(), 0);

  const disabled = disabledNativeKernels();
  const enabled = nativeKernels.filter((k) => !disabled.has(k.kernelName));
  const overrides = new Map(enabled.map((k) => [k.kernelName, k]));
  for (const cpu of tf.getKernelsForBackend('cpu')) {
    const override = overrides.get(cpu.kernelName);
    const cpuFunc = cpu.kernelFunc;
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
