/**
 * The translation-consistency term ℓ_tra (GUIDE §5): for each sample i, a_i (the student's
 * logits on f's overlap box) against b_i (the compared view on s's overlap box), both [x, y, z, C].
 *
 * b_i enters as a *target*, `translationTarget(bLogits, mode)`, which is what a peer sends over
 * the wire (values in [0, 1], quantised). With `pairing: intra` the caller computes the targets
 * from the same model's logits inside the gradient tape, so gradient flows through them; with
 * `pairing: cross` they are the peer's constants.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { entropyRegulariser, negativeEntropy, xLogX } from './entropy.js';
import { TRANSLATION_MODES, type TranslationMode } from './translation-mode.js';

export { TRANSLATION_MODES, type TranslationMode } from './translation-mode.js';


/** The reference clamps overlap logits to this range before its spatial softmax. */
export const REFERENCE_CLAMP_MIN = 1e-6;
export const REFERENCE_CLAMP_MAX = 1;

export interface TranslationLossOptions {
  mode: TranslationMode;
  /** Weight of Σ_i KL_i. */
  spatialWeight?: number;
  /** Weight of the entropy regulariser over {a_i, b_i} (see `entropyRegulariser`). */
  entropyWeight?: number;
}

export interface TranslationLoss {
  /** spatialWeight × klSum + entropyWeight × regulariser. */
  loss: tf.Scalar;
  /** Σ_i KL_i over the samples with a non-empty overlap. */
  klSum: tf.Scalar;
  /** Mean over {a_1, b_1, a_2, b_2, …} of mean_voxels Σ_c p log p (≤ 0). */
  negEntropy: tf.Scalar;
  /** What the loss adds: +negEntropy (`reference`, as published) or the entropy −negEntropy (`class`). */
  regulariser: tf.Scalar;
}

/**
 * The view a peer sends for overlap logits [x, y, z, C]: `class` → softmax over classes;
 * `reference` → logits clamped to [1e-6, 1] (the reference's first step). Both lie in [0, 1].
 */
export function translationTarget(logits: tf.Tensor4D, mode: TranslationMode): tf.Tensor4D {
  checkMode(mode);
  return mode === 'class' ? tf.softmax(logits) : tf.clipByValue(logits, REFERENCE_CLAMP_MIN, REFERENCE_CLAMP_MAX);
}

/**
 * KL_i for one sample: a = logits [x, y, z, C], target = `translationTarget(b, mode)`.
 * `class`: KL(q ‖ softmax_c(a)) with q = target, summed over classes, averaged over voxels.
 * `reference`: the published code's kl_div(log_softmax(clamp a), softmax(target)) with both
 * (log-)softmaxes over the first spatial axis x, averaged over all elements.
 */
export function translationKl(a: tf.Tensor4D, target: tf.Tensor4D, mode: TranslationMode): tf.Scalar {
  checkMode(mode);
  return tf.tidy(() => {
    if (mode === 'class') {
      const perVoxel = tf.sum(tf.sub(xLogX(target), tf.mul(target, tf.logSoftmax(a))), -1);
      return tf.mean(perVoxel) as tf.Scalar;
    }
    const logA = logSoftmaxAlong(translationTarget(a, 'reference'), 0);
    const logT = logSoftmaxAlong(target, 0);
    return tf.mean(tf.mul(tf.exp(logT), tf.sub(logT, logA))) as tf.Scalar;
  });
}

/**
 * ℓ_tra = spatialWeight × Σ_i KL_i + entropyWeight × R, R = ±NegEntropy([a_1, b_1, a_2, b_2, …])
 * (`entropyRegulariser`: the published sign in `reference` mode, sharpening in `class` mode).
 * `a` are student logits, `targets` the matching `translationTarget` views (same shapes).
 * A sample whose overlap is empty (any dimension 0) contributes nothing, as in the reference.
 */
export function translationLoss(
  a: readonly tf.Tensor4D[],
  targets: readonly tf.Tensor4D[],
  options: TranslationLossOptions,
): TranslationLoss {
  const { mode, spatialWeight = 0.3, entropyWeight = 0.1 } = options;
  checkMode(mode);
  checkWeight(spatialWeight, 'spatialWeight');
  checkWeight(entropyWeight, 'entropyWeight');
  checkPairs(a, targets);
  return tf.tidy(() => {
    const kls: tf.Scalar[] = [];
    const views: tf.Tensor4D[] = [];
    a.forEach((ai, i) => {
      if (ai.size === 0) return;
      const ti = targets[i]!;
      kls.push(translationKl(ai, ti, mode));
      views.push(translationTarget(ai, mode), ti);
    });
    const klSum: tf.Scalar = kls.length > 0 ? tf.addN(kls) : tf.scalar(0);
    const negEntropy = negativeEntropy(views, mode);
    const regulariser = entropyRegulariser(negEntropy, mode);
    const loss: tf.Scalar = tf.add(tf.mul(klSum, spatialWeight), tf.mul(regulariser, entropyWeight));
    return { loss, klSum, negEntropy, regulariser };
  });
}

/** log softmax along any axis (tf.logSoftmax only supports the last one). */
function logSoftmaxAlong<T extends tf.Tensor>(x: T, axis: number): T {
  return tf.sub(x, tf.logSumExp(x, axis, true));
}

function checkMode(mode: string): asserts mode is TranslationMode {
  if (!(TRANSLATION_MODES as readonly string[]).includes(mode)) {
    throw new TracocoError(`unknown translation KL mode '${mode}' (expected ${TRANSLATION_MODES.join(' or ')})`, { field: 'kl' });
  }
}

function checkWeight(value: number, field: string): void {
  if (!Number.isFinite(value)) throw new TracocoError(`must be a finite number, got ${value}`, { field });
}

function checkPairs(a: readonly tf.Tensor[], targets: readonly tf.Tensor[]): void {
  if (a.length !== targets.length) {
    throw new TracocoError(`${a.length} student views but ${targets.length} targets`, { field: 'targets' });
  }
  a.forEach((ai, i) => {
    const ti = targets[i]!;
    if (ai.rank !== 4) throw new TracocoError(`expected [x, y, z, C], got shape [${ai.shape}]`, { field: `a[${i}]` });
    if (ti.shape.length !== 4 || ti.shape.some((d, k) => d !== ai.shape[k])) {
      throw new TracocoError(`shape [${ti.shape}] differs from the student view's [${ai.shape}]`, { field: `targets[${i}]` });
    }
  });
}
