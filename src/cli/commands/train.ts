import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig, configToYaml, type ConfigInput } from '../../shared/config/index.js';
import { createLogger } from '../../shared/log.js';
import { nonNegativeInt, positiveInt, portNumber, printResult } from '../options.js';
import { startTelemetry } from '../telemetry.js';
import { addNatsFlags, type NatsFlags } from '../../transport/nats-options.js';

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
    .requiredOption('--config <file|preset>', 'YAML config file or preset (la, pancreas, phantom)')
    .option('--data <dir>', "dataset root (overrides the config's data.root)")
    .option('--out <dir>', 'run directory (default runs/<config name>); an existing run there resumes')
    .option('--nats <url>', 'run as the cluster coordinator on this NATS server')
    .option('--max-iterations <n>', 'override train.max_iterations', positiveInt)
    .option('--labeled <n>', 'override data.labeled', positiveInt)
    .option('--seed <s>', 'override seed', nonNegativeInt)
    .option('--backend <name>', 'tensorflow | native | cpu (default: best available)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', portNumber)
    .option('--set <path=value>', 'override any config field, e.g. --set train.lr=0.01 (repeatable)', collect, [])
    .option('--print-config', 'print the resolved config as YAML and exit')
    .option('--json', 'print the run summary as one JSON object');
  addNatsFlags(cmd);
  cmd.action(async (flags: TrainFlags) => {
    const config = loadConfig({ configArg: flags.config, flags: overridesOf(flags), set: flags.set });
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function overridesOf(flags: TrainFlags): ConfigInput {
  const o: ConfigInput = {};
  if (flags.data !== undefined) o.data = { root: flags.data };
  if (flags.labeled !== undefined) o.data = { ...o.data, labeled: flags.labeled };
  if (flags.maxIterations !== undefined) o.train = { max_iterations: flags.maxIterations };
  if (flags.seed !== undefined) o.seed = flags.seed;
  return o;
}

function summaryText(out: string, s: { iteration: number; best: { dice: number; role: number; iteration: number } | null }): string {
  const best = s.best ? `best Dice ${s.best.dice.toFixed(4)} (model ${s.best.role}, iteration ${s.best.iteration})` : 'no evaluation';
  return `trained ${s.iteration} iterations; ${best}; outputs in ${out}`;
}
