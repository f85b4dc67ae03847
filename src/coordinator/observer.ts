/**
 * Hooks through which progress bars, logs and Prometheus metrics follow a run, so the
 * coordinator itself stays free of presentation. Every hook is optional.
 */
import type { SegmentationMetrics } from '../shared/metrics/index.js';
import type { Role } from '../shared/protocol/index.js';
import type { LossTerms } from '../shared/training/step.js';

export interface StepReport {
  /** Completed iterations after this step. */
  iteration: number;
  maxIterations: number;
  lr: number;
  consistencyWeight: number;
  /** Per model: loss terms summed over its replicas. */
  terms: Partial<Record<Role, LossTerms>>;
  /** Per model: mean fraction of unlabelled voxels in the CRC masks. */
  confidentRatio: Partial<Record<Role, { positive: number; negative: number }>>;
  /** Per phase, the slowest worker's seconds. */
  phases: Record<string, number>;
  exchangeBytes: number;
  seconds: number;
}

export interface EvalReport {
  iteration: number;
  role: Role;
  mean: SegmentationMetrics;
  cases: (SegmentationMetrics & { id: string })[];
  best: boolean;
}

export interface TrainingObserver {
  onStart?(info: { runId: string; iteration: number; maxIterations: number; resumed: boolean }): void;
  onStep?(report: StepReport): void;
  onEval?(report: EvalReport): void;
  onCheckpoint?(info: { iteration: number }): void;
  onWorkers?(counts: Record<string, number>): void;
  onRecovery?(info: { reason: string; iteration: number; epoch: number }): void;
  onRejected?(reason: string): void;
  onHeartbeat?(workerId: string): void;
  onFinish?(info: { iteration: number; best: { dice: number; role: Role; iteration: number } | null }): void;
}

/** Calls every observer's hook in turn. */
export function combineObservers(...observers: (TrainingObserver | undefined)[]): TrainingObserver {
  const list = observers.filter((o): o is TrainingObserver => Boolean(o));
  const fan =
    <K extends keyof TrainingObserver>(key: K) =>
    (arg: Parameters<NonNullable<TrainingObserver[K]>>[0]) => {
      for (const o of list) (o[key] as ((a: typeof arg) => void) | undefined)?.(arg);
    };
  return {
    onStart: fan('onStart'),
    onStep: fan('onStep'),
    onEval: fan('onEval'),
    onCheckpoint: fan('onCheckpoint'),
    onWorkers: fan('onWorkers'),
    onRecovery: fan('onRecovery'),
    onRejected: fan('onRejected'),
    onHeartbeat: fan('onHeartbeat'),
    onFinish: fan('onFinish'),
  };
}
