import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig, configToYaml } from '../../shared/config/index.js';
import { createLogger } from '../../shared/log.js';
import { portNumber, printResult } from '../options.js';
import { addConfigFlag, addRunConfigFlags, runConfigOverrides } from '../run-flags.js';
import { startTelemetry } from '../telemetry.js';
import { addNatsFlags, type NatsFlags } from '../nats-flags.js';

interface TrainFlags extends NatsFlags {
  config: string;
  data?: string;
  out?: string;
  nats?: string;
  maxIterations?: number;
  labeled?: number;
  seed?: number;
  backend?: string;
  metricsPort?: number;
  set: string[];
  printConfig?: boolean;
  json?: boolean;
}

/** `tracoco train` (GUIDE §3): local mode unless --nats. */
export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('train two co-trained VNets (local mode unless --nats)')
    .option('--out <dir>', 'run directory (default runs/<config name>); an existing run there resumes')
    .option('--nats <url>', 'run as the cluster coordinator on this NATS server')
    .option('--backend <name>', 'tensorflow | native | cpu (default: best available)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', portNumber)
    .option('--print-config', 'print the resolved config as YAML and exit')
    .option('--json', 'print the run summary as one JSON object');
  addConfigFlag(cmd);
  addRunConfigFlags(cmd);
  addNatsFlags(cmd);
  cmd.action(async (flags: TrainFlags) => {
    const config = loadConfig({ configArg: flags.config, flags: runConfigOverrides(flags), set: flags.set });
    if (flags.printConfig) {
      process.stdout.write(configToYaml(config));
      return;
    }
    const logger = createLogger({ component: 'train' });
    const out = resolve(flags.out ?? `runs/${config.name}`);
    if (flags.nats) {
      // Cluster mode: this process coordinates; workers run `tracoco worker`.
      const { runCoordinatorCommand } = await import('./coordinator.js');
      const { config: _file, ...natsFlags } = flags;
      const summary = await runCoordinatorCommand({ ...natsFlags, config, out, workers: 2, metricsPort: flags.metricsPort, logger });
      printResult(Boolean(flags.json), { out, ...summary }, () => summaryText(out, summary));
      return;
    }
    // Local mode computes here; a coordinator (above) only plans, so it needs no backend.
    const { initBackend } = await import('../../shared/backend/index.js');
    const backend = await initBackend(flags.backend);
    logger.info('backend.selected', { backend: backend.name, detail: backend.detail, skipped: backend.skipped });
    const { runLocal } = await import('../../local/run-local.js');
    const { progressObserver } = await import('../progress.js');
    const { combineObservers } = await import('../../coordinator/observer.js');
    const telemetry = flags.metricsPort !== undefined ? await startTelemetry('local', backend.name, flags.metricsPort, logger) : null;
    const { coordinatorMetrics } = await import('../../coordinator/metrics.js');
    const { workerMetrics } = await import('../../worker/metrics.js');
    try {
      const summary = await runLocal({
        config,
        out,
        logger,
        backend: backend.name,
        observer: combineObservers(progressObserver(logger), telemetry ? coordinatorMetrics(telemetry.metrics) : undefined),
        workerObserver: telemetry ? workerMetrics(telemetry.metrics) : undefined,
      });
      printResult(Boolean(flags.json), { out, ...summary }, () => summaryText(out, summary));
    } finally {
      await telemetry?.close();
    }
  });
}

function summaryText(out: string, s: { iteration: number; best: { dice: number; role: number; iteration: number } | null; evals: { iteration: number; role: number; mean: { dice: number } }[] }): string {
  const best = s.best ? `best Dice ${s.best.dice.toFixed(4)} (model ${s.best.role}, iteration ${s.best.iteration})` : 'no evaluation';
  const final = s.evals.filter((e) => e.iteration === s.iteration).map((e) => `model ${e.role} ${e.mean.dice.toFixed(4)}`);
  return `trained ${s.iteration} iterations; final checkpoint Dice ${final.length ? final.join(', ') : 'not evaluated'}; ${best}; outputs in ${out}`;
}
