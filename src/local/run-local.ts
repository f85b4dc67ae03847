/**
 * Local mode (GUIDE §1, §6): the coordinator and its workers in one process, wired through the
 * in-process transport — the same code as a cluster run, with no services to start. Run state and
 * checkpoints live under `<out>/.store`, so `train` on an existing `--out` resumes.
 */
import { join } from 'node:path';
import type { TracocoConfig } from '../shared/config/index.js';
import { openDataset } from '../shared/io/index.js';
import type { Logger } from '../shared/log.js';
import { Coordinator, type RunSummary } from '../coordinator/coordinator.js';
import type { TrainingObserver } from '../coordinator/observer.js';
import { loadTrainingData } from '../coordinator/training-data.js';
import { TrainingWorker, type WorkerObserver } from '../worker/worker.js';
import { InProcessTransport } from '../transport/in-process.js';

export interface LocalRunOptions {
  config: TracocoConfig;
  out: string;
  logger: Logger;
  backend: string;
  observer?: TrainingObserver;
  workerObserver?: WorkerObserver;
  /** Worker pairs to simulate in-process (default 1). */
  pairs?: number;
}

export async function runLocal(o: LocalRunOptions): Promise<RunSummary> {
  const transport = new InProcessTransport({ storeDir: join(o.out, '.store'), logger: o.logger });
  const dataset = openDataset(o.config.data.root);
  const data = await loadTrainingData(dataset, o.config, o.logger);
  const perPair = o.config.train.semi_supervised ? 2 : 1;
  const count = perPair * (o.pairs ?? 1);
  const resources = { device: 'cpu' as const, backend: o.backend };
  const workers = Array.from(
    { length: count },
    (_, i) =>
      new TrainingWorker({ workerId: `local-${i}`, transport, resources, logger: o.logger.child({ worker: `local-${i}` }), heartbeatMs: 0, observer: o.workerObserver }),
  );
  const coordinator = new Coordinator({
    transport,
    config: o.config,
    data,
    workers: count,
    out: o.out,
    logger: o.logger.child({ role: 'coordinator' }),
    observer: o.observer,
    // One thread runs everything: a long synchronous step must not look like a lost worker.
    heartbeatTimeoutMs: Number.POSITIVE_INFINITY,
    maxRetries: 0,
  });
  try {
    coordinator.listen();
    for (const w of workers) await w.start();
    return await coordinator.run();
  } finally {
    for (const w of workers) await w.stop();
    await transport.close();
  }
}
