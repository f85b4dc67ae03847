/**
 * CRC's two negative forms (GUIDE §5b): `reference` (published ACDC) against a float64
 * implementation for C = 2, 3, 4 in 2D and 3D; `least-likely` (the default) bitwise as before.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions: tfjs-core's Node bundle registers none; the tfjs umbrella package does.
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { crcLoss, type CrcForm } from '../../src/shared/losses/crc.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

function softmaxRow(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The published ACDC negative term in float64, voxel by voxel (classes last). */
function referenceNegative(logits: ArrayLike<number>, prob: ArrayLike<number>, classes: number, negThreshold: number): number {
  let sum = 0;
  let pairs = 0;
  for (let v = 0; v < logits.length / classes; v++) {
    const p = Array.from(prob).slice(v * classes, (v + 1) * classes);
    const q = softmaxRow(Array.from(logits).slice(v * classes, (v + 1) * classes));
    const minP = Math.min(...p);
    if (minP >= negThreshold) continue;
    const y = p.indexOf(Math.max(...p));
    for (let c = 0; c < classes; c++) {
      sum += Math.log(Math.min(Math.max(1 - q[c]!, 1e-6), 1)) * (c === y ? -2 : -1) * minP;
      pairs++;
    }
  }
  return pairs > 0 ? sum / pairs : 0;
}

function randomCase(seed: number, shape: number[]) {
  const r = new Random(seed);
  const classes = shape[shape.length - 1]!;
  const n = shape.reduce((a, b) => a * b, 1);
  const logits = Float32Array.from({ length: n }, () => r.range(-3, 3));
  const pseudo = Float32Array.from({ length: n }, () => r.range(-4, 4));
  const prob = new Float32Array(n);
  for (let v = 0; v < n; v += classes) prob.set(softmaxRow(pseudo.subarray(v, v + classes)), v);
  return { logits, prob, classes };
}

const value = (s: tf.Scalar) => s.dataSync()[0]!;

[[2, 3, 4, 2, 2], [2, 3, 4, 2, 3], [3, 4, 5, 4], [1, 5, 3, 3]].forEach((shape, i) => {
  test(`reference form matches float64: shape [${shape}]`, () => {
    const { logits, prob, classes } = randomCase(20 + i, shape);
    const l = tf.tensor(logits, shape);
    const p = tf.tensor(prob, shape);
    const ref = crcLoss(l, p, { form: 'reference', threshold: 0.6, negThreshold: 0.15 });
    const ll = crcLoss(l, p, { threshold: 0.6, negThreshold: 0.15 });
    assert.ok(ref.negativeRatio > 0, 'test data should fill the negative mask');
    const expected = referenceNegative(logits, prob, classes, 0.15);
    assert.ok(Math.abs(value(ref.negative) - expected) < 1e-5, `negative ${value(ref.negative)} vs ${expected}`);
    // Same positive term and masks in both forms.
    assert.equal(value(ref.positive), value(ll.positive));
    assert.equal(ref.positiveRatio, ll.positiveRatio);
    assert.equal(ref.negativeRatio, ll.negativeRatio);
    assert.ok(Math.abs(value(ref.loss) - (value(ref.positive) + value(ref.negative))) < 1e-6);
    tf.dispose([l, p, ref.loss, ref.positive, ref.negative, ll.loss, ll.positive, ll.negative]);
  });
});

test('reference form on one 3-class voxel: weights −2 on the pseudo-label class, −1 elsewhere', () => {
  const logits = [0.3, -0.2, 1.1];
  const prob = [0.25, 0.7, 0.05]; // pseudo-label class 1, min p 0.05
  const l = tf.tensor4d(logits, [1, 1, 1, 3]);
  const p = tf.tensor4d(prob, [1, 1, 1, 3]);
  const r = crcLoss(l, p, { form: 'reference' });
  const q = softmaxRow(logits);
  const expected = (0.05 * -(Math.log(1 - q[0]!) + 2 * Math.log(1 - q[1]!) + Math.log(1 - q[2]!))) / 3;
  assert.ok(Math.abs(value(r.negative) - expected) < 1e-6, `negative ${value(r.negative)} vs ${expected}`);
  tf.dispose([l, p, r.loss, r.positive, r.negative]);
});

