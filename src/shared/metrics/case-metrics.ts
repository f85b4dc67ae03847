/**
 * Per-case segmentation metrics as the reference evaluation reports them (GUIDE §5): Dice,
 * Jaccard, 95% Hausdorff distance and average surface distance (medpy semantics, see
 * surface-distance.ts), in voxels unless a spacing is given.
 *
 * Empty cases follow the reference protocol: an empty prediction scores 0 on all four. An empty
 * label with a non-empty prediction (where medpy raises) gives dice 0, jaccard 0 and NaN for
 * hd95/asd — undefined distances, which JSON prints as null.
 */
import type { Shape3, Vec3 } from '../volume.js';
import { checkMaskShape, checkSpacing, diceFromCounts, jaccardFromCounts, overlapCounts } from './overlap.js';
import { surfaceDistanceMetrics } from './surface-distance.js';

export interface SegmentationMetrics {
  dice: number;
  jaccard: number;
  hd95: number;
  asd: number;
}

export const METRIC_NAMES = ['dice', 'jaccard', 'hd95', 'asd'] as const;

/** Metrics of a binary prediction against a binary label (nonzero = foreground), both [X, Y, Z]. */
export function caseMetrics(pred: Uint8Array, label: Uint8Array, shape: Shape3, spacing: Vec3 = [1, 1, 1]): SegmentationMetrics {
  checkMaskShape(pred, shape, 'pred');
  checkMaskShape(label, shape, 'label');
  checkSpacing(spacing);
  const counts = overlapCounts(pred, label);
  if (counts.pred === 0) return { dice: 0, jaccard: 0, hd95: 0, asd: 0 };
  const overlap = { dice: diceFromCounts(counts), jaccard: jaccardFromCounts(counts) };
  if (counts.label === 0) return { ...overlap, hd95: NaN, asd: NaN };
  return { ...overlap, ...surfaceDistanceMetrics(pred, label, shape, spacing) };
}

/**
 * Mean of each metric over cases. NaN values (empty labels) are left out of that metric's mean,
 * like numpy's nanmean; a metric with no values at all (or an empty list) is NaN.
 */
export function meanMetrics(list: readonly SegmentationMetrics[]): SegmentationMetrics {
  const out: SegmentationMetrics = { dice: NaN, jaccard: NaN, hd95: NaN, asd: NaN };
  for (const name of METRIC_NAMES) {
    let sum = 0;
    let n = 0;
    for (const m of list) {
      if (Number.isNaN(m[name])) continue;
      sum += m[name];
      n++;
    }
    if (n > 0) out[name] = sum / n;
  }
  return out;
}
