/** CRC loss: against an independent float64 implementation, empty masks, argmin negatives, leaks. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions: tfjs-core's Node bundle registers none; the tfjs umbrella package does.
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { crcLoss } from '../../src/shared/losses/crc.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

function randomArray(r: Random, n: number, lo: number, hi: number): Float64Array {
  return Float64Array.from({ length: n }, () => r.range(lo, hi));
}

function softmaxRow(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * The reference formulation in float64, voxel by voxel (classes last): the negative target is
 * 1 − argmax for two classes (as the published code) and argmin p otherwise.
 */
function referenceCrc(logits: Float64Array, prob: Float64Array, classes: number, threshold: number, negThreshold: number) {
  let posSum = 0, posCount = 0, negSum = 0, negCount = 0;
  const voxels = logits.length / classes;
  for (let v = 0; v < voxels; v++) {
    const p = Array.from(prob.subarray(v * classes, (v + 1) * classes));
    const q = softmaxRow(logits.subarray(v * classes, (v + 1) * classes));
    const y = p.indexOf(Math.max(...p));
    const yNeg = classes === 2 ? 1 - y : p.indexOf(Math.min(...p));
    if (Math.max(...p) >= threshold) {
      posSum += -Math.log(q[y]!) * Math.max(...p);
      posCount++;
    }
    if (Math.min(...p) < negThreshold) {
      negSum += -Math.log(Math.min(Math.max(1 - q[yNeg]!, 1e-6), 1)) * Math.min(...p);
      negCount++;
    }
  }
  const positive = posCount > 0 ? posSum / posCount : 0;
  const negative = negCount > 0 ? negSum / negCount : 0;
  return { loss: positive + negative, positive, negative, positiveRatio: posCount / voxels, negativeRatio: negCount / voxels };
}

function randomCase(seed: number, shape: [number, number, number, number, number]) {
  const r = new Random(seed);
  const classes = shape[4];
  const n = shape.reduce((a, b) => a * b, 1);
  const logits = randomArray(r, n, -3, 3);
  const pseudoLogits = randomArray(r, n, -4, 4);
  const prob = new Float64Array(n);
  for (let v = 0; v < n / classes; v++) prob.set(softmaxRow(pseudoLogits.subarray(v * classes, (v + 1) * classes)), v * classes);
  return { logits, prob, classes };
}

function scalarOf(s: tf.Scalar): number {
  return s.dataSync()[0]!;
}

for (const [classes, threshold, negThreshold] of [
  [2, 0.65, 0.1],
  [2, 0.9, 0.3],
  [3, 0.6, 0.05],
  [4, 0.5, 0.15],
] as const) {
  test(`CRC matches a float64 reference: ${classes} classes, γ=${threshold}, β=${negThreshold}`, () => {
    const shape: [number, number, number, number, number] = [2, 3, 4, 2, classes];
    const { logits, prob } = randomCase(1000 + classes * 10 + threshold * 100, shape);
    const expected = referenceCrc(logits, prob, classes, threshold, negThreshold);
    assert.ok(expected.positiveRatio > 0 && expected.negativeRatio > 0, 'test data should fill both masks');
    const l = tf.tensor5d(Float32Array.from(logits), shape);
    const p = tf.tensor5d(Float32Array.from(prob), shape);
    const r = crcLoss(l, p, { threshold, negThreshold });
    assert.ok(Math.abs(scalarOf(r.positive) - expected.positive) < 1e-5, `positive ${scalarOf(r.positive)} vs ${expected.positive}`);
    assert.ok(Math.abs(scalarOf(r.negative) - expected.negative) < 1e-5, `negative ${scalarOf(r.negative)} vs ${expected.negative}`);
    assert.ok(Math.abs(scalarOf(r.loss) - expected.loss) < 1e-5, `loss ${scalarOf(r.loss)} vs ${expected.loss}`);
    assert.equal(r.positiveRatio, expected.positiveRatio);
    assert.equal(r.negativeRatio, expected.negativeRatio);
    tf.dispose([l, p, r.loss, r.positive, r.negative]);
  });
}

test('CRC defaults are γ = 0.65, β = 0.1', () => {
  const shape: [number, number, number, number, number] = [1, 4, 3, 2, 2];
  const { logits, prob } = randomCase(7, shape);
  const expected = referenceCrc(logits, prob, 2, 0.65, 0.1);
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const p = tf.tensor5d(Float32Array.from(prob), shape);
  const r = crcLoss(l, p);
  assert.ok(Math.abs(scalarOf(r.loss) - expected.loss) < 1e-5);
  tf.dispose([l, p, r.loss, r.positive, r.negative]);
});

