import type { Command } from 'commander';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { randomBytes } from 'node:crypto';
import { TracocoError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import type { WorkerResources } from '../../shared/protocol/index.js';
import { oneOf, portNumber, positiveInt } from '../options.js';
import { startTelemetry } from '../telemetry.js';
import { exitOnSignals } from '../shutdown.js';
import { addNatsFlags, type NatsFlags } from '../nats-flags.js';

interface WorkerFlags extends NatsFlags {
  metricsPort?: number;
  device?: 'gpu' | 'cpu';
  backend?: string;
  id?: string;
  prefix: string;
  heartbeatMs: number;
}

/** `tracoco worker` (GUIDE §3, §6): hosts one VNet replica in whatever role the coordinator assigns. */
export function registerWorker(program: Command): void {
  const cmd = program
    .command('worker')
    .description('cluster worker: hosts one co-trained VNet replica; takes any role the coordinator assigns')
    .option('--nats <url>', 'NATS server URL(s), comma-separated (env NATS_URL)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', portNumber)
    .option('--device <kind>', 'gpu (requires @tensorflow/tfjs-node-gpu) or cpu; default: the best available', oneOf(['gpu', 'cpu'] as const))
    .option('--backend <name>', 'tensorflow | native | cpu (overrides --device)')
    .option('--id <name>', 'worker id (default: hostname-pid-random)')
    .option('--prefix <name>', 'subject prefix shared with the coordinator', 'tracoco')
    .option('--heartbeat-ms <ms>', 'heartbeat period', positiveInt, 1000);
  addNatsFlags(cmd);
  cmd.action(async (flags: WorkerFlags) => {
    await runWorkerProcess(flags);
  });
}

export async function runWorkerProcess(flags: WorkerFlags): Promise<void> {
  const { natsOptionsFrom } = await import('../../transport/nats-options.js');
  const connection = natsOptionsFrom(flags);
  const workerId = flags.id ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]+$/.test(workerId)) throw new TracocoError('worker ids may hold letters, digits, - and _ only', { flag: '--id' });
  const logger = createLogger({ component: 'worker', worker: workerId });
  const { initBackend } = await import('../../shared/backend/index.js');
  const requested = flags.backend ?? (flags.device === 'gpu' ? 'tensorflow' : undefined);
  const backend = await initBackend(requested);
  if (flags.device === 'cpu' && backend.name === 'tensorflow' && !flags.backend) {
    logger.info('backend.device_cpu', { note: 'tfjs-node runs on the CPU here' });
  }
  logger.info('backend.selected', { backend: backend.name, detail: backend.detail });
  const { connectNatsTransport } = await import('../../transport/nats.js');
  const { TrainingWorker } = await import('../../worker/worker.js');
  const { threadHeartbeat } = await import('../../worker/heartbeat.js');
  const resources: WorkerResources = { device: flags.device ?? backend.device, backend: backend.name };
  logger.info('worker.resources', { ...resources, cpus: availableParallelism(), memory_bytes: totalmem(), hostname: hostname(), pid: process.pid });
  const telemetry = flags.metricsPort !== undefined ? await startTelemetry('worker', backend.name, flags.metricsPort, logger) : null;
  const { workerMetrics } = await import('../../worker/metrics.js');
  const observer = telemetry ? workerMetrics(telemetry.metrics) : undefined;
  const transport = await connectNatsTransport({ connection, prefix: flags.prefix, logger, name: `tracoco-worker-${workerId}`, onRejected: () => observer?.onRejected?.('malformed') });
  const { natsRecipe } = await import('../../transport/nats-recipe.js');
  const heartbeat = threadHeartbeat({ workerId, resources, prefix: flags.prefix, periodMs: flags.heartbeatMs, transport: natsRecipe(flags, process.env) });
  const { createBatchPool } = await import('../../worker/batch-pool.js');
  const pool = createBatchPool();
  const worker = new TrainingWorker({ workerId, transport, resources, logger, heartbeat, observer, batchBuilder: pool?.build, shareCases: pool !== null });
  const close = async () => {
    await worker.stop();
    await pool?.close();
    await transport.close();
    await telemetry?.close();
  };
  exitOnSignals(logger, close, 0);
  await worker.start();
  logger.info('worker.started', { prefix: flags.prefix, device: resources.device });
  await worker.finished;
  logger.info('worker.released', {});
  await close();
}
