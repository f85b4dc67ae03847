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
  /** Called by the worker whenever its state or assignment changes (epoch -1, run '': unassigned). */
  update(state: WorkerState, epoch: number, runId: string): void;
  stop(): Promise<void>;
}

export const STATE_CODES: WorkerState[] = ['idle', 'assigned', 'training', 'evaluating'];

/** Shared-memory layout: Int32 [state code, assignment epoch (-1: unassigned), run id length], then the run id's UTF-8 bytes. */
export const SLOT = { state: 0, epoch: 1, runIdLength: 2 } as const;
const RUN_ID_OFFSET = 12;
const RUN_ID_BYTES = 256;

/** The run id the worker last published to shared memory. */
export function readRunId(shared: SharedArrayBuffer): string {
  const length = Atomics.load(new Int32Array(shared, 0, 3), SLOT.runIdLength);
  return new TextDecoder().decode(new Uint8Array(shared, RUN_ID_OFFSET, RUN_ID_BYTES).slice(0, Math.max(0, length)));
}

function writeRunId(shared: SharedArrayBuffer, runId: string): void {
  const view = new Int32Array(shared, 0, 3);
  const bytes = new TextEncoder().encode(runId).subarray(0, RUN_ID_BYTES);
  Atomics.store(view, SLOT.runIdLength, 0);
  new Uint8Array(shared, RUN_ID_OFFSET, RUN_ID_BYTES).set(bytes);
  Atomics.store(view, SLOT.runIdLength, bytes.length);
}

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
  const shared = new SharedArrayBuffer(RUN_ID_OFFSET + RUN_ID_BYTES);
  const view = new Int32Array(shared, 0, 3);
  view[SLOT.epoch] = -1;
  const thread = new Worker(new URL('./heartbeat-thread.js', import.meta.url), { workerData: { ...config, shared } satisfies HeartbeatThreadConfig });
  thread.unref();
  // The thread handles its own failures; should one escape, the worker loses its heartbeats (and
  // is replaced by the coordinator), not its process.
  thread.on('error', (err) => createLogger({ component: 'heartbeat', worker: config.workerId }).error('heartbeat.thread_failed', { error: err.message }));
  return {
    update(state, epoch, runId) {
      Atomics.store(view, SLOT.state, STATE_CODES.indexOf(state));
      Atomics.store(view, SLOT.epoch, epoch);
      writeRunId(shared, runId);
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
  publish: (kind: 'register' | 'heartbeat', state: WorkerState, epoch: number, runId: string) => Promise<void>,
  periodMs: number,
): Heartbeat {
  let current: { state: WorkerState; epoch: number; runId: string } = { state: 'idle', epoch: -1, runId: '' };
  const beat = async () => {
    if (current.epoch < 0) await publish('register', current.state, current.epoch, current.runId);
    await publish('heartbeat', current.state, current.epoch, current.runId);
  };
  const timer = periodMs > 0 ? setInterval(() => void beat().catch(() => {}), periodMs) : null;
  return {
    update(state, epoch, runId) {
      current = { state, epoch, runId };
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
}
