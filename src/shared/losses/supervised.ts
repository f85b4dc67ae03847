/**
 * Supervised loss on the labelled half (GUIDE §5):
 *   loss = 0.5 × (CE(logits, labels) + DiceLoss(softmax(logits)[..., 1], labels == 1))
 * CE is averaged over voxels; DiceLoss(p, t) = 1 − (2Σpt + 1e-5)/(Σp² + Σt² + 1e-5) over the
 * whole batch, as the reference's `dice_loss`.
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers tfjs's gradients (tfjs-core alone has none): the loss is differentiated in training.
import '@tensorflow/tfjs';
import { TracocoError } from '../errors.js';
import { backendHasKernel } from '../model/layers.js';

export const DICE_SMOOTH = 1e-5;

/**
 * The loss as fused kernels a backend may register (native: one pass over the logits forward, two
 * backward), instead of tfjs's softmax, logSoftmax, oneHot, products and sums:
 *   'TracocoSupervisedLoss'     inputs {logits [N,x,y,z,C], labels int32 [N,x,y,z]} -> [3]: loss, ce, dice
 *   'TracocoSupervisedLossGrad' inputs {logits, labels, dy [3]}                      -> d(dy · [loss, ce, dice]) / dlogits
 * Labels outside [0, C) have no CE target, as with tfjs's oneHot.
 */
export const SUPERVISED_LOSS_KERNEL = 'TracocoSupervisedLoss';
export const SUPERVISED_LOSS_GRAD_KERNEL = 'TracocoSupervisedLossGrad';

export interface SupervisedLoss {
  loss: tf.Scalar;
  ce: tf.Scalar;
  dice: tf.Scalar;
}

/** `logits` [N, x, y, z, C] (C ≥ 2), `labels` [N, x, y, z] class indices (int32, or floats holding integers). */
export function supervisedLoss(logits: tf.Tensor5D, labels: tf.Tensor4D): SupervisedLoss {
  checkShapes(logits, labels);
  return tf.tidy(() => {
    const indices = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
    if (backendHasKernel(SUPERVISED_LOSS_KERNEL)) return { ...fusedSupervisedLoss(logits, indices) };
    const ce = crossEntropy(logits, indices);
    const dice = diceLoss(foregroundProbability(logits), tf.cast(tf.equal(indices, 1), 'float32'));
    const loss = tf.mul(tf.add(ce, dice), 0.5) as tf.Scalar;
    return { loss, ce, dice };
  });
}

/** The three terms from the fused kernels; the gradient flows to `logits` only. */
function fusedSupervisedLoss(logits: tf.Tensor5D, indices: tf.Tensor): SupervisedLoss {
  const terms = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, labels, save] = args as [tf.Tensor5D, tf.Tensor, tf.GradSaveFunc];
    save([z, labels]);
    return {
      value: tf.engine().runKernel(SUPERVISED_LOSS_KERNEL, { logits: z, labels }, {}) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, ls] = saved as [tf.Tensor5D, tf.Tensor];
        return [tf.engine().runKernel(SUPERVISED_LOSS_GRAD_KERNEL, { logits: zs, labels: ls, dy }, {}) as tf.Tensor, tf.zerosLike(ls)];
      },
    };
  })(logits, indices) as tf.Tensor1D;
  const term = (i: number) => tf.reshape(tf.slice(terms, [i], [1]), []) as tf.Scalar;
  return { loss: term(0), ce: term(1), dice: term(2) };
}

/** Mean voxel cross-entropy of `logits` [N, …, C] against int32 class `indices` [N, …] (any rank). */
export function crossEntropy(logits: tf.Tensor, indices: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const target = tf.oneHot(indices, logits.shape[logits.rank - 1]!, 1, 0, 'float32');
    return tf.mean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), target), -1))) as tf.Scalar;
  });
}

/** softmax(logits)[..., 1]: the foreground probability the Dice term reads, [N, x, y, z]. */
export function foregroundProbability(logits: tf.Tensor5D): tf.Tensor4D {
  return tf.tidy(() => tf.squeeze(tf.slice(tf.softmax(logits), [0, 0, 0, 0, 1], [-1, -1, -1, -1, 1]), [4]) as tf.Tensor4D);
}

/** 1 − (2Σpt + 1e-5)/(Σp² + Σt² + 1e-5) over every element. */
export function diceLoss(p: tf.Tensor, t: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const intersection = tf.sum(tf.mul(p, t));
    const denominator = tf.add(tf.add(tf.sum(tf.square(p)), tf.sum(tf.square(t))), DICE_SMOOTH);
    return tf.sub(1, tf.div(tf.add(tf.mul(intersection, 2), DICE_SMOOTH), denominator)) as tf.Scalar;
  });
}

function checkShapes(logits: tf.Tensor, labels: tf.Tensor): void {
  if (logits.rank !== 5 || logits.shape[4]! < 2) {
    throw new TracocoError(`expected [N, x, y, z, C] with C ≥ 2, got [${logits.shape.join(', ')}]`, { field: 'logits' });
  }
  if (labels.rank !== 4 || labels.shape.some((d, k) => d !== logits.shape[k])) {
    throw new TracocoError(`shape [${labels.shape.join(', ')}] does not match the logits' [${logits.shape.join(', ')}]`, { field: 'labels' });
  }
}
