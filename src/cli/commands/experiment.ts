import type { Command } from 'commander';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { loadConfig, type TracocoConfig } from '../../shared/config/index.js';
import { METHOD_NAMES, parseMethods, type MethodName } from '../../shared/experiment/methods.js';
import { experimentTable, type ExperimentReport } from '../../shared/experiment/report.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { nonNegativeInt, positiveInt, printResult } from '../options.js';
import { addConfigFlag, addRunConfigFlags, runConfigOverrides, type RunConfigFlags } from '../run-flags.js';

interface ExperimentFlags extends RunConfigFlags {
  config: string;
  methods: string;
  seeds: number;
  firstSeed: number;
  out?: string;
  backend?: string;
  json?: boolean;
}

export const DEFAULT_METHODS: MethodName[] = ['supervised', 'tracoco', 'supervised-all'];

/** `tracoco experiment` (GUIDE §3, §10): methods × seeds, the evidence table, experiment.json and dice.png. */
export function registerExperiment(program: Command): void {
  const cmd = program
    .command('experiment')
    .description('train methods x seeds (each a resumable run), evaluate with the reference protocol, print mean ± sd per method; writes experiment.json and dice.png')
    .option('--methods <list>', `comma-separated, from ${METHOD_NAMES.join(', ')}`, DEFAULT_METHODS.join(','))
    .option('--seeds <n>', 'seeds per method', positiveInt, 1)
    .option('--first-seed <s>', 'seeds are first-seed, first-seed + 1, ...', nonNegativeInt, 0)
    .option('--out <dir>', 'experiment directory (default runs/experiment-<config name>); an existing one resumes')
    .option('--backend <name>', 'tensorflow | native | cpu (default: best available)')
    .option('--json', 'print experiment.json on stdout');
  addConfigFlag(cmd, ': the base every method starts from');
  addRunConfigFlags(cmd, ['seed']);
  cmd.action(async (flags: ExperimentFlags) => {
    const methods = parseMethods(flags.methods);
    const config = loadConfig({ configArg: flags.config, flags: runConfigOverrides(flags), set: flags.set });
    const out = resolve(flags.out ?? `runs/experiment-${config.name}`);
    const seeds = Array.from({ length: flags.seeds }, (_, i) => flags.firstSeed + i);
    const report = await experimentCommand({ config, methods, seeds, out, backend: flags.backend, logger: createLogger({ component: 'experiment' }) });
    printResult(Boolean(flags.json), report, () => `${experimentTable(report, `${config.name} on ${config.data.root}, ${config.data.labeled} labelled cases`)}\n\nexperiment.json and dice.png in ${out}`);
  });
}

export interface ExperimentCommandOptions {
  config: TracocoConfig;
  methods: MethodName[];
  seeds: number[];
  out: string;
  backend?: string;
  logger: Logger;
  /** Label of the experiment's own bar. */
  label?: string;
  /** Retrain runs whose directory holds another config (the demo) instead of failing. */
  replaceStale?: boolean;
}

/** Runs an experiment with progress: one bar for the experiment, one for the current run (structured log lines off a terminal). */
export async function experimentCommand(o: ExperimentCommandOptions): Promise<ExperimentReport> {
  const { initBackend } = await import('../../shared/backend/index.js');
  const { runExperiment } = await import('../../local/experiment.js');
  const { progressObserver } = await import('../progress.js');
  const backend = await initBackend(o.backend);
  o.logger.info('backend.selected', { backend: backend.name, detail: backend.detail });
  const tty = Boolean(process.stderr.isTTY);
  const multibar = tty ? new cliProgress.MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic) : null;
  const overall = multibar?.create(o.methods.length * o.seeds.length, 0, {}, { format: `${o.label ?? 'experiment'} |{bar}| {value}/{total} runs | {current}` });
  // On a terminal the bars are the progress; run logs below warnings would break them up.
  const runLogger = tty ? createLogger({ component: 'experiment' }, { level: 'warn' }) : o.logger;
  try {
    return await runExperiment({
      config: o.config,
      methods: o.methods,
      seeds: o.seeds,
      out: o.out,
      backend: backend.name,
      logger: runLogger,
      replaceStale: o.replaceStale,
      onRun: (run, index, total) => {
        overall?.update(index, { current: `${run.method} seed ${run.seed}` });
        if (!tty) o.logger.info('experiment.run', { run: index + 1, runs: total, method: run.method, seed: run.seed, dir: run.dir });
        return progressObserver(runLogger, { label: `${run.method} s${run.seed}`.padEnd(22), multibar: multibar ?? undefined, tty });
      },
      onRunDone: (_run, index) => overall?.update(index + 1, { current: 'done' }),
    });
  } finally {
    multibar?.stop();
  }
}
