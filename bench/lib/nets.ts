/**
 * What the per-architecture benchmarks share: flag parsers, the benchmarked network of each
 * architecture, timing, and which kernels of a pass ran as JavaScript on the `native` backend.
 * Heavy modules are imported inside the functions, so the bench listing stays cheap.
 */
import { InvalidArgumentError } from 'commander';
import { performance } from 'node:perf_hooks';
import type * as tfType from '@tensorflow/tfjs-core';
import type { NetworkSpec } from '../../src/shared/model/network.js';
import { ARCHITECTURES, commaList, type Architecture } from '../../src/shared/names.js';
import type { Shape3 } from '../../src/shared/volume.js';
import { median, round } from './stats.js';

export type CompareBackend = 'native' | 'cpu';

/** Input sizes and run counts shared by the benches that compare native against cpu per network. */
export interface CompareSizeOptions extends Record<string, unknown> {
  backends: CompareBackend[];
  filters: number;
  volume: Shape3;
  volumeBatch: number;
  slice: [number, number];
  sliceBatch: number;
  cpuVolume: Shape3;
  cpuVolumeBatch: number;
  cpuSlice: [number, number];
  cpuSliceBatch: number;
  runs: number;
  cpuRuns: number;
}

function listOf<T extends string>(choices: readonly T[], what: string): (value: string) => T[] {
  return (value: string) => {
    const items = commaList(value);
    const bad = items.filter((s) => !(choices as readonly string[]).includes(s));
    if (items.length === 0 || bad.length > 0) throw new InvalidArgumentError(`expected ${what} from ${choices.join(', ')} separated by commas.`);
    return [...new Set(items)] as T[];
  };
}

export const architectureList = listOf(ARCHITECTURES, 'architectures');
export const backendList = listOf<CompareBackend>(['native', 'cpu'], 'backends');

/** `HxW` of positive integers. */
export function shapeHW(value: string): [number, number] {
  const parts = value.split('x').map(Number);
  if (parts.length !== 2 || !parts.every((n) => Number.isInteger(n) && n > 0)) throw new InvalidArgumentError('expected HxW with positive integers, e.g. 128x128.');
  return parts as [number, number];
}

/**
 * The benchmarked network: VNet-`filters` (BatchNorm, Dropout3d, 2 classes, the LA network),
 * UNet3D with `filters` first-level channels (BraTS, 2 classes), UNet2D with `filters`…16·`filters`
 * channels and the published dropout (ACDC, 4 classes).
 */
export async function benchNetworkSpec(architecture: Architecture, filters: number): Promise<NetworkSpec> {
  switch (architecture) {
    case 'vnet':
      return { architecture, inChannels: 1, classes: 2, filters, normalization: 'batchnorm', dropout: true };
    case 'unet3d':
      return { architecture, inChannels: 1, classes: 2, filters, dropout: true };
    case 'unet2d': {
      const { UNET2D_DROPOUT } = await import('../../src/shared/model/unet2d.js');
      return { architecture, inChannels: 1, classes: 4, channels: [1, 2, 4, 8, 16].map((k) => k * filters), dropout: UNET2D_DROPOUT };
    }
  }
}

/** `vnet-16`, `unet3d-16`, `unet2d-16..256`. */
export function networkLabel(spec: NetworkSpec): string {
  return spec.architecture === 'unet2d' ? `unet2d-${spec.channels[0]}..${spec.channels[4]}` : `${spec.architecture}-${spec.filters}`;
}

/** Median ms of `runs` calls of `fn`, after one untimed warm-up call when `warmup`. */
export function timeMs(fn: () => void, runs: number, warmup = true): number {
  if (warmup) fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

export interface KernelCoverage {
  /** Kernel calls the addon served. */
  native_calls: number;
  /** Calls of kernels the native backend has no addon kernel for (tfjs's JavaScript), by kernel: calls and ms. */
  js_kernels: Record<string, { calls: number; ms: number }>;
  js_ms: number;
  /** Share of the profiled kernel time spent in JavaScript kernels. */
  js_share: number;
  /** Calls an addon kernel declined (dtype, layout, attributes), so the cpu kernel ran (`nativeKernelStats().fallback`). */
  declined: Record<string, number>;
}

/** Runs `fn` once under tf.profile on the active (native) backend and splits its kernels by where they ran. */
export async function kernelCoverage(tf: typeof tfType, fn: () => void): Promise<KernelCoverage> {
  const { nativeKernelStats } = await import('../../src/shared/backend/index.js');
  const { nativeKernels } = await import('../../src/shared/backend/kernels/index.js');
  const { disabledNativeKernels } = await import('../../src/shared/backend/kernels/disabled.js');
  const disabled = disabledNativeKernels();
  const served = new Set(nativeKernels.map((k) => k.kernelName).filter((n) => !disabled.has(n)));
  const before = nativeKernelStats();
  const profile = await tf.profile(fn);
  const after = nativeKernelStats();
  const delta = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)] as const).filter(([, v]) => v > 0));
  const declined = delta(after.fallback, before.fallback);
  const js: Record<string, { calls: number; ms: number }> = {};
  let total = 0;
  let jsMs = 0;
  for (const k of profile.kernels) {
    // Custom-gradient ops and op scopes are profiled too, timing the kernels inside them: skip.
    if (!tf.getKernel(k.name, 'native')) continue;
    const ms = Number(k.kernelTimeMs);
    total += ms;
    if (served.has(k.name)) continue;
    jsMs += ms;
    const entry = (js[k.name] ??= { calls: 0, ms: 0 });
    entry.calls++;
    entry.ms += ms;
  }
  const sorted = Object.entries(js).sort((a, b) => b[1].ms - a[1].ms).map(([name, v]) => [name, { calls: v.calls, ms: round(v.ms, 1) }] as const);
  return {
    native_calls: Object.values(delta(after.native, before.native)).reduce((a, b) => a + b, 0),
    js_kernels: Object.fromEntries(sorted),
    js_ms: round(jsMs, 1),
    js_share: total > 0 ? round(jsMs / total, 3) : 0,
    declined,
  };
}

/** Activates `name`, registering the native backend first; a reason when it cannot be used. */
export async function useBackend(tf: typeof tfType, name: CompareBackend): Promise<string | null> {
  const { initBackend } = await import('../../src/shared/backend/index.js');
  if (name === 'native') {
    try {
      await initBackend('native');
    } catch (err) {
      return (err as Error).message;
    }
    return null;
  }
  return (await tf.setBackend('cpu')) ? null : 'tfjs cpu backend failed to initialise';
}
