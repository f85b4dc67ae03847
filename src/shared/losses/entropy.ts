/**
 * The negative-entropy regulariser of the translation term (GUIDE §5): the mean over a list of
 * views of mean_voxels Σ_c p log p, with p the class probabilities of each view.
 *
 * Which way the regulariser pushes depends on the KL mode. `reference` adds +NegEntropy exactly as
 * the published code (there p is a softmax of logits clamped to [1e-6, 1], nearly flat, so the
 * term is small). `class` adds −NegEntropy = the entropy, so minimising the loss sharpens the
 * class probabilities; adding +NegEntropy there would push them towards uniform.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TranslationMode } from './translation-mode.js';

/** Floor of log's argument: x·log x is ≈ 0 below it, and log 0 would turn gradients into NaN. */
const LOG_FLOOR = 1e-30;

/**
 * x·log x with its limit 0 at x = 0 (quantised targets hold exact zeros). A floor inside the
 * log keeps value and gradient finite; a `where` on x > 0 would not do, as comparisons have no
 * gradient and x is on the tape.
 */
export function xLogX<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.log(tf.maximum(x, LOG_FLOOR))) as T);
}

/**
 * Class probabilities of a translation view (`translationTarget` form, classes last):
 * `class` views already are probabilities; `reference` views are clamped logits, and the
 * reference's NegEntropy takes a softmax over classes of them.
 */
export function viewProbabilities(view: tf.Tensor4D, mode: TranslationMode): tf.Tensor4D {
  return mode === 'class' ? view : tf.softmax(view);
}

/**
 * Mean over `views` of mean_voxels Σ_c p log p (≤ 0). Views are in `translationTarget` form for
 * `mode`, each [x, y, z, C]. Views without voxels are skipped; no views at all give 0.
 */
export function negativeEntropy(views: readonly tf.Tensor4D[], mode: TranslationMode): tf.Scalar {
  return tf.tidy(() => {
    const terms = views
      .filter((v) => v.size > 0)
      .map((v) => tf.mean(tf.sum(xLogX(viewProbabilities(v, mode)), -1)));
    if (terms.length === 0) return tf.scalar(0);
    return tf.div(tf.addN(terms), terms.length) as tf.Scalar;
  });
}

/** The entropy regulariser that ℓ_tra adds (× entropy_weight) for `mode`: see the module comment. */
export function entropyRegulariser(negEntropy: tf.Scalar, mode: TranslationMode): tf.Scalar {
  return mode === 'class' ? tf.neg(negEntropy) : negEntropy;
}
