/** Worker-side metrics: step phase durations, exchanged bytes and rejected messages. */
import type { TracocoMetrics } from '../shared/telemetry/index.js';
import type { WorkerObserver } from './worker.js';

export function workerMetrics(m: TracocoMetrics): WorkerObserver {
  return {
    onStep: ({ phases, exchangeBytes }) => {
      for (const [phase, seconds] of Object.entries(phases)) m.stepSeconds.observe({ phase }, seconds);
      m.exchangeBytes.inc(exchangeBytes);
    },
    onRejected: () => m.messagesRejected.inc(),
  };
}
