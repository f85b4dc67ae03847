/**
 * Worker liveness. A training step runs tfjs synchronously on the main thread for seconds or
 * minutes, during which timers cannot fire; so in a cluster the heartbeats come from a separate
 * thread with its own connection (heartbeat-thread.ts), reading the worker's state from
 * shared memory. The process dies -> the heartbeats stop; the main thread hangs -> the heartbeats
 * carry a stale `lastProgress`, which the coordinator's step timeout catches.
 */
import { Worker } from 'node:worker_threads';
import { createLogger } from '../shared/log.js';
import type { TransportRecipe, WorkerResources, WorkerState } from '../shared/protocol/index.js';

export interface Heartbeat {
  /** Called by the worker whenever its state or assignment changes (epoch -1: unassigned). */
  update(state: WorkerState, epoch: number): void;
  stop(): Promise<void>;
}

export const STATE_CODES: WorkerState[] = ['idle', 'assigned', 'training', 'evaluating'];

/** Shared-memory layout: [state code, assignment epoch (-1: unassigned)]. */
export const SLOT = { state: 0, epoch: 1 } as const;

export interface HeartbeatThreadConfig {
  workerId: string;
  resources: WorkerResources;
  prefix: string;
  periodMs: number;
  /** How the thread opens its own connection. */
  transport: TransportRecipe;
  shared: SharedArrayBuffer;
}

/** Heartbeats from a worker thread (cluster workers). */
export function threadHeartbeat(config: Omit<HeartbeatThreadConfig, 'shared'>): Heartbeat {
  const shared = new SharedArrayBuffer(4 * 2);
  const view = new Int32Array(shared);
  view[SLOT.epoch] = -1;
  const thread = new Worker(new URL('./heartbeat-thread.js', import.meta.url), { workerData: { ...config, shared } satisfies HeartbeatThreadConfig });
  thread.unref();
  // The thread handles its own failures; should one escape, the worker loses its heartbeats (and
  // is replaced by the coordinator), not its process.
  thread.on('error', (err) => createLogger({ component: 'heartbeat', worker: config.workerId }).error('heartbeat.thread_failed', { error: err.message }));
  return {
    update(state, epoch) {
      Atomics.store(view, SLOT.state, STATE_CODES.indexOf(state));
      Atomics.store(view, SLOT.epoch, epoch);
    },
    async stop() {
      thread.postMessage('stop');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => void thread.terminate().then(() => resolve()), 2000);
        thread.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** Heartbeats from a timer on the calling thread (in-process runs and tests). */
export function intervalHeartbeat(
  publish: (kind: 'register' | 'heartbeat', state: WorkerState, epoch: number) => Promise<void>,
  periodMs: number,
): Heartbeat {
  let current: { state: WorkerState; epoch: number } = { state: 'idle', epoch: -1 };
  const beat = async () => {
    if (current.epoch < 0) await publish('register', current.state, current.epoch);
    await publish('heartbeat', current.state, current.epoch);
  };
  const timer = periodMs > 0 ? setInterval(() => void beat().catch(() => {}), periodMs) : null;
  return {
    update(state, epoch) {
      current = { state, epoch };
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
}
