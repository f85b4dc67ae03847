/**
 * The Prometheus metric set of tracoco (GUIDE §7), defined once for the coordinator, the workers
 * and local mode. Names and labels are a contract with the Grafana dashboards and alert rules.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'tracoco_';
import { LOSS_TERMS, STEP_PHASES } from '../names.js';
import { nativeFailureCounts } from '../backend/failures.js';

export { LOSS_TERMS, STEP_PHASES };

export interface TracocoMetrics {
  registry: Registry;
  stepSeconds: Histogram<'phase'>;
  loss: Gauge<'model' | 'term'>;
  consistencyWeight: Gauge;
  learningRate: Gauge;
  confidentRatio: Gauge<'model' | 'kind'>;
  evalDice: Gauge<'model'>;
  evalJaccard: Gauge<'model'>;
  evalHd95: Gauge<'model'>;
  evalAsd: Gauge<'model'>;
  iterations: Counter;
  workers: Gauge<'state'>;
  heartbeats: Counter;
  exchangeBytes: Counter;
  messagesRejected: Counter;
  recoveries: Counter;
  backendInfo: Gauge<'backend' | 'component'>;
  nativeFailures: Counter<'kernel'>;
}

/**
 * Which process exports what: the coordinator the run's state, workers their step timings and
 * traffic, a local `train` process (coordinator and workers in one) everything.
 */
export type MetricsComponent = 'coordinator' | 'worker' | 'local';

/** A registry with the component's tracoco metrics and Node's default process metrics. */
export function createMetrics(component: MetricsComponent, backend: string | null): TracocoMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const p = METRIC_PREFIX;
  const all = [registry];
  // Metrics of the other component are still created (callers need not check), just not exported.
  const run = component === 'worker' ? [] : all;
  const step = component === 'coordinator' ? [] : all;
  const m: TracocoMetrics = {
    registry,
    stepSeconds: new Histogram({
      name: `${p}step_seconds`,
      help: 'Seconds per training step phase (per worker; local mode: per model replica)',
      labelNames: ['phase'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: step,
    }),
    loss: new Gauge({ name: `${p}loss`, help: 'Loss of the last step per model and term', labelNames: ['model', 'term'], registers: run }),
    consistencyWeight: new Gauge({ name: `${p}consistency_weight`, help: 'Weight w(t) of the unsupervised terms', registers: run }),
    learningRate: new Gauge({ name: `${p}learning_rate`, help: 'SGD learning rate of the last step', registers: run }),
    confidentRatio: new Gauge({
      name: `${p}pseudo_label_confident_ratio`,
      help: 'Fraction of unlabelled voxels in the CRC confidence masks',
      labelNames: ['model', 'kind'],
      registers: run,
    }),
    evalDice: new Gauge({ name: `${p}eval_dice`, help: 'Mean Dice of the last evaluation', labelNames: ['model'], registers: run }),
    evalJaccard: new Gauge({ name: `${p}eval_jaccard`, help: 'Mean Jaccard of the last evaluation', labelNames: ['model'], registers: run }),
    evalHd95: new Gauge({ name: `${p}eval_hd95`, help: 'Mean 95% Hausdorff distance (voxels) of the last evaluation', labelNames: ['model'], registers: run }),
    evalAsd: new Gauge({ name: `${p}eval_asd`, help: 'Mean average surface distance (voxels) of the last evaluation', labelNames: ['model'], registers: run }),
    iterations: new Counter({ name: `${p}iterations_total`, help: 'Training iterations completed (replayed ones after a recovery are not counted twice)', registers: run }),
    workers: new Gauge({ name: `${p}workers`, help: 'Workers known to the coordinator by state', labelNames: ['state'], registers: run }),
    heartbeats: new Counter({ name: `${p}heartbeats_total`, help: 'Worker heartbeats received by the coordinator', registers: run }),
    exchangeBytes: new Counter({ name: `${p}exchange_bytes_total`, help: 'Bytes sent in peer exchange and gradient all-reduce', registers: step }),
    messagesRejected: new Counter({ name: `${p}messages_rejected_total`, help: 'Malformed, oversized or unexpected messages dropped', registers: all }),
    recoveries: new Counter({ name: `${p}recoveries_total`, help: 'Rollbacks to the last checkpoint after a lost worker or failed step', registers: run }),
    backendInfo: new Gauge({ name: `${p}backend_info`, help: 'Compute backend in use (value 1)', labelNames: ['backend', 'component'], registers: all }),
    nativeFailures: new Counter({
      name: `${p}native_failures_total`,
      help: 'Native kernel calls that failed and were computed by the cpu kernel instead',
      labelNames: ['kernel'],
      registers: all,
      // Read at scrape time from the backend's own count.
      collect(this: Counter<'kernel'>) {
        this.reset();
        for (const [kernel, n] of Object.entries(nativeFailureCounts())) this.inc({ kernel }, n);
      },
    }),
  };
  if (backend) m.backendInfo.set({ backend, component }, 1);
  // Series that exist from the start, so dashboards and alerts see zeros rather than no data.
  m.iterations.inc(0);
  m.exchangeBytes.inc(0);
  m.messagesRejected.inc(0);
  m.recoveries.inc(0);
  m.heartbeats.inc(0);
  return m;
}
