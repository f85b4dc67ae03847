/**
 * Translation pair (GUIDE §5): two patch-sized crops f and s of one (already padded) volume with a
 * non-empty overlap, and that overlap as a box in each crop's local coordinates.
 *
 * - `reference`: the published sampler. Per axis, f starts uniformly in [0, W - P] (every valid
 *   start; the reference's numpy randint excludes the last one and fails when W = P, which its +3
 *   padding hides) and s in [0, start_f) (s = 0 when start_f = 0); when the gap is P or more (the
 *   reference tests > P, and only on x and y, which can leave an empty overlap) s moves forward by
 *   floor(start_f / 2). If s still misses f (possible only when the axis spans about three patches
 *   or more) it is clamped to the nearest start that overlaps f, so s <= f always holds.
 * - `symmetric`: f as above; s uniformly among all in-volume starts on either side of f whose
 *   overlap holds at least `minOverlap` of the patch's voxels (a volume fraction, not per axis),
 *   excluding s = f unless that is the only admissible start.
 * - `offset`: the published Pancreas sampler: s starts `offset` voxels before f on each axis,
 *   clipped at 0 (and at P - 1 voxels, so the overlap is never empty).
 */
import { TracocoError } from '../errors.js';
import type { Random } from '../random.js';
import type { Shape3, Vec3 } from '../volume.js';
import type { Box3 } from './geometry.js';

export type TranslationMode = 'reference' | 'symmetric' | 'offset';

export interface TranslationOptions {
  mode?: TranslationMode;
  /** Minimum overlap volume fraction in [0, 1] for `symmetric` (default 0.5). */
  minOverlap?: number;
  /** How far s starts before f for `offset` (default 48). */
  offset?: number;
}

export interface TranslationPair {
  startF: Vec3;
  startS: Vec3;
  /** The overlap in f's local coordinates. */
  overlapF: Box3;
  /** The same voxels in s's local coordinates. */
  overlapS: Box3;
}

export function sampleTranslationPair(volumeShape: Shape3, patch: Shape3, rng: Random, options: TranslationOptions = {}): TranslationPair {
  const mode = options.mode ?? 'reference';
  const minOverlap = options.minOverlap ?? 0.5;
  if (!(minOverlap >= 0 && minOverlap <= 1)) throw new TracocoError(`must be in [0, 1], got ${minOverlap}`, { field: 'minOverlap' });
  const maxStart = [0, 1, 2].map((i) => {
    const room = volumeShape[i]! - patch[i]!;
    if (!Number.isInteger(room) || room < 0 || !(patch[i]! > 0)) {
      throw new TracocoError(`volume [${volumeShape.join(', ')}] must be padded to at least the patch [${patch.join(', ')}]`, { field: 'patch' });
    }
    return room;
  }) as unknown as Vec3;
  const startF: Vec3 = [rng.int(0, maxStart[0] + 1), rng.int(0, maxStart[1] + 1), rng.int(0, maxStart[2] + 1)];
  let startS: Vec3;
  if (mode === 'reference') {
    startS = [referenceStartS(startF[0], patch[0], rng), referenceStartS(startF[1], patch[1], rng), referenceStartS(startF[2], patch[2], rng)];
  } else if (mode === 'symmetric') {
    startS = symmetricStartS(startF, maxStart, patch, minOverlap, rng);
  } else if (mode === 'offset') {
    const offset = options.offset ?? 48;
    if (!(Number.isInteger(offset) && offset >= 0)) throw new TracocoError(`must be a non-negative integer, got ${offset}`, { field: 'offset' });
    startS = startF.map((f, i) => Math.max(0, f - Math.min(offset, patch[i]! - 1))) as unknown as Vec3;
  } else {
    throw new TracocoError(`unknown translation mode '${String(mode)}' (reference, symmetric, offset)`, { field: 'translation' });
  }
  return { startF, startS, ...overlapBoxes(startF, startS, patch) };
}

