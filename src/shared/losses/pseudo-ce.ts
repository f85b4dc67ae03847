/**
 * The "no CRC" ablation (`crc: false`): plain cross-entropy of the student logits against the
 * hard pseudo-label argmax p, averaged over every voxel (no confidence masks or weights).
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkLogitsAndProbabilities } from './crc.js';

/** Mean over voxels of −log softmax(logits)[argmax p]; logits and p are [N, x, y, (z,) C]. */
export function pseudoLabelCrossEntropy(logits: tf.Tensor, pseudoProb: tf.Tensor): tf.Scalar {
  checkLogitsAndProbabilities(logits, pseudoProb);
  return tf.tidy(() => {
    const target = tf.oneHot(tf.argMax(pseudoProb, -1), logits.shape[logits.rank - 1]!, 1, 0, 'float32');
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), target), -1));
    const voxels = Math.max(nll.size, 1); // an empty batch gives 0, not NaN
    return tf.div(tf.sum(nll), voxels) as tf.Scalar;
  });
}
