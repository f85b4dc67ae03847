/** Every loss is differentiable w.r.t. the student logits: tf.grad agrees with central finite differences. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions: tfjs-core's Node bundle registers none; the tfjs umbrella package does.
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { crcLoss } from '../../src/shared/losses/crc.js';
import { pseudoLabelCrossEntropy } from '../../src/shared/losses/pseudo-ce.js';
import { translationLoss, translationTarget } from '../../src/shared/losses/translation.js';
import { negativeEntropy } from '../../src/shared/losses/entropy.js';
import { multiClassSupervisedLoss, pseudoLabelDiceLoss } from '../../src/shared/losses/multiclass.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

/** float32 central differences: step 1e-2 balances truncation (~h²) against rounding (~1e-7/h). */
const STEP = 1e-2;
const TOLERANCE = { abs: 5e-5, rel: 1e-2 };

function assertGradientMatches(name: string, f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor): void {
  const analytic = tf.grad(f)(x);
  const g = analytic.dataSync();
  analytic.dispose();
  const base = x.dataSync();
  let nonZero = 0;
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number) =>
      tf.tidy(() => {
        const values = Float32Array.from(base);
        values[i] = values[i]! + delta;
        return f(tf.tensor(values, x.shape)).dataSync()[0]!;
      });
    const numeric = (at(STEP) - at(-STEP)) / (2 * STEP);
    const allowed = TOLERANCE.abs + TOLERANCE.rel * Math.abs(numeric);
    assert.ok(Math.abs(g[i]! - numeric) <= allowed, `${name}: d/dx[${i}] analytic ${g[i]} vs numeric ${numeric}`);
    if (Math.abs(g[i]!) > 1e-3) nonZero++;
  }
  assert.ok(nonZero > 0, `${name}: the gradient should not vanish on this input`);
}

function randomTensor(r: Random, shape: number[], lo: number, hi: number): tf.Tensor {
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.range(lo, hi)), shape);
}

test('CRC gradient (2 and 3 classes) matches finite differences', () => {
  for (const classes of [2, 3]) {
    const r = new Random(40 + classes);
    const shape = [1, 2, 2, 2, classes];
    const logits = randomTensor(r, shape, -2, 2);
    const prob = tf.tidy(() => tf.softmax(randomTensor(r, shape, -3, 3))) as tf.Tensor5D;
    // Thresholds chosen so both masks hold voxels on this draw (checked by the ratios).
    const options = { threshold: 0.55, negThreshold: 0.3 };
    const check = crcLoss(logits as tf.Tensor5D, prob, options);
    assert.ok(check.positiveRatio > 0 && check.negativeRatio > 0);
    tf.dispose([check.loss, check.positive, check.negative]);
    assertGradientMatches(`crc ${classes} classes`, (x) => crcLoss(x as tf.Tensor5D, prob, options).loss, logits);
    tf.dispose([logits, prob]);
  }
});

test('pseudo-label CE gradient matches finite differences', () => {
  const r = new Random(50);
  const logits = randomTensor(r, [1, 2, 2, 1, 3], -2, 2);
  const prob = tf.tidy(() => tf.softmax(randomTensor(r, [1, 2, 2, 1, 3], -3, 3))) as tf.Tensor5D;
  assertGradientMatches('pseudo CE', (x) => pseudoLabelCrossEntropy(x as tf.Tensor5D, prob), logits);
  tf.dispose([logits, prob]);
});

for (const mode of ['class', 'reference'] as const) {
  for (const classes of [2, 4]) {
    test(`translation loss (${mode}, ${classes} classes) gradient w.r.t. a matches finite differences`, () => {
      const r = new Random((mode === 'class' ? 60 : 61) + 10 * classes);
      // Reference-mode logits inside (1e-6, 1) by more than the step, away from the clamp's kinks.
      const [lo, hi] = mode === 'class' ? [-2, 2] : [0.1, 0.9];
      const a = randomTensor(r, [3, 2, 1, classes], lo, hi) as tf.Tensor4D;
      const target = tf.tidy(() => translationTarget(randomTensor(r, [3, 2, 1, classes], lo, hi) as tf.Tensor4D, mode));
      assertGradientMatches(`translation ${mode}`, (x) => translationLoss([x as tf.Tensor4D], [target], { mode }).loss, a);
      tf.dispose([a, target]);
    });
  }
}

test('intra pairing: gradient through the target logits matches finite differences', () => {
  const r = new Random(70);
  const a = randomTensor(r, [2, 2, 1, 3], -2, 2) as tf.Tensor4D;
  const b = randomTensor(r, [2, 2, 1, 3], -2, 2);
  assertGradientMatches('intra target', (x) => translationLoss([a], [translationTarget(x as tf.Tensor4D, 'class')], { mode: 'class' }).loss, b);
  tf.dispose([a, b]);
});

test('negative entropy gradient matches finite differences', () => {
  const r = new Random(80);
  const view = randomTensor(r, [2, 2, 1, 3], 0.1, 0.9) as tf.Tensor4D;
  assertGradientMatches('neg entropy', (x) => negativeEntropy([x as tf.Tensor4D], 'reference'), view);
  view.dispose();
});

test('CRC reference form gradient (2D, 4 classes) matches finite differences', () => {
  const r = new Random(90);
  const shape = [2, 2, 2, 4];
  const logits = randomTensor(r, shape, -2, 2);
  const prob = tf.tidy(() => tf.softmax(randomTensor(r, shape, -3, 3)));
  const options = { threshold: 0.5, negThreshold: 0.2, form: 'reference' as const };
  const check = crcLoss(logits, prob, options);
  assert.ok(check.positiveRatio > 0 && check.negativeRatio > 0);
  tf.dispose([check.loss, check.positive, check.negative]);
  assertGradientMatches('crc reference', (x) => crcLoss(x, prob, options).loss, logits);
  tf.dispose([logits, prob]);
});

test('multi-class supervised loss and pseudo-label Dice gradients (4 classes) match finite differences', () => {
  const r = new Random(91);
  const shape = [2, 2, 2, 1, 4];
  const logits = randomTensor(r, shape, -2, 2);
  const labels = tf.tensor4d(Int32Array.from({ length: 8 }, (_, i) => (i * 3) % 4), [2, 2, 2, 1], 'int32');
  const prob = tf.tidy(() => tf.softmax(randomTensor(r, shape, -3, 3)));
  assertGradientMatches('multi-class supervised', (x) => multiClassSupervisedLoss(x, labels).loss, logits);
  assertGradientMatches('pseudo-label Dice', (x) => pseudoLabelDiceLoss(x, prob), logits);
  tf.dispose([logits, labels, prob]);
});
