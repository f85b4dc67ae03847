/** What a coordinator is given, and what a run returns. */
import type { TracocoConfig } from '../shared/config/index.js';
import type { Logger } from '../shared/log.js';
import type { Transport } from '../shared/protocol/index.js';
import type { TrainingObserver } from './observer.js';
import type { RunState } from './run-state.js';
import type { TrainingData } from './training-data.js';

export interface CoordinatorOptions {
  transport: Transport;
  config: TracocoConfig;
  data: TrainingData;
  /** Workers to wait for before the first step (2 per pair; 1 per replica for the baseline). */
  workers: number;
  /** Run directory for model files, state and evaluation slices (null: object store only). */
  out: string | null;
  logger: Logger;
  observer?: TrainingObserver;
  /** A worker silent this long is lost (default 10 s). */
  heartbeatTimeoutMs?: number;
  /** A step, checkpoint or evaluation taking longer fails and is retried (default 1 h). */
  stepTimeoutMs?: number;
  /** How often the liveness check runs (default 500 ms). */
  livenessIntervalMs?: number;
  /** Tell workers to exit when the run is done. */
  shutdownWorkers?: boolean;
  /** Retries of the same iteration before giving up (default 5). */
  maxRetries?: number;
  /** Wait for heartbeats to confirm each assignment, re-sending lost ones (network transports). */
  confirmAssignments?: boolean;
  /**
   * Put each case in the object store once and send workers its name (clusters: a replacement
   * worker fetches them without the coordinator resending); false sends them inline (local mode).
   */
  storeCases?: boolean;
  /** Ends the run with the signal's reason (local mode: a worker thread died). */
  signal?: AbortSignal;
}

export interface RunSummary {
  runId: string;
  iteration: number;
  best: RunState['best'];
  evals: RunState['evals'];
  recoveries: number;
}
