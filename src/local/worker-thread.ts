/**
 * Entry of a local-mode worker thread (see worker-threads.ts): one `TrainingWorker` on its own
 * tfjs backend and native-kernel thread count, talking to the main thread's in-process bus through
 * a `PortTransport`. `stop` from the parent stops the worker and closes the port.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { initBackend } from '../shared/backend/index.js';
import { setThreadCount } from '../shared/backend/threads.js';
import { PortTransport } from '../transport/thread-port.js';
import { TrainingWorker } from '../worker/worker.js';

export interface WorkerThreadData {
  workerId: string;
  prefix: string;
  backend: string;
  /** Native-kernel threads of this worker. */
  threads: number;
  port: MessagePort;
}

const data = workerData as WorkerThreadData;
const transport = new PortTransport(data.port, data.prefix);
const logger = transport.logger.child({ worker: data.workerId });

const backend = await initBackend(data.backend);
setThreadCount(data.threads);
const worker = new TrainingWorker({ workerId: data.workerId, transport, resources: { device: 'cpu', backend: backend.name }, logger, heartbeatMs: 0 });
parentPort!.on('message', (m: { kind: string }) => {
  if (m.kind !== 'stop') return;
  void worker
    .stop()
    .then(() => transport.close())
    .finally(() => parentPort!.close());
});
await worker.start();
