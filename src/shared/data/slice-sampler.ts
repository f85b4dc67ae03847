/**
 * The two-stream sampler over axial slices (GUIDE §5b, ACDC): the labelled stream is every slice
 * of the labelled cases, the unlabelled stream every slice of the unlabelled ones, and each batch
 * takes B/2 slices from each exactly as `batchIndices` takes cases (one labelled permutation per
 * epoch, an endless unlabelled stream), so a batch is a pure function of (seed, iteration).
 */
import { TracocoError } from '../errors.js';
import { batchIndices, iterationsPerEpoch } from './batch-sampler.js';

/** Axial slice `z` of case `index` (in the caller's case numbering). */
export interface SliceRef {
  index: number;
  z: number;
}

/** A case of a stream and its number of axial slices (z extent). */
export interface CaseDepth {
  index: number;
  depth: number;
}

export interface SliceSamplerConfig {
  labeled: readonly CaseDepth[];
  unlabeled: readonly CaseDepth[];
  batchSize: number;
  seed: number;
}

export interface SliceBatch {
  labeled: SliceRef[];
  unlabeled: SliceRef[];
  epoch: number;
}

/** Every slice of `cases`, case by case, z ascending: the order the sampler's indices refer to. */
export function sliceList(cases: readonly CaseDepth[]): SliceRef[] {
  const out: SliceRef[] = [];
  for (const { index, depth } of cases) {
    if (!Number.isInteger(depth) || depth < 1) throw new TracocoError(`case ${index} has no axial slices (depth ${depth})`, { field: 'cases' });
    for (let z = 0; z < depth; z++) out.push({ index, z });
  }
  return out;
}

/** floor(labelled slices / (B/2)): iterations until every labelled slice was seen once. */
export function sliceIterationsPerEpoch(labeled: readonly CaseDepth[], batchSize: number): number {
  return iterationsPerEpoch(sliceList(labeled).length, batchSize);
}

export function sliceBatch(iteration: number, config: SliceSamplerConfig): SliceBatch {
  const labeled = sliceList(config.labeled);
  const unlabeled = sliceList(config.unlabeled);
  const picked = batchIndices(iteration, {
    labeled: labeled.map((_, i) => i),
    unlabeled: unlabeled.map((_, i) => i),
    batchSize: config.batchSize,
    seed: config.seed,
  });
  return { labeled: picked.labeled.map((i) => labeled[i]!), unlabeled: picked.unlabeled.map((i) => unlabeled[i]!), epoch: picked.epoch };
}
