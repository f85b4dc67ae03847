/**
 * Per-class segmentation metrics of a multi-class prediction (GUIDE §5b, the published ACDC
 * evaluation): for each foreground class c = 1…C−1, Dice, Jaccard, 95HD and ASD of `pred == c`
 * against `label == c` with the binary rules of `caseMetrics` (an empty prediction of a class
 * scores 0 on all four), and their mean over the classes (NaN values left out, as `meanMetrics`).
 */
import type { Shape3, Vec3 } from '../volume.js';
import { caseMetrics, meanMetrics, type SegmentationMetrics } from './case-metrics.js';
import { checkLabelValues } from './class-components.js';
import { checkMaskShape } from './overlap.js';
import { TracocoError } from '../errors.js';

export interface ClassMetrics extends SegmentationMetrics {
  class: number;
}

export interface PerClassMetrics {
  classes: ClassMetrics[];
  mean: SegmentationMetrics;
}

/** `pred` and `label`: class-index volumes [X, Y, Z] with values 0…classes−1. */
export function perClassMetrics(
  pred: ArrayLike<number>,
  label: ArrayLike<number>,
  shape: Shape3,
  classes: number,
  spacing: Vec3 = [1, 1, 1],
): PerClassMetrics {
  if (!Number.isInteger(classes) || classes < 2) throw new TracocoError(`needs an integer class count ≥ 2, got ${classes}`, { field: 'classes' });
  checkMaskShape(pred, shape, 'pred');
  checkMaskShape(label, shape, 'label');
  checkLabelValues(pred, classes, 'pred');
  checkLabelValues(label, classes, 'label');
  const predMask = new Uint8Array(pred.length);
  const labelMask = new Uint8Array(label.length);
  const perClass: ClassMetrics[] = [];
  for (let c = 1; c < classes; c++) {
    for (let i = 0; i < pred.length; i++) {
      predMask[i] = pred[i] === c ? 1 : 0;
      labelMask[i] = label[i] === c ? 1 : 0;
    }
    perClass.push({ class: c, ...caseMetrics(predMask, labelMask, shape, spacing) });
  }
  return { classes: perClass, mean: meanMetrics(perClass) };
}

/** Each foreground class's scores averaged over `cases` (NaN left out, as `meanMetrics`). */
export function meanClassScores(cases: readonly { classes: readonly ClassMetrics[] }[]): ClassMetrics[] {
  const byClass = new Map<number, ClassMetrics[]>();
  for (const c of cases) for (const m of c.classes) byClass.set(m.class, [...(byClass.get(m.class) ?? []), m]);
  return [...byClass].sort(([a], [b]) => a - b).map(([k, list]) => ({ class: k, ...meanMetrics(list) }));
}
