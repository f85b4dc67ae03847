/**
 * The evidence table of GUIDE §10: per method, mean ± sd over seeds of the final checkpoint's
 * metrics (the headline), the best evaluation beside it, and the share of the supervised →
 * supervised-all gap each method closes. `experimentReport` builds `experiment.json`;
 * `experimentTable` prints it for people.
 */
import type { TracocoConfig } from '../config/index.js';
import { METRIC_NAMES, type SegmentationMetrics } from '../metrics/index.js';
import { METHODS, type MethodName } from './methods.js';
import type { RunResult } from './results.js';

/** Mean and sample standard deviation over seeds (sd null with one run); NaN runs are left out. */
export interface Spread {
  mean: number | null;
  sd: number | null;
  runs: (number | null)[];
}

export type MethodReport = Record<keyof SegmentationMetrics, Spread> & {
  label: string;
  /** Best evaluation's metrics over seeds (the paper's "*" rows). */
  best: Record<keyof SegmentationMetrics, Spread>;
  /**
   * (method − supervised) / (supervised-all − supervised) in mean final Dice; null without both
   * baselines, or when the ceiling is not above the baseline (there is no gap to close).
   */
  gap_closed: number | null;
  train_seconds: Spread;
  seconds_per_iteration: Spread;
  /** Per model (two for co-training): mean ± sd of its final and best Dice. */
  models: Record<string, { final_dice: Spread; best_dice: Spread }>;
  runs: RunResult[];
};

export interface ExperimentReport {
  config: TracocoConfig;
  seeds: number[];
  methods: Partial<Record<MethodName, MethodReport>>;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite);
  const runs = values.map((v) => (Number.isFinite(v) ? v : null));
  if (finite.length === 0) return { mean: null, sd: null, runs };
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const sd = finite.length > 1 ? Math.sqrt(finite.reduce((a, v) => a + (v - mean) ** 2, 0) / (finite.length - 1)) : null;
  return { mean, sd, runs };
}

export function experimentReport(config: TracocoConfig, seeds: number[], results: { method: MethodName; runs: RunResult[] }[]): ExperimentReport {
  const methods: ExperimentReport['methods'] = {};
  for (const { method, runs } of results) {
    const metrics = (pick: (r: RunResult) => SegmentationMetrics) =>
      Object.fromEntries(METRIC_NAMES.map((name) => [name, spread(runs.map((r) => pick(r)[name]))])) as Record<keyof SegmentationMetrics, Spread>;
    const modelIds = [...new Set(runs.flatMap((r) => Object.keys(r.models)))];
    methods[method] = {
      label: METHODS[method].label,
      ...metrics((r) => r.final),
      best: metrics((r) => r.best),
      gap_closed: null,
      train_seconds: spread(runs.map((r) => r.train_seconds)),
      seconds_per_iteration: spread(runs.map((r) => r.seconds_per_iteration)),
      models: Object.fromEntries(
        modelIds.map((m) => [m, { final_dice: spread(runs.map((r) => r.models[m]?.final.dice ?? NaN)), best_dice: spread(runs.map((r) => r.models[m]?.best.dice ?? NaN)) }]),
      ),
      runs,
    };
  }
  const low = methods.supervised?.dice.mean;
  const high = methods['supervised-all']?.dice.mean;
  for (const m of Object.values(methods)) {
    if (low != null && high != null && high > low && m.dice.mean !== null) m.gap_closed = (m.dice.mean - low) / (high - low);
  }
  return { config, seeds, methods };
}

export function experimentTable(report: ExperimentReport, title: string): string {
  const n = report.seeds.length;
  const nameWidth = Math.max(18, ...Object.keys(report.methods).map((name) => name.length));
  const head = [
    'method'.padEnd(nameWidth),
    'Dice'.padStart(16),
    'Jaccard'.padStart(16),
    '95HD'.padStart(13),
    'ASD'.padStart(13),
    'best Dice'.padStart(16),
    'gap closed'.padStart(10),
    'train s'.padStart(8),
  ].join(' ');
  const rows = Object.entries(report.methods).map(([name, m]) =>
    [
      name.padEnd(nameWidth),
      pm(m.dice, 4).padStart(16),
      pm(m.jaccard, 4).padStart(16),
      pm(m.hd95, 2).padStart(13),
      pm(m.asd, 2).padStart(13),
      pm(m.best.dice, 4).padStart(16),
      (m.gap_closed === null ? '—' : `${(100 * m.gap_closed).toFixed(0)}%`).padStart(10),
      (m.train_seconds.mean ?? 0).toFixed(0).padStart(8),
    ].join(' '),
  );
  const perModel = Object.entries(report.methods)
    .filter(([, m]) => Object.keys(m.models).length > 1)
    .map(([name, m]) => `  ${name}: ${Object.entries(m.models).map(([k, v]) => `model ${k} ${pm(v.final_dice, 4)} (best ${pm(v.best_dice, 4)})`).join(', ')}`);
  const setup = `${title}; final checkpoints (mean ± sd over ${n} seed${n === 1 ? '' : 's'}: ${report.seeds.join(', ')}); 95HD and ASD in voxels of the stored grid`;
  return [setup, head, '-'.repeat(head.length), ...rows, ...(perModel.length ? ['Dice per co-trained model:', ...perModel] : [])].join('\n');
}

function pm(s: Spread, digits: number): string {
  if (s.mean === null) return 'n/a';
  return s.sd === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;
}
