/**
 * Worker threads for native kernels: all cores by default (`os.availableParallelism()`),
 * `TRACOCO_THREADS` or `setThreadCount` override. tfjs-node (the `tensorflow` backend) sizes its
 * own pools from TF's environment and is not affected.
 */
import { availableParallelism } from 'node:os';
import { TracocoError } from '../errors.js';

export const THREADS_ENV = 'TRACOCO_THREADS';
const MAX_THREADS = 1024;

/** The thread count that `env` asks for, or all cores; a malformed value names the variable. */
export function threadCountFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[THREADS_ENV];
  if (raw === undefined || raw.trim() === '') return availableParallelism();
  return parseThreadCount(raw, `environment variable ${THREADS_ENV}`);
}

export function parseThreadCount(raw: string | number, where: string): number {
  const n = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new TracocoError(`expected a thread count 1..${MAX_THREADS}, got '${raw}'`, { field: where });
  }
  return n;
}

type ThreadSink = (n: number) => void;
let sink: ThreadSink | null = null;
let current: number | null = null;

/** The thread count in effect (resolved from the environment on first use). */
export function threadCount(): number {
  if (current === null) current = threadCountFromEnv();
  return current;
}

/** Sets the thread count for native kernels, now and for a backend initialised later. */
export function setThreadCount(n: number): void {
  current = parseThreadCount(n, 'threads');
  sink?.(current);
}

/** Called by the native backend: where thread counts go; applies the current one at once. */
export function bindThreadSink(apply: ThreadSink): void {
  sink = apply;
  apply(threadCount());
}
