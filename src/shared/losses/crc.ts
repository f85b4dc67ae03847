/**
 * Confidence-aware cross-consistency (CRC, GUIDE §5) on the unlabelled half. Pseudo-labels arrive
 * as probabilities p = softmax(peer logits), the form the wire carries:
 *   positive = mean over voxels with max p ≥ threshold of NLL(log softmax(logits), argmax p) × max p
 *   negative = mean over voxels with min p < negThreshold of
 *              NLL(log clamp(1 − softmax(logits), 1e-6, 1), argmin p) × min p
 * An empty mask gives 0. argmin p is the reference's 1 − argmax for two classes and the least
 * likely class for more.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';

export interface CrcOptions {
  /** γ: a voxel is a confident positive when max p ≥ threshold. */
  threshold?: number;
  /** β: a voxel is a confident negative when min p < negThreshold. */
  negThreshold?: number;
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

export const CRC_DEFAULTS: Required<CrcOptions> = { threshold: 0.65, negThreshold: 0.1 };

/** The reference clamps 1 − softmax to this floor before its log. */
const INVERSE_PROB_FLOOR = 1e-6;

/** CRC of student `logits` [N, x, y, z, C] against pseudo-label probabilities of the same shape. */
export function crcLoss(logits: tf.Tensor5D, pseudoProb: tf.Tensor5D, options: CrcOptions = {}): CrcLoss {
  const { threshold, negThreshold } = { ...CRC_DEFAULTS, ...options };
  checkThreshold(threshold, 'threshold');
  checkThreshold(negThreshold, 'negThreshold');
  checkLogitsAndProbabilities(logits, pseudoProb);
  const classes = logits.shape[4];
  const { loss, positive, negative, counts } = tf.tidy(() => {
    const posWeight = tf.max(pseudoProb, -1);
    const negWeight = tf.min(pseudoProb, -1);
    const posMask = tf.cast(tf.greaterEqual(posWeight, threshold), 'float32');
    const negMask = tf.cast(tf.less(negWeight, negThreshold), 'float32');
    const posTarget = tf.oneHot(tf.argMax(pseudoProb, -1), classes, 1, 0, 'float32');
    const negTarget = tf.oneHot(tf.argMin(pseudoProb, -1), classes, 1, 0, 'float32');

    const posNll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), posTarget), -1));
    const inverseProb = tf.clipByValue(tf.sub(1, tf.softmax(logits)), INVERSE_PROB_FLOOR, 1);
    const negNll = tf.neg(tf.sum(tf.mul(tf.log(inverseProb), negTarget), -1));

    const positive = maskedMean(tf.mul(posNll, posWeight), posMask);
    const negative = maskedMean(tf.mul(negNll, negWeight), negMask);
    return { loss: tf.add(positive, negative) as tf.Scalar, positive, negative, counts: tf.stack([tf.sum(posMask), tf.sum(negMask)]) };
  });
  const [posCount, negCount] = counts.dataSync();
  counts.dispose();
  const voxels = Math.max(pseudoProb.size / classes, 1); // an empty batch has empty masks: ratios 0
  return { loss, positive, negative, positiveRatio: posCount! / voxels, negativeRatio: negCount! / voxels };
}

/** Mean of `values` over voxels where `mask` is 1; 0 (not NaN) when the mask is empty. */
function maskedMean(values: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1));
}

function checkThreshold(value: number, field: string): void {
  if (!Number.isFinite(value)) throw new TracocoError(`must be a finite number, got ${value}`, { field });
}

/** Student logits and pseudo-label probabilities: both [N, x, y, z, C], same shape, C ≥ 2. */
export function checkLogitsAndProbabilities(logits: tf.Tensor, pseudoProb: tf.Tensor): void {
  if (logits.rank !== 5) throw new TracocoError(`expected [N, x, y, z, C], got shape [${logits.shape}]`, { field: 'logits' });
  if (pseudoProb.shape.length !== 5 || pseudoProb.shape.some((d, k) => d !== logits.shape[k])) {
    throw new TracocoError(`shape [${pseudoProb.shape}] differs from the logits' [${logits.shape}]`, { field: 'pseudoProb' });
  }
  if (logits.shape[4]! < 2) throw new TracocoError(`needs at least 2 classes, got ${logits.shape[4]}`, { field: 'logits' });
}
