/**
 * How good a model's confident predictions would be as pseudo-labels (GUIDE §5: CRC trains on the
 * voxels whose largest probability reaches γ). Per foreground class, against the reference labels:
 * the share of the confident voxels of that class that are right, the share of the class that is
 * predicted confidently, and the argmax prediction's over- and under-segmentation. Counts add up
 * over cases, so a dataset's figures are those of its summed counts.
 */
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';
import { argmaxAt, checkLabelValues } from './class-components.js';
import { checkMaskShape } from './overlap.js';

/**
 * Voxel counts of one foreground class c: `confident` argmax = c with probability ≥ threshold,
 * `confidentRight` those labelled c, `labelled` label = c, `labelledConfident` labelled c and
 * confidently predicted c, `falsePositive` argmax = c but label ≠ c, `falseNegative` the reverse.
 */
export const CONFIDENCE_COUNT_NAMES = ['confident', 'confidentRight', 'labelled', 'labelledConfident', 'falsePositive', 'falseNegative'] as const;
type CountName = (typeof CONFIDENCE_COUNT_NAMES)[number];
export type ConfidenceCounts = { class: number } & Record<CountName, number>;

/** The shares a report prints, each NaN (null in JSON) when its denominator is 0. */
export interface ConfidenceShares {
  class: number;
  /** confidentRight / confident: the precision of the class's pseudo-labels. */
  confident_right: number;
  /** labelledConfident / labelled: how much of the class the pseudo-labels cover. */
  coverage: number;
  /** falsePositive / labelled: over-segmentation, relative to the class's volume. */
  false_positives: number;
  /** falseNegative / labelled. */
  false_negatives: number;
}

/**
 * Counts of `probabilities` [X, Y, Z, classes] (classes last) against `label` [X, Y, Z] at
 * `threshold`, one entry per foreground class 1…classes−1. Ties go to the lower class (argmax).
 */
export function confidenceCounts(probabilities: Float32Array, label: Uint8Array, shape: Shape3, classes: number, threshold: number): ConfidenceCounts[] {
  const voxels = checkMaskShape(label, shape, 'label');
  if (!Number.isInteger(classes) || classes < 2) throw new TracocoError(`expected an integer ≥ 2, got ${classes}`, { field: 'classes' });
  if (probabilities.length !== voxels * classes) {
    throw new TracocoError(`has ${probabilities.length} values but [${shape.join(', ')}] × ${classes} classes needs ${voxels * classes}`, { field: 'probabilities' });
  }
  if (!(threshold >= 0 && threshold <= 1)) throw new TracocoError(`expected a probability in [0, 1], got ${threshold}`, { field: 'threshold' });
  checkLabelValues(label, classes, 'label');
  const counts = Array.from({ length: classes - 1 }, (_, k) => zeroCounts(k + 1));
  for (let v = 0; v < voxels; v++) {
    const t = label[v]!;
    const best = argmaxAt(probabilities, v * classes, classes);
    const sure = probabilities[v * classes + best]! >= threshold;
    if (best > 0) {
      const n = counts[best - 1]!;
      if (sure) n.confident++;
      if (sure && t === best) n.confidentRight++;
      if (t !== best) n.falsePositive++;
    }
    if (t > 0) {
      const n = counts[t - 1]!;
      n.labelled++;
      if (best === t && sure) n.labelledConfident++;
      if (best !== t) n.falseNegative++;
    }
  }
  return counts;
}

/** Sums per-case counts class by class (every case must list the same classes). */
export function sumConfidenceCounts(cases: ConfidenceCounts[][]): ConfidenceCounts[] {
  if (cases.length === 0) return [];
  const classes = cases[0]!.map((n) => n.class).join(',');
  for (const c of cases) {
    if (c.map((n) => n.class).join(',') !== classes) throw new TracocoError(`cases list different classes ([${classes}] and [${c.map((n) => n.class).join(',')}])`, { field: 'counts' });
  }
  return cases[0]!.map((first, k) => {
    const total = { ...first };
    for (const c of cases.slice(1)) {
      const n = c[k]!;
      for (const name of CONFIDENCE_COUNT_NAMES) total[name] += n[name];
    }
    return total;
  });
}

function zeroCounts(cls: number): ConfidenceCounts {
  return { class: cls, ...(Object.fromEntries(CONFIDENCE_COUNT_NAMES.map((name) => [name, 0])) as Record<CountName, number>) };
}

export function confidenceShares(n: ConfidenceCounts): ConfidenceShares {
  const share = (a: number, b: number) => (b > 0 ? a / b : NaN);
  return {
    class: n.class,
    confident_right: share(n.confidentRight, n.confident),
    coverage: share(n.labelledConfident, n.labelled),
    false_positives: share(n.falsePositive, n.labelled),
    false_negatives: share(n.falseNegative, n.labelled),
  };
}
