/**
 * What every step trains on, as pure functions of (run seed, iteration): per data shard, the
 * labelled and unlabelled case ids (two-stream sampler) and every augmentation decision; plus the
 * learning rate and consistency weight. A resumed or re-placed run replays exactly. A 2D network
 * samples axial slices instead of cases (GUIDE §5b): the streams are the slices of the labelled
 * cases and of the shard's unlabelled cases, and each slot's plan names its slice.
 */
import type { TracocoConfig } from '../shared/config/index.js';
import { batchIndices, iterationsPerEpoch, pairSeed, planBatch, shardIndices, sliceBatch, sliceIterationsPerEpoch, type CaseDepth, type SlicePlan } from '../shared/data/index.js';
import { consistencyWeight, polyLearningRate } from '../shared/losses/index.js';
import type { ShardPlan } from '../shared/protocol/index.js';
import { augmentOptionsFrom, sliceSizeFrom } from '../shared/training/settings.js';
import type { Shape3 } from '../shared/volume.js';
import { TracocoError } from '../shared/errors.js';

export interface TrainingCases {
  labeled: string[];
  unlabeled: string[];
  shapes: ReadonlyMap<string, Shape3>;
}

export class StepPlanner {
  readonly iterationsPerEpoch: number;
  private readonly unlabeledShards: number[][];
  /** Null for a 3D network; else the (x, y) its axial slices are resized to. */
  private readonly sliceSize: readonly [number, number] | null;

  /**
   * @param shards number of data shards (fixed for the run)
   * @param shardBatch volumes per shard per step (half labelled, half unlabelled)
   */
  constructor(
    private readonly config: TracocoConfig,
    private readonly cases: TrainingCases,
    readonly shards: number,
    readonly shardBatch: number,
  ) {
    if (!Number.isInteger(shardBatch) || shardBatch < 2 || shardBatch % 2 !== 0) {
      throw new TracocoError(`each of the ${shards} data shards needs an even batch of at least 2, got ${shardBatch}`, { field: 'train.batch_size' });
    }
    this.sliceSize = sliceSizeFrom(config);
    this.iterationsPerEpoch = this.sliceSize
      ? sliceIterationsPerEpoch(this.depths(cases.labeled, cases.labeled.map((_, i) => i)), shardBatch)
      : iterationsPerEpoch(cases.labeled.length, shardBatch);
    const indices = cases.unlabeled.map((_, i) => i);
    this.unlabeledShards = config.train.semi_supervised ? shardIndices(indices, shards) : Array.from({ length: shards }, () => []);
  }

  /** Shard `shard`'s part of the step that produces iteration `iteration + 1`. */
  shardPlan(shard: number, iteration: number): ShardPlan {
    const semi = this.config.train.semi_supervised;
    const seed = pairSeed(this.config.seed, shard);
    const sampler = {
      labeled: this.cases.labeled.map((_, i) => i),
      unlabeled: semi ? this.unlabeledShards[shard]! : [0],
      batchSize: this.shardBatch,
      seed,
    };
    let labeledIds: string[];
    let unlabeledIds: string[];
    let slices: SlicePlan | undefined;
    if (this.sliceSize) {
      // Unlabelled slices come from the shard's cases only, so a pair holds the same cases as in 3D.
      const picked = sliceBatch(iteration, {
        ...sampler,
        labeled: this.depths(this.cases.labeled, sampler.labeled),
        // The supervised baseline draws no unlabelled slot; the sampler still needs a stream.
        unlabeled: semi ? this.depths(this.cases.unlabeled, sampler.unlabeled) : [{ index: 0, depth: 1 }],
      });
      labeledIds = picked.labeled.map((r) => this.cases.labeled[r.index]!);
      unlabeledIds = semi ? picked.unlabeled.map((r) => this.cases.unlabeled[r.index]!) : [];
      const refs = semi ? [...picked.labeled, ...picked.unlabeled] : picked.labeled;
      slices = { z: refs.map((r) => r.z), size: this.sliceSize };
    } else {
      const picked = batchIndices(iteration, sampler);
      labeledIds = picked.labeled.map((i) => this.cases.labeled[i]!);
      unlabeledIds = semi ? picked.unlabeled.map((i) => this.cases.unlabeled[i]!) : [];
    }
    const ids = [...labeledIds, ...unlabeledIds];
    const shapes = ids.map((id) => this.cases.shapes.get(id)!);
    const cutmix = semi && (this.config.train.cutmix || this.config.train.cutmix_both);
    const plan = planBatch(seed, iteration, shapes, this.config.data.patch, augmentOptionsFrom(this.config), cutmix, slices);
    return { shard, labeledIds, unlabeledIds, plan };
  }

  /** Cases `indices` of `ids` with their numbers of axial slices. */
  private depths(ids: readonly string[], indices: readonly number[]): CaseDepth[] {
    return indices.map((index) => ({ index, depth: this.cases.shapes.get(ids[index]!)![2] }));
  }

  /** Unlabelled case ids of one shard (what its pair must hold). */
  shardCases(shard: number): string[] {
    return this.unlabeledShards[shard]!.map((i) => this.cases.unlabeled[i]!);
  }

  /** Learning rate of the step producing iteration k (1-based, as the reference's iter_num). */
  learningRate(k: number): number {
    const t = this.config.train;
    return polyLearningRate(t.lr, k, t.max_iterations, t.lr_power);
  }

  consistencyWeight(k: number): number {
    const t = this.config.train;
    return consistencyWeight(k, {
      unsupWeight: t.unsup_weight,
      rampupIterations: t.rampup_length * this.iterationsPerEpoch,
      type: t.rampup,
      startIteration: t.rampup_start * this.iterationsPerEpoch,
    });
  }
}
