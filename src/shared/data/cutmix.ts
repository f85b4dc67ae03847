/**
 * 3D CutMix of model 2's inputs and pseudo-labels (GUIDE §5): one λ ~ Beta(4, 4) per batch, a box
 * of √(1 − λ) of the patch in x and y (full z) per sample, filled from sample perm[i] of the
 * original, unmixed batch. The parameters are plain JSON so a cluster pair mixes identically.
 */
import { TracocoError } from '../errors.js';
import type { Random } from '../random.js';
import type { Shape3, VoxelArray } from '../volume.js';
import { boxWithin, type Box3 } from './geometry.js';

export interface CutMixParams {
  lambda: number;
  /** Sample i takes its box from sample perm[i]. */
  perm: number[];
  /** Per sample, the box in patch coordinates (z always spans the patch; may be empty). */
  boxes: Box3[];
}

export function sampleCutMix(rng: Random, batchSize: number, patch: Shape3): CutMixParams {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TracocoError(`must be a positive integer, got ${batchSize}`, { field: 'batchSize' });
  const [W, H, D] = patch;
  const lambda = rng.beta(4, 4);
  const cutRatio = Math.sqrt(1 - lambda);
  const cutW = Math.floor(W * cutRatio);
  const cutH = Math.floor(H * cutRatio);
  const boxes: Box3[] = [];
  for (let i = 0; i < batchSize; i++) {
    const cx = rng.int(Math.floor(W / 8), W);
    const cy = rng.int(Math.floor(H / 8), H);
    const x0 = clamp(cx - Math.floor(cutW / 2), 0, W);
    const x1 = clamp(cx + Math.floor(cutW / 2), 0, W);
    const y0 = clamp(cy - Math.floor(cutH / 2), 0, H);
    const y1 = clamp(cy + Math.floor(cutH / 2), 0, H);
    boxes.push({ start: [x0, y0, 0], end: [x1, y1, D] });
  }
  return { lambda, perm: rng.permutation(batchSize), boxes };
}

/**
 * A new batch [B, x, y, z, C] (row-major, C fastest) where each sample's box holds the voxels of
 * sample perm[i] of `batch`; everything else is copied unchanged.
 */
export function applyCutMix<T extends VoxelArray>(batch: T, shape: readonly number[], params: CutMixParams): T {
  if (shape.length !== 5) throw new TracocoError(`expected a [B, x, y, z, C] batch, got [${shape.join(', ')}]`, { field: 'shape' });
  const [B, X, Y, Z, C] = shape as [number, number, number, number, number];
  if (batch.length !== B * X * Y * Z * C) throw new TracocoError(`batch has ${batch.length} values, shape [${shape.join(', ')}] needs ${B * X * Y * Z * C}`, { field: 'shape' });
  checkParams(params, B, [X, Y, Z]);
  const out = batch.slice() as T;
  const row = Z * C;
  const sample = X * Y * row;
  for (let i = 0; i < B; i++) {
    const { start, end } = params.boxes[i]!;
    const from = params.perm[i]!;
    if (from === i) continue;
    // z spans the whole patch in sampled boxes, but honour any z range a caller gives.
    const z0 = start[2] * C;
    const z1 = end[2] * C;
    for (let x = start[0]; x < end[0]; x++) {
      for (let y = start[1]; y < end[1]; y++) {
        const offset = (x * Y + y) * row;
        out.set(batch.subarray(from * sample + offset + z0, from * sample + offset + z1), i * sample + offset + z0);
      }
    }
  }
  return out;
}

function checkParams(params: CutMixParams, batchSize: number, patch: Shape3): void {
  const { perm, boxes } = params;
  const isPermutation = perm.length === batchSize && new Set(perm).size === batchSize && perm.every((p) => Number.isInteger(p) && p >= 0 && p < batchSize);
  if (!isPermutation) throw new TracocoError(`perm must be a permutation of 0..${batchSize - 1}`, { field: 'cutmix.perm' });
  if (boxes.length !== batchSize || !boxes.every((b) => boxWithin(b, patch))) {
    throw new TracocoError(`needs ${batchSize} boxes inside the patch [${patch.join(', ')}]`, { field: 'cutmix.boxes' });
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
