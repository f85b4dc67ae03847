import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig, type TracocoConfig } from '../../shared/config/index.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { nonNegativeInt, portNumber, positiveInt, printResult } from '../options.js';
import { addConfigFlag, addRunConfigFlags, runConfigOverrides, type RunConfigFlags } from '../run-flags.js';
import { startTelemetry } from '../telemetry.js';
import { exitOnSignals } from '../shutdown.js';
import { addNatsFlags, type NatsFlags } from '../nats-flags.js';

type CoordinatorFlags = NatsFlags & RunConfigFlags & {
  config: string;
  workers: number;
  out?: string;
  metricsPort?: number;
  metricsLingerS: number;
  prefix: string;
  heartbeatTimeoutMs: number;
  stepTimeoutS: number;
  shutdownWorkers?: boolean;
  json?: boolean;
};

/** `tracoco coordinator` (GUIDE §3, §6): drives a cluster run; exits 0 when the run is done. */
export function registerCoordinator(program: Command): void {
  const cmd = program
    .command('coordinator')
    .description('cluster coordinator: waits for N workers, places model replicas in pairs, drives the run; exits 0 when done')
    .option('--nats <url>', 'NATS server URL(s), comma-separated (env NATS_URL)')
    .option('--workers <n>', 'workers to wait for (2 per pair)', positiveInt, 2)
    .option('--out <dir>', 'run directory for model files and evaluation slices (default runs/<config name>)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', portNumber)
    .option('--metrics-linger-s <s>', 'after the run, keep serving /metrics this long so Prometheus scrapes the final values', nonNegativeInt, 0)
    .option('--prefix <name>', 'subject prefix shared with the workers (also names the JetStream buckets)', 'tracoco')
    .option('--heartbeat-timeout-ms <ms>', 'a worker silent this long is replaced', positiveInt, 10_000)
    .option('--step-timeout-s <s>', 'a step taking longer is retried from the last checkpoint', positiveInt, 3600)
    .option('--shutdown-workers', 'tell the workers to exit when the run is done')
    .option('--json', 'print the run summary as one JSON object');
  addConfigFlag(cmd);
  addRunConfigFlags(cmd);
  addNatsFlags(cmd);
  cmd.action(async (flags: CoordinatorFlags) => {
    const config = loadConfig({ configArg: flags.config, flags: runConfigOverrides(flags), set: flags.set });
    const summary = await runCoordinatorCommand({ ...flags, config, out: resolve(flags.out ?? `runs/${config.name}`) });
    printResult(Boolean(flags.json), summary, () => `run ${summary.runId}: ${summary.iteration} iterations, best Dice ${summary.best?.dice.toFixed(4) ?? 'n/a'}, ${summary.recoveries} recoveries`);
  });
}

export interface CoordinatorCommandOptions extends NatsFlags {
  config: TracocoConfig;
  out: string;
  workers: number;
  metricsPort?: number;
  /** Seconds /metrics stays up after the run (a final scrape sees the final counts). */
  metricsLingerS?: number;
  prefix?: string;
  heartbeatTimeoutMs?: number;
  stepTimeoutS?: number;
  shutdownWorkers?: boolean;
  logger?: Logger;
}

export async function runCoordinatorCommand(o: CoordinatorCommandOptions) {
  const logger = o.logger ?? createLogger({ component: 'coordinator' });
  const { natsOptionsFrom } = await import('../../transport/nats-options.js');
  const connection = natsOptionsFrom(o);
  const { openDataset } = await import('../../shared/io/index.js');
  const { loadTrainingData } = await import('../../coordinator/training-data.js');
  const { Coordinator } = await import('../../coordinator/coordinator.js');
  const { combineObservers } = await import('../../coordinator/observer.js');
  const { coordinatorMetrics } = await import('../../coordinator/metrics.js');
  const { progressObserver } = await import('../progress.js');
  const { connectNatsTransport } = await import('../../transport/nats.js');
  const telemetry = o.metricsPort !== undefined ? await startTelemetry('coordinator', 'none', o.metricsPort, logger) : null;
  const metricsObserver = telemetry ? coordinatorMetrics(telemetry.metrics) : undefined;
  const data = await loadTrainingData(openDataset(o.config.data.root), o.config, logger);
  const transport = await connectNatsTransport({
    connection,
    prefix: o.prefix ?? 'tracoco',
    logger,
    name: 'tracoco-coordinator',
    onRejected: (r) => metricsObserver?.onRejected?.(r.message),
  });
  // Interrupted, the run is not finished: exit 143 (128 + SIGTERM); it resumes from its last checkpoint.
  exitOnSignals(logger, async () => {
    await transport.close();
    await telemetry?.close();
  }, 143);
  try {
    const coordinator = new Coordinator({
      transport,
      config: o.config,
      data,
      workers: o.workers,
      out: o.out,
      logger,
      observer: combineObservers(progressObserver(logger), metricsObserver),
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      stepTimeoutMs: (o.stepTimeoutS ?? 3600) * 1000,
      shutdownWorkers: o.shutdownWorkers,
      storeCases: true,
      confirmAssignments: true,
    });
    return await coordinator.run();
  } finally {
    await transport.close();
    if (telemetry && (o.metricsLingerS ?? 0) > 0) {
      logger.info('metrics.linger', { seconds: o.metricsLingerS });
      await new Promise((r) => setTimeout(r, o.metricsLingerS! * 1000));
    }
    await telemetry?.close();
  }
}