test('C = 2: the forms differ; reference = min p (−2 log(1−q_y) − log(1−q_other))/2', () => {
  const l = tf.tensor4d([0.4, -0.3], [1, 1, 1, 2]);
  const p = tf.tensor4d([0.95, 0.05], [1, 1, 1, 2]);
  const q = softmaxRow([0.4, -0.3]);
  const ref = crcLoss(l, p, { form: 'reference' });
  const ll = crcLoss(l, p, { form: 'least-likely' });
  const expectedRef = (0.05 * (-2 * Math.log(1 - q[0]!) - Math.log(1 - q[1]!))) / 2;
  const expectedLl = 0.05 * -Math.log(1 - q[1]!);
  assert.ok(Math.abs(value(ref.negative) - expectedRef) < 1e-6);
  assert.ok(Math.abs(value(ll.negative) - expectedLl) < 1e-6);
  assert.ok(Math.abs(expectedRef - expectedLl) > 1e-3);
  tf.dispose([l, p, ref.loss, ref.positive, ref.negative, ll.loss, ll.positive, ll.negative]);
});

/** The computation crcLoss ran before the forms existed, op for op (LA, 3D). */
function previousCrc(logits: tf.Tensor5D, pseudoProb: tf.Tensor5D, threshold: number, negThreshold: number): number[] {
  return tf.tidy(() => {
    const classes = logits.shape[4];
    const posWeight = tf.max(pseudoProb, -1);
    const negWeight = tf.min(pseudoProb, -1);
    const posMask = tf.cast(tf.greaterEqual(posWeight, threshold), 'float32');
    const negMask = tf.cast(tf.less(negWeight, negThreshold), 'float32');
    const posTarget = tf.oneHot(tf.argMax(pseudoProb, -1), classes, 1, 0, 'float32');
    const negTarget = tf.oneHot(tf.argMin(pseudoProb, -1), classes, 1, 0, 'float32');
    const posNll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), posTarget), -1));
    const inverseProb = tf.clipByValue(tf.sub(1, tf.softmax(logits)), 1e-6, 1);
    const negNll = tf.neg(tf.sum(tf.mul(tf.log(inverseProb), negTarget), -1));
    const mean = (v: tf.Tensor, m: tf.Tensor) => tf.div(tf.sum(tf.mul(v, m)), tf.maximum(tf.sum(m), 1));
    const positive = mean(tf.mul(posNll, posWeight), posMask);
    const negative = mean(tf.mul(negNll, negWeight), negMask);
    return Array.from(tf.stack([tf.add(positive, negative), positive, negative]).dataSync());
  });
}

for (const classes of [2, 3]) {
  test(`least-likely (explicit or default) is bitwise the previous computation: C = ${classes}`, () => {
    const shape: [number, number, number, number, number] = [2, 4, 3, 2, classes];
    const { logits, prob } = randomCase(50 + classes, shape);
    const l = tf.tensor5d(logits, shape);
    const p = tf.tensor5d(prob, shape);
    const expected = previousCrc(l, p, 0.65, 0.1);
    for (const options of [{}, { form: 'least-likely' as CrcForm }]) {
      const r = crcLoss(l, p, options);
      assert.deepEqual([value(r.loss), value(r.positive), value(r.negative)], expected);
      tf.dispose([r.loss, r.positive, r.negative]);
    }
    tf.dispose([l, p]);
  });
}

test('reference form: an empty negative mask gives 0; unknown forms and ranks other than 4 or 5 are named errors; no leaks', () => {
  const { logits, prob } = randomCase(3, [1, 2, 2, 4]);
  const l = tf.tensor4d(logits, [1, 2, 2, 4]);
  const p = tf.tensor4d(prob, [1, 2, 2, 4]);
  const before = tf.memory().numTensors;
  const empty = crcLoss(l, p, { form: 'reference', negThreshold: 0 });
  assert.equal(value(empty.negative), 0);
  tf.dispose([empty.loss, empty.positive, empty.negative]);
  const grad = tf.grad((x: tf.Tensor) => crcLoss(x, p, { form: 'reference' }).loss)(l);
  grad.dispose();
  assert.equal(tf.memory().numTensors, before);
  const isError = (re: RegExp) => (e: unknown) => e instanceof TracocoError && re.test(e.message);
  assert.throws(() => crcLoss(l, p, { form: 'argmin' as CrcForm }), isError(/field 'crc'.*unknown CRC form 'argmin'/));
  const flat = tf.zeros([4, 4]);
  assert.throws(() => crcLoss(flat, flat), isError(/field 'logits'/));
  tf.dispose([l, p, flat]);
});
