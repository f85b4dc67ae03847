/**
 * Confidence-aware cross-consistency (CRC, GUIDE §5, §5b) on the unlabelled half. Pseudo-labels
 * arrive as probabilities p = softmax(peer logits), the form the wire carries:
 *   positive = mean over voxels with max p ≥ threshold of NLL(log softmax(logits), argmax p) × max p
 *   negative (form `least-likely`, the LA code) = mean over voxels with min p < negThreshold of
 *              NLL(log clamp(1 − softmax(logits), 1e-6, 1), argmin p) × min p
 *   negative (form `reference`, the published ACDC code) = mean over (voxel, class) of the voxels
 *              with min p < negThreshold of log clamp(1 − q_c, 1e-6, 1) × w_c × min p,
 *              w_c = −2 for class argmax p and −1 for the others
 * An empty mask gives 0. argmin p is the reference's 1 − argmax for two classes and the least
 * likely class for more. Tensors are classes last: [N, x, y, C] (2D slices) or [N, x, y, z, C].
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';

/** The negative term's two forms (GUIDE §5b); both give the same positive term. */
export type CrcForm = 'least-likely' | 'reference';
export const CRC_FORMS: readonly CrcForm[] = ['least-likely', 'reference'];

export interface CrcOptions {
  /** γ: a voxel is a confident positive when max p ≥ threshold. */
  threshold?: number;
  /** β: a voxel is a confident negative when min p < negThreshold. */
  negThreshold?: number;
  /** Negative term: `least-likely` (default, what every run computed before) or `reference`. */
  form?: CrcForm;
}

export interface CrcLoss {
  /** positive + negative. */
  loss: tf.Scalar;
  positive: tf.Scalar;
  negative: tf.Scalar;
  /** Fraction of voxels in the positive mask (metric `pseudo_label_confident_ratio{kind="positive"}`). */
  positiveRatio: number;
  /** Fraction of voxels in the negative mask. */
  negativeRatio: number;
}

export const CRC_DEFAULTS: Required<CrcOptions> = { threshold: 0.65, negThreshold: 0.1, form: 'least-likely' };

/** The reference clamps 1 − softmax to this floor before its log. */
const INVERSE_PROB_FLOOR = 1e-6;

/** CRC of student `logits` against pseudo-label probabilities of the same shape (classes last). */
export function crcLoss(logits: tf.Tensor, pseudoProb: tf.Tensor, options: CrcOptions = {}): CrcLoss {
  const { threshold, negThreshold, form } = { ...CRC_DEFAULTS, ...options };
  checkThreshold(threshold, 'threshold');
  checkThreshold(negThreshold, 'negThreshold');
  checkForm(form);
  checkLogitsAndProbabilities(logits, pseudoProb);
  const classes = logits.shape[logits.rank - 1]!;
  const { loss, positive, negative, counts } = tf.tidy(() => {
    const posWeight = tf.max(pseudoProb, -1);
    const negWeight = tf.min(pseudoProb, -1);
    const posMask = tf.cast(tf.greaterEqual(posWeight, threshold), 'float32');
    const negMask = tf.cast(tf.less(negWeight, negThreshold), 'float32');
    const posTarget = tf.oneHot(tf.argMax(pseudoProb, -1), classes, 1, 0, 'float32');

    const posNll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), posTarget), -1));
    const inverseProb = tf.clipByValue(tf.sub(1, tf.softmax(logits)), INVERSE_PROB_FLOOR, 1);

    const positive = maskedMean(tf.mul(posNll, posWeight), posMask);
    const negative =
      form === 'least-likely'
        ? leastLikelyNegative(tf.log(inverseProb), pseudoProb, negWeight, negMask, classes)
        : referenceNegative(tf.log(inverseProb), posTarget, negWeight, negMask, classes);
    return { loss: tf.add(positive, negative) as tf.Scalar, positive, negative, counts: tf.stack([tf.sum(posMask), tf.sum(negMask)]) };
  });
  const [posCount, negCount] = counts.dataSync();
  counts.dispose();
  const voxels = Math.max(pseudoProb.size / classes, 1); // an empty batch has empty masks: ratios 0
  return { loss, positive, negative, positiveRatio: posCount! / voxels, negativeRatio: negCount! / voxels };
}

/** The LA form: NLL of the inverse probabilities against the least likely class, × min p. */
function leastLikelyNegative(logInverse: tf.Tensor, pseudoProb: tf.Tensor, negWeight: tf.Tensor, negMask: tf.Tensor, classes: number): tf.Scalar {
  const negTarget = tf.oneHot(tf.argMin(pseudoProb, -1), classes, 1, 0, 'float32');
  const negNll = tf.neg(tf.sum(tf.mul(logInverse, negTarget), -1));
  return maskedMean(tf.mul(negNll, negWeight), negMask);
}

/**
 * The published ACDC form. Its weights come from a bitwise NOT of the integer one-hot of argmax p
 * (~1 = −2, ~0 = −1), so every class is penalised, the pseudo-label's twice; kept as published.
 * The mean runs over (voxel, class) pairs of the masked voxels.
 */
function referenceNegative(logInverse: tf.Tensor, posTarget: tf.Tensor, negWeight: tf.Tensor, negMask: tf.Tensor, classes: number): tf.Scalar {
  const weights = tf.sub(tf.neg(posTarget), 1);
  const perClass = tf.mul(tf.mul(logInverse, weights), tf.expandDims(negWeight, -1));
  const masked = tf.sum(tf.mul(perClass, tf.expandDims(negMask, -1)));
  return tf.div(masked, tf.maximum(tf.mul(tf.sum(negMask), classes), 1));
}

/** Mean of `values` over voxels where `mask` is 1; 0 (not NaN) when the mask is empty. */
function maskedMean(values: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1));
}

function checkThreshold(value: number, field: string): void {
  if (!Number.isFinite(value)) throw new TracocoError(`must be a finite number, got ${value}`, { field });
}

function checkForm(form: string): void {
  if (!(CRC_FORMS as readonly string[]).includes(form)) {
    throw new TracocoError(`unknown CRC form '${form}' (expected ${CRC_FORMS.join(' or ')})`, { field: 'crc' });
  }
}

/**
 * Student logits and pseudo-label probabilities: both [N, x, y, C] (2D) or [N, x, y, z, C] (3D),
 * the same shape, C ≥ 2.
 */
export function checkLogitsAndProbabilities(logits: tf.Tensor, pseudoProb: tf.Tensor): void {
  if (logits.rank !== 4 && logits.rank !== 5) {
    throw new TracocoError(`expected [N, x, y, C] or [N, x, y, z, C], got shape [${logits.shape}]`, { field: 'logits' });
  }
  if (pseudoProb.shape.length !== logits.rank || pseudoProb.shape.some((d, k) => d !== logits.shape[k])) {
    throw new TracocoError(`shape [${pseudoProb.shape}] differs from the logits' [${logits.shape}]`, { field: 'pseudoProb' });
  }
  const classes = logits.shape[logits.rank - 1]!;
  if (classes < 2) throw new TracocoError(`needs at least 2 classes, got ${classes}`, { field: 'logits' });
}
