/**
 * Dice terms normalised over several replicas (data-parallel pairs, step.ts). A Dice loss is a
 * function of sums over the WHOLE batch, so each replica sends its sums, receives the global
 * ones, and differentiates a surrogate linear in its own sums whose coefficients are the global
 * derivatives: summing the replicas' gradients then gives exactly the one-model gradient.
 *
 * Multi-class Dice (GUIDE §5b): mean over classes c of 1 − (2I_c + ε)/(P_c + T_c + ε), with
 * I_c = Σp_c t_c, P_c = Σp_c², T_c = Σt_c (t one-hot). Sums travel as [I_0…I_{C−1}, P_0…, T_0…].
 */
import * as tf from '@tensorflow/tfjs-core';
import { DICE_SMOOTH } from '../losses/supervised.js';

/** Per-class Σp_c t_c, Σp_c², Σt_c of `prob` [N, …, C] against class `indices` [N, …] (3C numbers). */
export function classDiceSums(prob: tf.Tensor, indices: tf.Tensor, classes: number): number[] {
  return tf.tidy(() => {
    const [intersection, prediction, target] = sumTensors(prob, indices, classes);
    return Array.from(tf.concat([intersection, prediction, target]).dataSync());
  });
}

/** The multi-class Dice loss of global sums (what the single-replica loss computes). */
export function classDiceValue(sums: readonly number[], classes: number): number {
  let total = 0;
  for (let c = 0; c < classes; c++) {
    const { numerator, denominator } = fraction(sums, classes, c);
    total += 1 - numerator / denominator;
  }
  return total / classes;
}

/** Scalar whose gradient is this replica's share of the gradient of the Dice of `global` sums. */
export function classDiceSurrogate(prob: tf.Tensor, indices: tf.Tensor, classes: number, global: readonly number[]): tf.Scalar {
  const dIntersection = new Float32Array(classes);
  const dPrediction = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    const { numerator, denominator } = fraction(global, classes, c);
    dIntersection[c] = -2 / (classes * denominator);
    dPrediction[c] = numerator / (classes * denominator * denominator);
  }
  return tf.tidy(() => {
    const [intersection, prediction] = sumTensors(prob, indices, classes);
    return tf.add(tf.sum(tf.mul(intersection, tf.tensor1d(dIntersection))), tf.sum(tf.mul(prediction, tf.tensor1d(dPrediction)))) as tf.Scalar;
  });
}

function sumTensors(prob: tf.Tensor, indices: tf.Tensor, classes: number): [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  const t = tf.oneHot(tf.cast(indices, 'int32'), classes, 1, 0, 'float32');
  const axes = Array.from({ length: prob.rank - 1 }, (_, k) => k);
  return [tf.sum(tf.mul(prob, t), axes), tf.sum(tf.square(prob), axes), tf.sum(t, axes)];
}

function fraction(sums: readonly number[], classes: number, c: number): { numerator: number; denominator: number } {
  return { numerator: 2 * sums[c]! + DICE_SMOOTH, denominator: sums[classes + c]! + sums[2 * classes + c]! + DICE_SMOOTH };
}
