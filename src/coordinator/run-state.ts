/**
 * The durable state of a run (JetStream KV in a cluster, a file in local mode): enough for a
 * restarted coordinator to resume exactly — the config, the last completed iteration, the last
 * checkpoint, the best evaluation so far, and the assignment epoch.
 */
import { validateConfig, type TracocoConfig } from '../shared/config/index.js';
import type { CheckpointRef, KeyValueStore, Role } from '../shared/protocol/index.js';
import type { SegmentationMetrics } from '../shared/metrics/index.js';
import { TracocoError } from '../shared/errors.js';
import { hashString } from '../shared/random.js';

export const RUN_STATE_VERSION = 1;

export interface EvalRecord {
  iteration: number;
  role: Role;
  mean: SegmentationMetrics;
}

export interface RunState {
  version: number;
  runId: string;
  config: TracocoConfig;
  /** Data shards fixed at the start (pairs may change; the data order does not). */
  shards: number;
  /** Volumes per shard per step: batch_size x initial pairs / shards (the global batch stays fixed). */
  shardBatch: number;
  /** Bumped at every (re)assignment; messages of older epochs are ignored. */
  epoch: number;
  /** Completed iterations as of the last checkpoint. */
  iteration: number;
  checkpoint: CheckpointRef | null;
  best: { dice: number; role: Role; iteration: number } | null;
  evals: EvalRecord[];
  finished: boolean;
}

const KEY = 'run';

export async function loadRunState(kv: KeyValueStore): Promise<RunState | null> {
  const bytes = await kv.get(KEY);
  if (!bytes) return null;
  let state: RunState;
  try {
    state = JSON.parse(new TextDecoder().decode(bytes)) as RunState;
  } catch {
    throw new TracocoError('run state is not valid JSON', { field: KEY });
  }
  if (state.version !== RUN_STATE_VERSION) throw new TracocoError(`run state version ${state.version} is not supported`, { field: KEY });
  return state;
}

export async function saveRunState(kv: KeyValueStore, state: RunState): Promise<void> {
  await kv.put(KEY, new TextEncoder().encode(JSON.stringify(state)));
}

/** The first config field where two configs differ (dotted path), or null. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return JSON.stringify(a) === JSON.stringify(b) ? null : path || '(root)';
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}

/**
 * The run's state: the stored one when it belongs to this config (resume), else a new run with
 * `pairs` initial pairs (which fixes the shard layout for the whole run). A stored run with
 * another config is an error naming the first differing field.
 */
export async function openRunState(kv: KeyValueStore, config: TracocoConfig, pairs: number): Promise<{ state: RunState; resumed: boolean }> {
  const existing = await loadRunState(kv);
  if (existing) {
    // Through today's schema first: a run saved before fields were added (with their defaults)
    // or a value's form changed (`crc: true` = `least-likely`) is still the same run.
    existing.config = validateConfig(existing.config, 'the stored run state');
    const diff = firstDifference(existing.config, config);
    if (diff) {
      throw new TracocoError(`the run directory/state holds a run with a different config (first difference: '${diff}'); use another --out or the same config`, { field: diff });
    }
    return { state: existing, resumed: true };
  }
  const shards = config.train.shards ?? pairs;
  const state: RunState = {
    version: RUN_STATE_VERSION,
    runId: `${config.name}-${hashString(JSON.stringify(config)).toString(16).padStart(8, '0')}`,
    config,
    shards,
    shardBatch: (config.train.batch_size * pairs) / shards,
    epoch: 0,
    iteration: 0,
    checkpoint: null,
    best: null,
    evals: [],
    finished: false,
  };
  await saveRunState(kv, state);
  return { state, resumed: false };
}

/** The checkpoint the `checkpoint-done` replies describe; the supervised baseline's model 1 serves as both. */
export function checkpointRef(iteration: number, stored: readonly { role: Role; weights: string; optimizer: string }[]): CheckpointRef {
  const models = {} as CheckpointRef['models'];
  for (const d of stored) models[d.role] = { weights: d.weights, optimizer: d.optimizer };
  models[2] ??= models[1];
  return { iteration, models };
}
