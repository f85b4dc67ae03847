/**
 * Backend selection. Everything else in tracoco is backend-agnostic tfjs (`@tensorflow/tfjs-core`);
 * this module decides, once per process, which backend executes it:
 *   1. `tensorflow` — `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`, when installed and loadable;
 *   2. `native`     — the tfjs CPU backend with oneDNN kernels from `native/` (when the addon is built);
 *   3. `cpu`        — the plain tfjs CPU backend.
 * `--backend NAME` or `TRACOCO_BACKEND` overrides the order.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients; the full package does (once per process, ~0.3 s).
import '@tensorflow/tfjs';
import { TracocoError } from '../errors.js';
import { loadNativeAddon } from './native-addon.js';
import { NATIVE_BACKEND_NAME, registerNativeBackend } from './native-backend.js';
import { threadCount } from './threads.js';

export { setThreadCount, threadCount, THREADS_ENV } from './threads.js';
export { nativeKernelStats } from './native-backend.js';
/** Frees the native inference program's arena (kept across the windows of an evaluation). */
export { releaseInferenceArena as releaseInferenceMemory } from './kernels/program.js';

export type BackendName = 'tensorflow' | 'native' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'native', 'cpu'];
export const BACKEND_ENV = 'TRACOCO_BACKEND';

export interface BackendInfo {
  name: BackendName;
  /** Human-readable detail: device, library versions, or why a preferred backend was skipped. */
  detail: string;
  /** 'gpu' when tfjs-node-gpu provides the backend. */
  device: 'gpu' | 'cpu';
  skipped: { name: BackendName; reason: string }[];
  /** Threads native kernels use (`native` only; null for the others). */
  threads: number | null;
}

/** Tries to activate one backend: null when it is now active, else why it is not available. */
export type BackendProbe = (name: BackendName) => Promise<string | null>;

export interface BackendChoice {
  name: BackendName;
  skipped: { name: BackendName; reason: string }[];
}

/**
 * The backend an explicit request names: the flag wins over the environment variable; unset or
 * empty means automatic. An unknown name is an error naming where it came from.
 */
export function requestedBackend(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const fromFlag = flag?.trim();
  const fromEnv = env[BACKEND_ENV]?.trim();
  const wanted = fromFlag || fromEnv || undefined;
  if (wanted === undefined) return undefined;
  const name = wanted.toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    const where = fromFlag ? { flag: '--backend' } : { field: `environment variable ${BACKEND_ENV}` };
    throw new TracocoError(`unknown backend '${wanted}' (expected one of ${BACKEND_NAMES.join(', ')})`, where);
  }
  return name as BackendName;
}

/**
 * Walks the preference order (or just the requested backend) and activates the first one the
 * probe accepts. A requested backend that cannot load is an error, not a silent fallback.
 */
export async function chooseBackend(requested: BackendName | undefined, probe: BackendProbe, fromFlag = true): Promise<BackendChoice> {
  const order: readonly BackendName[] = requested ? [requested] : BACKEND_NAMES;
  const skipped: BackendChoice['skipped'] = [];
  for (const name of order) {
    const reason = await probe(name);
    if (reason === null) return { name, skipped };
    if (requested) {
      const where = fromFlag ? { flag: '--backend' } : { field: `environment variable ${BACKEND_ENV}` };
      throw new TracocoError(`backend '${name}' is not available: ${reason}`, where);
    }
    skipped.push({ name, reason });
  }
  throw new TracocoError('no tfjs backend could be initialised');
}

/**
 * Picks and activates a backend. `requested` (flag) wins over `TRACOCO_BACKEND`, which wins over
 * the automatic order; an explicitly requested backend that cannot load is an error naming it.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const wanted = requestedBackend(requested);
  tf.enableProdMode();
  const choice = await chooseBackend(wanted, activate, Boolean(requested?.trim()));
  return {
    name: choice.name,
    detail: describe(choice.name),
    device: choice.name === 'tensorflow' && tensorflowPackage === '@tensorflow/tfjs-node-gpu' ? 'gpu' : 'cpu',
    skipped: choice.skipped,
    threads: choice.name === 'native' ? threadCount() : null,
  };
}

async function activate(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'tensorflow':
      return activateTensorflow();
    case 'native':
      return activateNative();
    case 'cpu':
      return (await tf.setBackend('cpu')) ? null : 'tfjs cpu backend failed to initialise';
  }
}

async function activateNative(): Promise<string | null> {
  const load = loadNativeAddon();
  if (!load.ok) return load.reason;
  registerNativeBackend(load.addon);
  return (await tf.setBackend(NATIVE_BACKEND_NAME)) ? null : 'tfjs native backend failed to initialise';
}

/** Which tfjs-node package provides the `tensorflow` backend (the GPU build or the CPU one). */
let tensorflowPackage: string | null = null;

async function activateTensorflow(): Promise<string | null> {
  const failures: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      tensorflowPackage = pkg;
      if (await tf.setBackend('tensorflow')) return null;
      failures.push(`${pkg} loaded but its backend failed to initialise`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') {
        failures.push(`${pkg} is installed but failed to load: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  return failures.length > 0 ? failures.join('; ') : '@tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed';
}

function describe(name: BackendName): string {
  switch (name) {
    case 'tensorflow':
      return `TensorFlow C library via ${tensorflowPackage ?? 'tfjs-node'}`;
    case 'native': {
      const load = loadNativeAddon();
      const v = load.ok ? load.addon.versions() : null;
      return v ? `tfjs cpu + oneDNN ${v.dnnl} kernels (${v.dnnlCpuRuntime}, ${threadCount()} threads)` : 'tfjs cpu + oneDNN kernels';
    }
    case 'cpu':
      return 'tfjs cpu (JavaScript)';
  }
}
