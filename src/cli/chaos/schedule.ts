/**
 * The fault schedule of a chaos run (pure): which fault, at which iteration, against which
 * process, all drawn from a seed so a failing schedule can be replayed exactly.
 */
import { Random } from '../../shared/random.js';

export const FAULT_KINDS = ['kill-worker', 'kill-coordinator', 'restart-nats', 'pause-worker', 'late-join'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** Injected once the run has completed this many iterations (or at once, if it already has). */
  atIteration: number;
  /** For worker faults: the index into the live workers (taken modulo their number). */
  target: number;
  /** For `pause-worker`: how long the worker stays stopped (SIGSTOP … SIGCONT). */
  pauseMs: number;
  /** For `restart-nats`: how long the server stays down. */
  downMs: number;
}

export interface ScheduleOptions {
  seed: number;
  faults: number;
  maxIterations: number;
  /** The coordinator's heartbeat timeout: pauses straddle it, so some are noticed and some not. */
  heartbeatTimeoutMs: number;
  kinds?: readonly FaultKind[];
}

/**
 * `faults` faults at iterations in [1, maxIterations − 1], in order. Kinds go round a seeded
 * permutation of `kinds`, so every kind occurs once `faults` reaches their number.
 */
export function chaosSchedule(o: ScheduleOptions): Fault[] {
  const kinds = o.kinds ?? FAULT_KINDS;
  if (kinds.length === 0) throw new RangeError('chaos schedule: no fault kinds');
  if (o.maxIterations < 2 && o.faults > 0) throw new RangeError(`chaos schedule: max_iterations ${o.maxIterations} leaves no iteration to inject a fault at`);
  const rng = new Random(o.seed);
  const order = rng.permutation(kinds.length);
  const iterations = Array.from({ length: o.faults }, () => rng.int(1, o.maxIterations)).sort((a, b) => a - b);
  return iterations.map((atIteration, i) => ({
    kind: kinds[order[i % kinds.length]!]!,
    atIteration,
    target: rng.int(0, 1024),
    pauseMs: Math.round(o.heartbeatTimeoutMs * rng.range(0.5, 2)),
    downMs: Math.round(rng.range(200, 1500)),
  }));
}
