/** Coordinator-side metrics: the run's losses, schedules, evaluations, workers and recoveries. */
import type { TracocoMetrics } from '../shared/telemetry/index.js';
import { LOSS_TERMS } from '../shared/telemetry/index.js';
import type { TrainingObserver } from './observer.js';

export function coordinatorMetrics(m: TracocoMetrics): TrainingObserver {
  let counted = 0;
  return {
    onStart: ({ iteration }) => {
      counted = iteration;
    },
    onStep: (r) => {
      // A replay after a rollback repeats iterations: count each iteration once.
      if (r.iteration > counted) {
        m.iterations.inc(r.iteration - counted);
        counted = r.iteration;
      }
      m.learningRate.set(r.lr);
      m.consistencyWeight.set(r.consistencyWeight);
      for (const [role, terms] of Object.entries(r.terms)) {
        for (const term of LOSS_TERMS) m.loss.set({ model: role, term }, terms![term]);
      }
      for (const [role, ratio] of Object.entries(r.confidentRatio)) {
        m.confidentRatio.set({ model: role, kind: 'positive' }, ratio!.positive);
        m.confidentRatio.set({ model: role, kind: 'negative' }, ratio!.negative);
      }
    },
    onEval: (e) => {
      const model = String(e.role);
      m.evalDice.set({ model }, e.mean.dice);
      m.evalJaccard.set({ model }, e.mean.jaccard);
      if (Number.isFinite(e.mean.hd95)) m.evalHd95.set({ model }, e.mean.hd95);
      if (Number.isFinite(e.mean.asd)) m.evalAsd.set({ model }, e.mean.asd);
    },
    onWorkers: (counts) => {
      for (const [state, n] of Object.entries(counts)) m.workers.set({ state }, n);
    },
    onHeartbeat: () => m.heartbeats.inc(),
    onRecovery: () => m.recoveries.inc(),
    onRejected: () => m.messagesRejected.inc(),
  };
}
