/**
 * Local mode's workers in threads of their own: model 1 and model 2 of a pair step at the same
 * time on separate cores, instead of taking turns on the main thread. Each thread talks to the
 * main thread's in-process bus through a MessagePort (`servePort`); a thread that dies before
 * `stop` is reported to `onFailure` (which aborts the run).
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { errorMessage, TracocoError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Transport } from '../shared/protocol/index.js';
import { servePort } from '../transport/thread-port.js';
import type { WorkerThreadData } from './worker-thread.js';

export interface WorkerThreadsOptions {
  ids: string[];
  transport: Transport;
  backend: string;
  /** Native-kernel threads per worker. */
  threads: number;
  logger: Logger;
  /** Called once, with an error naming the thread, when a thread fails or exits before `stop`. */
  onFailure(err: Error): void;
}

export interface WorkerThreads {
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

export function startWorkerThreads(o: WorkerThreadsOptions): WorkerThreads {
  let stopping = false;
  let failed = false;
  const fail = (err: Error) => {
    if (failed || stopping) return;
    failed = true;
    o.onFailure(err);
  };
  const threads = o.ids.map((workerId) => {
    const { port1, port2 } = new MessageChannel();
    const unserve = servePort(port1, o.transport, o.logger.child({ worker: workerId }));
    const data: WorkerThreadData = { workerId, prefix: o.transport.prefix, backend: o.backend, threads: o.threads, port: port2 };
    const thread = new Worker(new URL('./worker-thread.js', import.meta.url), { workerData: data, transferList: [port2] });
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.on('error', (err) => fail(new TracocoError(`worker thread ${workerId} failed: ${errorMessage(err)}`)));
    thread.on('exit', (code) => {
      unserve();
      fail(new TracocoError(`worker thread ${workerId} exited (code ${code}) before the run finished`));
    });
    return { thread, exited };
  });
  return {
    async stop() {
      stopping = true;
      for (const t of threads) t.thread.postMessage({ kind: 'stop' });
      const grace = setTimeout(() => threads.forEach((t) => void t.thread.terminate()), STOP_GRACE_MS);
      await Promise.all(threads.map((t) => t.exited));
      clearTimeout(grace);
    },
  };
}
