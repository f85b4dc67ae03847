/**
 * One training run's results as an experiment reports them (GUIDE §10), read from its
 * evaluation log (`evals.jsonl`): the final checkpoint (the paper's plain rows), the best
 * evaluation (the "*" rows), per-case metrics of both, and the validation curve. A run of two
 * co-trained models reports the mean of the two, and each model on its own.
 */
import { TracocoError } from '../errors.js';
import { meanMetrics, METRIC_NAMES, type SegmentationMetrics } from '../metrics/index.js';

export type CaseMetrics = SegmentationMetrics & { id: string };

/** One line of `evals.jsonl`: one model's evaluation at one iteration. */
export interface EvalRecord {
  iteration: number;
  model: number;
  mean: SegmentationMetrics;
  cases: CaseMetrics[];
}

export type CheckpointMetrics = SegmentationMetrics & { iteration: number };

export interface RunResult {
  seed: number;
  dir: string;
  /** Mean over the run's models of their final-checkpoint metrics. */
  final: CheckpointMetrics;
  /** The evaluated iteration with the highest mean Dice over the models, and its metrics. */
  best: CheckpointMetrics;
  /** Each model's final and best (its own highest-Dice evaluation). */
  models: Record<string, { final: CheckpointMetrics; best: CheckpointMetrics }>;
  /** Per-case metrics of every model at the final and best checkpoints. */
  cases: (CaseMetrics & { model: number; checkpoint: 'final' | 'best' })[];
  /** Validation Dice (mean over models) at every evaluated iteration. */
  curve: { iteration: number; dice: number }[];
  train_seconds: number;
  seconds_per_iteration: number;
}

/**
 * Parses an evaluation log. A resumed run may evaluate an iteration again: the last record of an
 * (iteration, model) wins. JSON null (an undefined distance) reads back as NaN.
 */
export function parseEvalLog(text: string, file: string): EvalRecord[] {
  const byKey = new Map<string, EvalRecord>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: EvalRecord;
    try {
      r = JSON.parse(line) as EvalRecord;
    } catch {
      throw new TracocoError(`line ${i + 1} is not JSON`, { file });
    }
    if (!Number.isInteger(r.iteration) || !Number.isInteger(r.model) || typeof r.mean !== 'object' || !Array.isArray(r.cases)) {
      throw new TracocoError(`line ${i + 1} is not an evaluation record (iteration, model, mean, cases)`, { file });
    }
    byKey.set(`${r.iteration}/${r.model}`, { iteration: r.iteration, model: r.model, mean: metricsOf(r.mean), cases: r.cases.map((c) => ({ id: c.id, ...metricsOf(c) })) });
  });
  return [...byKey.values()].sort((a, b) => a.iteration - b.iteration || a.model - b.model);
}

/** A run's results from its evaluation records; `models` are the models it trained. */
export function runResult(records: EvalRecord[], o: { seed: number; dir: string; models: number[]; maxIterations: number; trainSeconds: number }): RunResult {
  const ofModel = (m: number) => records.filter((r) => r.model === m);
  const iterations = [...new Set(records.map((r) => r.iteration))].filter((k) => o.models.every((m) => ofModel(m).some((r) => r.iteration === k)));
  const at = (k: number) => o.models.map((m) => ofModel(m).find((r) => r.iteration === k)!);
  if (!iterations.includes(o.maxIterations)) {
    throw new TracocoError(`no evaluation of every model at the final iteration ${o.maxIterations}`, { file: o.dir });
  }
  const curve = iterations.map((k) => ({ iteration: k, dice: mean(at(k).map((r) => r.mean.dice)) }));
  const bestIteration = curve.reduce((b, c) => (c.dice > b.dice ? c : b)).iteration;
  const models: RunResult['models'] = {};
  const cases: RunResult['cases'] = [];
  for (const m of o.models) {
    const final = ofModel(m).find((r) => r.iteration === o.maxIterations)!;
    const best = ofModel(m).reduce((b, r) => (r.mean.dice > b.mean.dice ? r : b));
    models[String(m)] = { final: { ...final.mean, iteration: final.iteration }, best: { ...best.mean, iteration: best.iteration } };
  }
  for (const [checkpoint, k] of [['final', o.maxIterations], ['best', bestIteration]] as const) {
    for (const r of at(k)) cases.push(...r.cases.map((c) => ({ ...c, model: r.model, checkpoint })));
  }
  return {
    seed: o.seed,
    dir: o.dir,
    final: { ...meanMetrics(at(o.maxIterations).map((r) => r.mean)), iteration: o.maxIterations },
    best: { ...meanMetrics(at(bestIteration).map((r) => r.mean)), iteration: bestIteration },
    models,
    cases,
    curve,
    train_seconds: o.trainSeconds,
    seconds_per_iteration: o.trainSeconds / o.maxIterations,
  };
}

function metricsOf(x: object): SegmentationMetrics {
  const out = {} as SegmentationMetrics;
  for (const name of METRIC_NAMES) {
    const v = (x as Record<string, unknown>)[name];
    out[name] = typeof v === 'number' ? v : NaN;
  }
  return out;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
