/**
 * `tracoco experiment` (GUIDE §3, §10): methods × seeds, each one resumable local `train` run in
 * `<out>/<method>/seed-<k>`. A finished run is read back, an interrupted one resumes from its last
 * checkpoint, so an interrupted experiment continues where it stopped. The results go to
 * `<out>/experiment.json` and a plot of validation Dice against iteration to `<out>/dice.png`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { configToYaml, type TracocoConfig } from '../shared/config/index.js';
import { writeFileAtomic, openDataset } from '../shared/io/index.js';
import type { Logger } from '../shared/log.js';
import { combineObservers, type TrainingObserver } from '../coordinator/observer.js';
import { methodConfig, methodModels, type MethodName } from '../shared/experiment/methods.js';
import { experimentReport, type ExperimentReport } from '../shared/experiment/report.js';
import { parseEvalLog, runResult, type RunResult } from '../shared/experiment/results.js';
import { diceChart } from '../shared/experiment/chart.js';
import { runLocal } from './run-local.js';

export interface ExperimentRun {
  method: MethodName;
  seed: number;
  dir: string;
  config: TracocoConfig;
}

export interface ExperimentOptions {
  /** The base config every method starts from. */
  config: TracocoConfig;
  methods: MethodName[];
  seeds: number[];
  out: string;
  backend: string;
  logger: Logger;
  /** A run directory holding a run of another config is deleted and trained anew (the demo), instead of an error. */
  replaceStale?: boolean;
  /** Progress of a run about to train (index in 0..total-1); returns its observer. */
  onRun?: (run: ExperimentRun, index: number, total: number, resumed: boolean) => TrainingObserver | undefined;
  onRunDone?: (run: ExperimentRun, index: number, total: number) => void;
}

/** Training seconds are kept per run, so a resumed run adds to what it had spent. */
const TIMING_FILE = 'timing.json';

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentReport> {
  const trainCases = openDataset(o.config.data.root).ids('train').length;
  // Seed-major: every method gets its first seed before any gets a second.
  const runs: ExperimentRun[] = o.seeds.flatMap((seed) =>
    o.methods.map((method) => ({ method, seed, dir: join(o.out, method, `seed-${seed}`), config: methodConfig(o.config, method, seed, trainCases) })),
  );
  mkdirSync(o.out, { recursive: true });
  for (const [i, run] of runs.entries()) {
    const log = o.logger.child({ method: run.method, seed: run.seed });
    if (o.replaceStale && isStale(run)) {
      log.info('experiment.run.replaced', { dir: run.dir, reason: 'config changed' });
      rmSync(run.dir, { recursive: true, force: true });
    }
    if (isFinished(run.dir)) {
      log.info('experiment.run.done_before', { dir: run.dir });
    } else {
      const resumed = existsSync(join(run.dir, '.store'));
      log.info('experiment.run.start', { run: i + 1, runs: runs.length, dir: run.dir, resumed });
      await trainRun(run, o, log, o.onRun?.(run, i, runs.length, resumed));
    }
    o.onRunDone?.(run, i, runs.length);
  }
  const results = o.methods.map((method) => ({ method, runs: runs.filter((r) => r.method === method).map(readRun) }));
  const report = experimentReport(o.config, o.seeds, results);
  await writeFileAtomic(join(o.out, 'experiment.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFileAtomic(join(o.out, 'dice.png'), diceChart(report));
  return report;
}

async function trainRun(run: ExperimentRun, o: ExperimentOptions, log: Logger, observer: TrainingObserver | undefined): Promise<void> {
  mkdirSync(run.dir, { recursive: true });
  const before = spentSeconds(run.dir);
  const t0 = performance.now();
  const save = () => writeFileAtomic(join(run.dir, TIMING_FILE), JSON.stringify({ seconds: before + (performance.now() - t0) / 1000 }) + '\n');
  // Elapsed time is saved with every checkpoint, so a killed run loses at most one interval of it.
  const timing: TrainingObserver = { onCheckpoint: () => void save().catch(() => {}) };
  await runLocal({ config: run.config, out: run.dir, logger: log, backend: o.backend, observer: combineObservers(observer, timing) });
  await save();
}

function isStale(run: ExperimentRun): boolean {
  const file = join(run.dir, 'config.yaml');
  return existsSync(file) && readFileSync(file, 'utf8') !== configToYaml(run.config);
}

function isFinished(dir: string): boolean {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { finished?: boolean }).finished === true;
  } catch {
    return false;
  }
}

function spentSeconds(dir: string): number {
  const file = join(dir, TIMING_FILE);
  if (!existsSync(file)) return 0;
  try {
    const s = (JSON.parse(readFileSync(file, 'utf8')) as { seconds?: number }).seconds;
    return typeof s === 'number' && Number.isFinite(s) ? s : 0;
  } catch {
    return 0;
  }
}

function readRun(run: ExperimentRun): RunResult {
  const file = join(run.dir, 'evals.jsonl');
  const records = parseEvalLog(existsSync(file) ? readFileSync(file, 'utf8') : '', file);
  return runResult(records, {
    seed: run.seed,
    dir: run.dir,
    models: methodModels(run.config),
    maxIterations: run.config.train.max_iterations,
    trainSeconds: spentSeconds(run.dir),
  });
}
