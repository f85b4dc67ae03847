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
import { TracocoError } from '../errors.js';

export type BackendName = 'tensorflow' | 'native' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'native', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  /** Human-readable detail: device, library versions, or why a preferred backend was skipped. */
  detail: string;
  skipped: { name: BackendName; reason: string }[];
}

let active: BackendInfo | null = null;

/** The backend chosen by `initBackend`, or null before it ran. */
export function activeBackend(): BackendInfo | null {
  return active;
}

/**
 * Picks and activates a backend. `requested` (flag) wins over `TRACOCO_BACKEND`, which wins over
 * the automatic order; an explicitly requested backend that cannot load is an error naming it.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const wanted = requested ?? process.env.TRACOCO_BACKEND ?? undefined;
  if (wanted !== undefined && !(BACKEND_NAMES as readonly string[]).includes(wanted)) {
    throw new TracocoError(`unknown backend '${wanted}' (expected one of ${BACKEND_NAMES.join(', ')})`, { flag: '--backend' });
  }
  tf.enableProdMode();
  const order: BackendName[] = wanted ? [wanted as BackendName] : [...BACKEND_NAMES];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const reason = await tryActivate(name);
    if (reason === null) {
      active = { name, detail: describe(name), skipped };
      return active;
    }
    if (wanted) throw new TracocoError(`backend '${name}' is not available: ${reason}`, { flag: '--backend' });
    skipped.push({ name, reason });
  }
  throw new TracocoError('no tfjs backend could be initialised');
}

async function tryActivate(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'tensorflow':
      return activateTensorflow();
    case 'native':
      return 'native kernels are not built';
    case 'cpu':
      return (await tf.setBackend('cpu')) ? null : 'tfjs cpu backend failed to initialise';
  }
}

async function activateTensorflow(): Promise<string | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') {
        return `${pkg} is installed but failed to load: ${(err as Error).message.split('\n')[0]}`;
      }
    }
  }
  return '@tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node not installed';
}

function describe(name: BackendName): string {
  switch (name) {
    case 'tensorflow':
      return 'TensorFlow C library via tfjs-node';
    case 'native':
      return 'tfjs cpu + oneDNN kernels';
    case 'cpu':
      return 'tfjs cpu (JavaScript)';
  }
}
