/**
 * The piscina task of a worker's data pipeline: builds one replica batch (augmentation, crops,
 * translation pairs) off the main thread. Volumes arrive as views of SharedArrayBuffers (no
 * copy); the batch's buffers are transferred back.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { ShardPlan } from '../shared/protocol/index.js';
import { assembleReplicaBatch, type AssembleOptions, type CachedCase } from '../shared/training/assemble.js';

export interface BatchTask {
  shards: ShardPlan[];
  cases: Record<string, CachedCase>;
  options?: AssembleOptions;
}

export default function buildBatchTask(task: BatchTask) {
  const rb = assembleReplicaBatch(task.shards, (id) => task.cases[id], task.options);
  const { f, s, labelF, labelS } = rb.batch;
  return move({ [transferableSymbol]: [f.buffer, s.buffer, labelF.buffer, labelS.buffer], [valueSymbol]: rb } as never);
}
