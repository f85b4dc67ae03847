/**
 * The two-stream batch sampler (GUIDE §5) as a pure function of (seed, iteration): each batch is
 * B/2 labelled + B/2 unlabelled indices. Labelled indices follow one fresh permutation per epoch;
 * unlabelled indices follow one endless stream of permutations, cut into B/2-sized chunks, one per
 * iteration. A resumed run or any cluster worker gets iteration t's batch directly, without
 * replaying earlier ones.
 *
 * Unlike the reference, whose unlabelled stream restarts every epoch (and so only ever uses the
 * first L values of each fresh permutation), the stream here runs on across epochs, so every
 * unlabelled case is visited once per pass over them; each chunk is equally uniform.
 */
import { TracocoError } from '../errors.js';
import { hashString, streamFor } from '../random.js';

export interface SamplerConfig {
  /** Labelled case indices (any numbering; returned as given). */
  labeled: readonly number[];
  /** Unlabelled case indices (a pair's shard on a cluster). */
  unlabeled: readonly number[];
  /** B, even: B/2 labelled + B/2 unlabelled per batch. */
  batchSize: number;
  seed: number;
}

export interface BatchIndices {
  labeled: number[];
  unlabeled: number[];
  epoch: number;
}

/** floor(L / (B/2)): iterations until every labelled case was seen once. */
export function iterationsPerEpoch(labeledCount: number, batchSize: number): number {
  const half = halfBatch(batchSize);
  const n = Math.floor(labeledCount / half);
  if (n < 1) throw new TracocoError(`needs at least batch_size / 2 = ${half} labelled cases, got ${labeledCount}`, { field: 'labeled' });
  return n;
}

export function batchIndices(iteration: number, config: SamplerConfig): BatchIndices {
  if (!Number.isInteger(iteration) || iteration < 0) throw new TracocoError(`iteration must be a non-negative integer, got ${iteration}`, { field: 'iteration' });
  const { labeled, unlabeled, batchSize, seed } = config;
  const half = halfBatch(batchSize);
  const perEpoch = iterationsPerEpoch(labeled.length, batchSize);
  if (unlabeled.length === 0) throw new TracocoError('needs at least one unlabelled case', { field: 'unlabeled' });
  const epoch = Math.floor(iteration / perEpoch);
  const slot = iteration % perEpoch;
  const labeledOrder = streamFor(seed, 'sampler-labeled', epoch).permutation(labeled.length);
  const labeledBatch = labeledOrder.slice(slot * half, (slot + 1) * half).map((i) => labeled[i]!);
  // Position n of the unlabelled stream is element n mod U of permutation floor(n / U).
  const U = unlabeled.length;
  const unlabeledBatch: number[] = [];
  let pass = -1;
  let order: number[] = [];
  for (let n = iteration * half; n < (iteration + 1) * half; n++) {
    if (Math.floor(n / U) !== pass) {
      pass = Math.floor(n / U);
      order = streamFor(seed, 'sampler-unlabeled', pass).permutation(U);
    }
    unlabeledBatch.push(unlabeled[order[n % U]!]!);
  }
  return { labeled: labeledBatch, unlabeled: unlabeledBatch, epoch };
}

/**
 * Splits indices over `shardCount` worker pairs, round-robin (shard p gets positions p, p + P, …),
 * so shard sizes differ by at most one and each keeps the input order.
 */
export function shardIndices(indices: readonly number[], shardCount: number): number[][] {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new TracocoError(`shard count must be a positive integer, got ${shardCount}`, { field: 'shards' });
  if (indices.length < shardCount) throw new TracocoError(`cannot split ${indices.length} unlabelled cases over ${shardCount} worker pairs`, { field: 'unlabeled' });
  const shards: number[][] = Array.from({ length: shardCount }, () => []);
  indices.forEach((index, i) => shards[i % shardCount]!.push(index));
  return shards;
}

/** A seed of its own for pair `pair`, so pairs draw different batches from one run seed. */
export function pairSeed(seed: number, pair: number): number {
  return hashString(`${seed}/pair/${pair}`);
}

function halfBatch(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 2 || batchSize % 2 !== 0) {
    throw new TracocoError(`must be an even integer >= 2, got ${batchSize}`, { field: 'batchSize' });
  }
  return batchSize / 2;
}
