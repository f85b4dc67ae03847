/**
 * Multi-class supervision (GUIDE §5b, the published ACDC code), classes last:
 *   DiceLoss_C(p, y) = mean over classes c of 1 − (2Σp_c t_c + 1e-5)/(Σp_c² + Σt_c² + 1e-5),
 *   t = one-hot(y), sums over the whole batch (background included, as the published DiceLoss(4));
 *   supervised = 0.5 × (CE + DiceLoss_C(softmax(logits), y)) for C > 2; for C = 2 it is the
 *   binary `supervisedLoss` (Dice on class 1) exactly, so 2-class runs are unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { checkLogitsAndProbabilities } from './crc.js';
import { crossEntropy, DICE_SMOOTH, supervisedLoss, type SupervisedLoss } from './supervised.js';

/** Multi-class Dice loss of probabilities `prob` [N, …, C] against class indices `labels` [N, …]. */
export function multiClassDiceLoss(prob: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const classes = checkClassesLast(prob, labels, 'prob');
  checkClassIndices(labels, classes);
  return tf.tidy(() => diceOfIndices(prob, toInt32(labels), classes));
}

/**
 * 0.5 × (CE + multi-class Dice) for C > 2, `supervisedLoss` (binary Dice on class 1) for C = 2.
 * `logits` [N, x, y, C] (2D) or [N, x, y, z, C]; `labels` the same without C (int32 or integral floats).
 */
export function multiClassSupervisedLoss(logits: tf.Tensor, labels: tf.Tensor): SupervisedLoss {
  if (logits.rank !== 4 && logits.rank !== 5) {
    throw new TracocoError(`expected [N, x, y, C] or [N, x, y, z, C], got shape [${logits.shape}]`, { field: 'logits' });
  }
  const classes = checkClassesLast(logits, labels, 'logits');
  checkClassIndices(labels, classes);
  if (classes === 2) {
    // A 2D batch is a batch of volumes one voxel deep: same elements, same sums.
    if (logits.rank === 5) return supervisedLoss(logits as tf.Tensor5D, labels as tf.Tensor4D);
    const [n, x, y] = labels.shape as [number, number, number];
    return tf.tidy(() => ({ ...supervisedLoss(tf.reshape(logits, [n, x, y, 1, 2]), tf.reshape(labels, [n, x, y, 1])) }));
  }
  return tf.tidy(() => {
    const indices = toInt32(labels);
    const ce = crossEntropy(logits, indices);
    const dice = diceOfIndices(tf.softmax(logits), indices, classes);
    return { loss: tf.mul(tf.add(ce, dice), 0.5) as tf.Scalar, ce, dice };
  });
}

/**
 * The ACDC unsupervised Dice: multi-class Dice of softmax(logits) against the argmax of the
 * pseudo-label probabilities (same shape as the logits, classes last).
 */
export function pseudoLabelDiceLoss(logits: tf.Tensor, pseudoProb: tf.Tensor): tf.Scalar {
  checkLogitsAndProbabilities(logits, pseudoProb);
  const classes = logits.shape[logits.rank - 1]!;
  return tf.tidy(() => diceOfIndices(tf.softmax(logits), tf.argMax(pseudoProb, -1), classes));
}

/**
 * Throws a TracocoError naming `labels` unless every value is an integer in [0, classes): an
 * out-of-range label would otherwise one-hot to all zeros and vanish from CE and Dice silently.
 */
export function checkClassIndices(labels: tf.Tensor, classes: number): void {
  if (labels.size === 0) return;
  const stats = tf.tidy(() => {
    const f = tf.cast(labels, 'float32');
    const fractional = labels.dtype === 'int32' ? tf.scalar(0) : tf.max(tf.abs(tf.sub(f, tf.round(f))));
    return tf.stack([tf.min(f), tf.max(f), fractional]);
  });
  const [min, max, fractional] = Array.from(stats.dataSync());
  stats.dispose();
  if (fractional !== 0) throw new TracocoError('class labels must be integers', { field: 'labels' });
  if (min! < 0 || max! >= classes) {
    const bad = min! < 0 ? min : max;
    throw new TracocoError(`label value ${bad} is outside the classes 0…${classes - 1}`, { field: 'labels' });
  }
}

function diceOfIndices(prob: tf.Tensor, indices: tf.Tensor, classes: number): tf.Scalar {
  const t = tf.oneHot(indices, classes, 1, 0, 'float32');
  const axes = Array.from({ length: prob.rank - 1 }, (_, k) => k);
  const intersection = tf.sum(tf.mul(prob, t), axes);
  // Σt² = Σt for a one-hot target.
  const denominator = tf.add(tf.add(tf.sum(tf.square(prob), axes), tf.sum(t, axes)), DICE_SMOOTH);
  const perClass = tf.sub(1, tf.div(tf.add(tf.mul(intersection, 2), DICE_SMOOTH), denominator));
  return tf.mean(perClass) as tf.Scalar;
}

function toInt32(labels: tf.Tensor): tf.Tensor {
  return labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
}

/** `values` [N, …, C] with C ≥ 2 and `labels` [N, …] of the same leading shape; returns C. */
function checkClassesLast(values: tf.Tensor, labels: tf.Tensor, field: string): number {
  if (values.rank < 2) throw new TracocoError(`expected [N, …, C], got shape [${values.shape}]`, { field });
  const classes = values.shape[values.rank - 1]!;
  if (classes < 2) throw new TracocoError(`needs at least 2 classes, got ${classes}`, { field });
  if (labels.rank !== values.rank - 1 || labels.shape.some((d, k) => d !== values.shape[k])) {
    throw new TracocoError(`shape [${labels.shape}] does not match ${field} [${values.shape}] without its class axis`, { field: 'labels' });
  }
  return classes;
}