test('empty masks give 0, not NaN, with a zero gradient', () => {
  const shape: [number, number, number, number, number] = [1, 2, 2, 2, 3];
  const { logits, prob } = randomCase(11, shape);
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const p = tf.tensor5d(Float32Array.from(prob), shape);
  // No probability reaches 1.5 and none is below 0: both masks are empty.
  const r = crcLoss(l, p, { threshold: 1.5, negThreshold: 0 });
  assert.equal(scalarOf(r.positive), 0);
  assert.equal(scalarOf(r.negative), 0);
  assert.equal(scalarOf(r.loss), 0);
  assert.equal(r.positiveRatio, 0);
  assert.equal(r.negativeRatio, 0);
  const grad = tf.grad((x: tf.Tensor) => crcLoss(x as tf.Tensor5D, p, { threshold: 1.5, negThreshold: 0 }).loss)(l);
  assert.ok(Array.from(grad.dataSync()).every((g) => g === 0));
  tf.dispose([l, p, r.loss, r.positive, r.negative, grad]);
});

test('3-class CRC takes the least likely class (argmin p) as the negative target', () => {
  const logitsRow = [0.3, -0.2, 1.1];
  const probRow = [0.25, 0.7, 0.05]; // argmax 1, argmin 2; "1 − argmax" would be class 0
  const l = tf.tensor5d(logitsRow, [1, 1, 1, 1, 3]);
  const p = tf.tensor5d(probRow, [1, 1, 1, 1, 3]);
  const r = crcLoss(l, p, { threshold: 0.65, negThreshold: 0.1 });
  const q = softmaxRow(logitsRow);
  assert.ok(Math.abs(scalarOf(r.negative) - -Math.log(1 - q[2]!) * 0.05) < 1e-6);
  assert.ok(Math.abs(scalarOf(r.negative) - -Math.log(1 - q[0]!) * 0.05) > 1e-3, 'class 0 must not be the negative target');
  assert.ok(Math.abs(scalarOf(r.positive) - -Math.log(q[1]!) * 0.7) < 1e-6);
  assert.equal(r.positiveRatio, 1);
  assert.equal(r.negativeRatio, 1);
  tf.dispose([l, p, r.loss, r.positive, r.negative]);
});

test('the inverse probability is clamped at 1e-6 before its log', () => {
  // softmax(logits)[1] = 1 in float32, so 1 − p = 0 and the negative NLL is −log 1e-6.
  const l = tf.tensor5d([-60, 60], [1, 1, 1, 1, 2]);
  const p = tf.tensor5d([0.95, 0.05], [1, 1, 1, 1, 2]); // negative target: class 1
  const r = crcLoss(l, p, { threshold: 2, negThreshold: 0.1 });
  assert.ok(Math.abs(scalarOf(r.negative) - -Math.log(1e-6) * 0.05) < 1e-4, `negative ${scalarOf(r.negative)}`);
  tf.dispose([l, p, r.loss, r.positive, r.negative]);
});

test('uint16 quantisation of the pseudo-labels changes CRC by < 1e-4', () => {
  const shape: [number, number, number, number, number] = [2, 4, 3, 2, 2];
  const { logits, prob } = randomCase(23, shape);
  const quantised = Float32Array.from(prob, (v) => Math.round(v * 65535) / 65535);
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const exact = tf.tensor5d(Float32Array.from(prob), shape);
  const wire = tf.tensor5d(quantised, shape);
  const a = crcLoss(l, exact);
  const b = crcLoss(l, wire);
  assert.ok(Math.abs(scalarOf(a.loss) - scalarOf(b.loss)) < 1e-4);
  tf.dispose([l, exact, wire, a.loss, a.positive, a.negative, b.loss, b.positive, b.negative]);
});

test('CRC rejects mismatched shapes and bad thresholds naming the field', () => {
  const l = tf.zeros([1, 2, 2, 2, 2]) as tf.Tensor5D;
  const p = tf.zeros([1, 2, 2, 2, 3]) as tf.Tensor5D;
  const one = tf.zeros([1, 2, 2, 2, 1]) as tf.Tensor5D;
  assert.throws(() => crcLoss(l, p), (e: unknown) => e instanceof TracocoError && /pseudoProb/.test(e.message));
  assert.throws(() => crcLoss(tf.zeros([2, 2, 2, 2]) as unknown as tf.Tensor5D, l), (e: unknown) => e instanceof TracocoError && /logits/.test(e.message));
  assert.throws(() => crcLoss(one, one), (e: unknown) => e instanceof TracocoError && /2 classes/.test(e.message));
  assert.throws(() => crcLoss(l, l, { threshold: Number.NaN }), (e: unknown) => e instanceof TracocoError && /threshold/.test(e.message));
  tf.dispose([l, p, one]);
});

test('CRC leaks no tensors', () => {
  const shape: [number, number, number, number, number] = [1, 3, 2, 2, 3];
  const { logits, prob } = randomCase(5, shape);
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const p = tf.tensor5d(Float32Array.from(prob), shape);
  const before = tf.memory().numTensors;
  const r = crcLoss(l, p);
  tf.dispose([r.loss, r.positive, r.negative]);
  const grad = tf.grad((x: tf.Tensor) => crcLoss(x as tf.Tensor5D, p).loss)(l);
  grad.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([l, p]);
});