/** The overlap of two patch-sized crops, in each crop's local coordinates (empty when they miss). */
export function overlapBoxes(startF: Vec3, startS: Vec3, patch: Shape3): { overlapF: Box3; overlapS: Box3 } {
  const f = [0, 0, 0, 0, 0, 0];
  const s = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const lo = Math.max(startF[i]!, startS[i]!);
    const hi = Math.max(lo, Math.min(startF[i]! + patch[i]!, startS[i]! + patch[i]!));
    f[i] = lo - startF[i]!;
    f[i + 3] = hi - startF[i]!;
    s[i] = lo - startS[i]!;
    s[i + 3] = hi - startS[i]!;
  }
  return {
    overlapF: { start: [f[0]!, f[1]!, f[2]!], end: [f[3]!, f[4]!, f[5]!] },
    overlapS: { start: [s[0]!, s[1]!, s[2]!], end: [s[3]!, s[4]!, s[5]!] },
  };
}

function referenceStartS(startF: number, patch: number, rng: Random): number {
  if (startF === 0) return 0;
  let s = rng.int(0, startF);
  if (startF - s >= patch) s += Math.floor(startF / 2);
  return Math.min(startF, Math.max(s, startF - patch + 1));
}

/**
 * Exactly uniform over the admissible offsets d = s - f: per axis d lies in [lo, hi] (inside the
 * volume, |d| < P); the overlap is Π (P_i - |d_i|) >= minOverlap × Π P_i. Draws d_x by its count of
 * admissible (d_y, d_z), then d_y, then d_z (an interval), so no rejection loop can stall.
 */
function symmetricStartS(startF: Vec3, maxStart: Vec3, patch: Shape3, minOverlap: number, rng: Random): Vec3 {
  const lo = [0, 1, 2].map((i) => Math.max(-startF[i]!, -(patch[i]! - 1)));
  const hi = [0, 1, 2].map((i) => Math.min(maxStart[i]! - startF[i]!, patch[i]! - 1));
  const need = minOverlap * patch[0] * patch[1] * patch[2];
  // Admissible d_z for an x-y overlap area q: |d_z| <= P_z - c with c the least depth where q*c >= need.
  const zHalfWidth = (q: number): number => {
    let c = Math.max(1, Math.ceil(need / q));
    while (c > 1 && q * (c - 1) >= need) c--;
    while (q * c < need) c++;
    return patch[2] - c;
  };
  const zInterval = (q: number): [number, number] => {
    const h = zHalfWidth(q);
    return [Math.max(lo[2]!, -h), Math.min(hi[2]!, h)];
  };
  const zCount = (q: number): number => {
    const [a, b] = zInterval(q);
    return Math.max(0, b - a + 1);
  };
  const yCounts = (ox: number): number[] => {
    const counts: number[] = [];
    for (let dy = lo[1]!; dy <= hi[1]!; dy++) counts.push(zCount(ox * (patch[1] - Math.abs(dy))));
    return counts;
  };
  const xCounts: number[] = [];
  for (let dx = lo[0]!; dx <= hi[0]!; dx++) {
    const ox = patch[0] - Math.abs(dx);
    let count = 0;
    for (let dy = lo[1]!; dy <= hi[1]!; dy++) count += zCount(ox * (patch[1] - Math.abs(dy)));
    xCounts.push(count);
  }
  const total = sum(xCounts);
  for (;;) {
    const dx = lo[0]! + pickWeighted(xCounts, rng);
    const ox = patch[0] - Math.abs(dx);
    const dy = lo[1]! + pickWeighted(yCounts(ox), rng);
    const [za, zb] = zInterval(ox * (patch[1] - Math.abs(dy)));
    const dz = rng.int(za, zb + 1);
    if (total > 1 && dx === 0 && dy === 0 && dz === 0) continue;
    return [startF[0] + dx, startF[1] + dy, startF[2] + dz];
  }
}

function pickWeighted(weights: readonly number[], rng: Random): number {
  let r = rng.int(0, sum(weights));
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  throw new RangeError('pickWeighted: no positive weight');
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
