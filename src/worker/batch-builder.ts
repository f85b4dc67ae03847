/**
 * Builds a replica's step batch from shard plans. The inline builder runs on the calling thread;
 * `createPooledBatchBuilder` (pool.ts) runs the same function in a piscina pool.
 */
import type { ShardPlan } from '../shared/protocol/index.js';
import { assembleReplicaBatch, type AssembleOptions, type CachedCase } from '../shared/training/assemble.js';
import type { ReplicaBatch } from '../shared/training/replica-batch.js';

export type BatchBuilder = (shards: ShardPlan[], lookup: (id: string) => CachedCase | undefined, options?: AssembleOptions) => ReplicaBatch | Promise<ReplicaBatch>;

export const inlineBatchBuilder: BatchBuilder = (shards, lookup, options) => assembleReplicaBatch(shards, lookup, options);
