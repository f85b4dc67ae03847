/**
 * Training progress for people: a progress bar with loss and ETA on a terminal, one structured
 * log line every few iterations otherwise (CI, files, pipes).
 */
import cliProgress from 'cli-progress';
import type { TrainingObserver } from '../coordinator/observer.js';
import type { Logger } from '../shared/log.js';

export interface ProgressOptions {
  tty?: boolean;
  label?: string;
  /** Draw the run's bar as one line of this multi-bar (e.g. under an experiment's bar). */
  multibar?: cliProgress.MultiBar;
}

export function progressObserver(logger: Logger, options: ProgressOptions = {}): TrainingObserver {
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const multibar = options.multibar;
  let bar: cliProgress.SingleBar | null = null;
  let every = 1;
  let last = 0;
  const label = options.label ?? 'train';
  // Every line after the start carries the run id.
  let log = logger;
  return {
    onStart: ({ iteration, maxIterations, runId, resumed }) => {
      log = logger.child({ run: runId });
      log.info('train.start', { iteration, max_iterations: maxIterations, resumed });
      every = Math.max(1, Math.floor(maxIterations / 50));
      const format = `${label} |{bar}| {value}/{total} it | loss m1 {m1} m2 {m2} | {speed} s/it | ETA {eta_formatted}`;
      const payload = { m1: '-', m2: '-', speed: '-' };
      if (multibar) {
        bar = multibar.create(maxIterations, iteration, payload, { format });
      } else if (tty) {
        bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(maxIterations, iteration, payload);
      }
    },
    onStep: (r) => {
      const m1 = r.terms[1]?.total;
      const m2 = r.terms[2]?.total;
      // A replay after a rollback: log from its first step again.
      if (r.iteration <= last) last = r.iteration - every;
      if (bar) {
        bar.update(r.iteration, { m1: m1?.toFixed(3) ?? '-', m2: m2?.toFixed(3) ?? '-', speed: r.seconds.toFixed(2) });
      } else if (r.iteration - last >= every || r.iteration === r.maxIterations) {
        last = r.iteration;
        log.info('train.step', {
          iteration: r.iteration,
          max_iterations: r.maxIterations,
          lr: round(r.lr),
          consistency_weight: round(r.consistencyWeight),
          loss_model1: m1 === undefined ? undefined : round(m1),
          loss_model2: m2 === undefined ? undefined : round(m2),
          terms_model1: r.terms[1] ? roundAll(r.terms[1]) : undefined,
          terms_model2: r.terms[2] ? roundAll(r.terms[2]) : undefined,
          seconds: round(r.seconds),
          // The slowest replica's seconds per phase, and the bytes the replicas exchanged.
          phases: roundAll(r.phases),
          exchange_bytes: r.exchangeBytes,
        });
      }
    },
    onEval: (e) => {
      const fields = { iteration: e.iteration, model: e.role, dice: round(e.mean.dice), jaccard: round(e.mean.jaccard), hd95: round(e.mean.hd95), asd: round(e.mean.asd), best: e.best };
      if (multibar) {
        multibar.log(`${label}: eval at ${e.iteration}, model ${e.role}: Dice ${e.mean.dice.toFixed(4)}\n`);
        return;
      }
      bar?.stop();
      log.info('train.eval', fields);
      if (bar && e.iteration < (bar.getTotal?.() ?? Infinity)) bar.start(bar.getTotal(), e.iteration);
    },
    onRecovery: (r) => log.warn('train.recovery', { reason: r.reason, rollback_to: r.iteration, epoch: r.epoch }),
    onFinish: ({ iteration, best }) => {
      if (multibar && bar) multibar.remove(bar);
      else bar?.stop();
      log.info('train.finish', { iteration, best_dice: best ? round(best.dice) : null, best_model: best?.role, best_iteration: best?.iteration });
    },
  };
}

function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(5)) : v;
}

function roundAll(terms: object): Record<string, number> {
  return Object.fromEntries(Object.entries(terms).filter(([k]) => k !== 'total').map(([k, v]) => [k, round(v as number)]));
}
