/**
 * Local mode (GUIDE §1, §6): the coordinator and its workers in one process, wired through the
 * in-process transport — the same code as a cluster run, with no services to start; with several
 * cores each worker steps in a thread of its own (worker-threads.ts). Run state and
 * checkpoints live under `<out>/.store`, so `train` on an existing `--out` resumes.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { TracocoConfig } from '../shared/config/index.js';
import { openDataset } from '../shared/io/index.js';
import type { Logger } from '../shared/log.js';
import { Coordinator, type RunSummary } from '../coordinator/coordinator.js';
import type { TrainingObserver } from '../coordinator/observer.js';
import { loadTrainingData } from '../coordinator/training-data.js';
import { TrainingWorker, type WorkerObserver } from '../worker/worker.js';
import { InProcessTransport } from '../transport/in-process.js';
import { threadCount } from '../shared/backend/threads.js';
import { TracocoError } from '../shared/errors.js';
import { startWorkerThreads } from './worker-threads.js';

export interface LocalRunOptions {
  config: TracocoConfig;
  out: string;
  logger: Logger;
  backend: string;
  observer?: TrainingObserver;
  workerObserver?: WorkerObserver;
  /** Worker pairs to simulate in-process (default 1). */
  pairs?: number;
  /**
   * Run each worker in a thread of its own (native kernels split the threads between them).
   * Default: `TRACOCO_WORKER_THREADS` (0 or 1) when set, else when there are several workers and
   * several cores. Never with a `workerObserver`, whose hooks cannot cross threads.
   */
  workerThreads?: boolean;
}

export const WORKER_THREADS_ENV = 'TRACOCO_WORKER_THREADS';

function workerThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const raw = env[WORKER_THREADS_ENV]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw === '0' || raw === '1') return raw === '1';
  throw new TracocoError(`expected 0 or 1, got '${raw}'`, { field: `environment variable ${WORKER_THREADS_ENV}` });
}

export async function runLocal(o: LocalRunOptions): Promise<RunSummary> {
  const transport = new InProcessTransport({ storeDir: join(o.out, '.store'), logger: o.logger });
  const dataset = openDataset(o.config.data.root);
  const data = await loadTrainingData(dataset, o.config, o.logger);
  const perPair = o.config.train.semi_supervised ? 2 : 1;
  const count = perPair * (o.pairs ?? 1);
  const ids = Array.from({ length: count }, (_, i) => `local-${i}`);
  const threaded = !o.workerObserver && (o.workerThreads ?? workerThreadsFromEnv() ?? (count > 1 && availableParallelism() > 1));
  const aborter = new AbortController();
  const coordinator = new Coordinator({
    transport,
    config: o.config,
    data,
    workers: count,
    out: o.out,
    logger: o.logger.child({ role: 'coordinator' }),
    observer: o.observer,
    // A long synchronous step must not look like a lost worker.
    heartbeatTimeoutMs: Number.POSITIVE_INFINITY,
    maxRetries: 0,
    signal: aborter.signal,
  });
  coordinator.listen();
  let workers: { stop(): Promise<void> } | null = null;
  try {
    workers = threaded
      ? startWorkerThreads({ ids, transport, backend: o.backend, threads: Math.max(1, Math.floor(threadCount() / count)), logger: o.logger, onFailure: (err) => aborter.abort(err) })
      : await startInlineWorkers(ids, transport, o);
    return await coordinator.run();
  } finally {
    await workers?.stop();
    await transport.close();
  }
}

/** The workers on the main thread, taking turns with the coordinator; stopped again if one cannot start. */
async function startInlineWorkers(ids: string[], transport: InProcessTransport, o: LocalRunOptions): Promise<{ stop(): Promise<void> }> {
  const resources = { device: 'cpu' as const, backend: o.backend };
  const workers = ids.map(
    (workerId) => new TrainingWorker({ workerId, transport, resources, logger: o.logger.child({ worker: workerId }), heartbeatMs: 0, observer: o.workerObserver }),
  );
  const stop = async () => {
    for (const w of workers) await w.stop();
  };
  try {
    for (const w of workers) await w.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
