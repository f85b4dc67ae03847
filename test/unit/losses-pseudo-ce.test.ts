/** "No CRC" ablation: plain CE to argmax pseudo-labels over every voxel. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions: tfjs-core's Node bundle registers none; the tfjs umbrella package does.
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { pseudoLabelCrossEntropy } from '../../src/shared/losses/pseudo-ce.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

const shape: [number, number, number, number, number] = [2, 3, 2, 2, 3];
const classes = shape[4];

function randomInputs(seed: number) {
  const r = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const logits = Float64Array.from({ length: n }, () => r.range(-3, 3));
  const prob = new Float64Array(n);
  for (let v = 0; v < n / classes; v++) {
    const raw = Array.from({ length: classes }, () => r.uniform());
    const s = raw.reduce((a, b) => a + b, 0);
    raw.forEach((x, c) => (prob[v * classes + c] = x / s));
  }
  return { logits, prob };
}

function softmaxRow(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function argmax(row: number[]): number {
  return row.indexOf(Math.max(...row));
}

test('pseudo-label CE is the mean NLL of argmax p over all voxels, and its gradient is (softmax − onehot)/V', () => {
  const { logits, prob } = randomInputs(3);
  const voxels = logits.length / classes;
  let expected = 0;
  const expectedGrad = new Float64Array(logits.length);
  for (let v = 0; v < voxels; v++) {
    const q = softmaxRow(logits.subarray(v * classes, (v + 1) * classes));
    const y = argmax(Array.from(prob.subarray(v * classes, (v + 1) * classes)));
    expected += -Math.log(q[y]!) / voxels;
    q.forEach((qc, c) => (expectedGrad[v * classes + c] = (qc - (c === y ? 1 : 0)) / voxels));
  }
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const p = tf.tensor5d(Float32Array.from(prob), shape);
  const loss = pseudoLabelCrossEntropy(l, p);
  assert.ok(Math.abs(loss.dataSync()[0]! - expected) < 1e-5, `loss ${loss.dataSync()[0]} vs ${expected}`);
  const grad = tf.grad((x: tf.Tensor) => pseudoLabelCrossEntropy(x as tf.Tensor5D, p))(l);
  const g = grad.dataSync();
  for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - expectedGrad[i]!) < 1e-6, `grad[${i}] ${g[i]} vs ${expectedGrad[i]}`);
  tf.dispose([l, p, loss, grad]);
});

test('pseudo-label CE ignores confidence: sharpening p (same argmax) keeps the loss', () => {
  const { logits, prob } = randomInputs(9);
  // Sharpening p (same argmax) changes every CRC weight but not the plain CE.
  const sharp = prob.map((v) => v * v);
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const p = tf.tensor5d(Float32Array.from(prob), shape);
  const s = tf.tensor5d(Float32Array.from(sharp), shape);
  const a = pseudoLabelCrossEntropy(l, p);
  const b = pseudoLabelCrossEntropy(l, s);
  assert.equal(a.dataSync()[0], b.dataSync()[0]);
  tf.dispose([l, p, s, a, b]);
});

test('pseudo-label CE of an empty batch is 0 and it rejects mismatched shapes', () => {
  const empty = tf.zeros([0, 2, 2, 2, 2]) as tf.Tensor5D;
  const loss = pseudoLabelCrossEntropy(empty, empty);
  assert.equal(loss.dataSync()[0], 0);
  const l = tf.zeros([1, 2, 2, 2, 2]) as tf.Tensor5D;
  const p = tf.zeros([1, 2, 2, 3, 2]) as tf.Tensor5D;
  assert.throws(() => pseudoLabelCrossEntropy(l, p), (e: unknown) => e instanceof TracocoError && /pseudoProb/.test(e.message));
  tf.dispose([empty, loss, l, p]);
});

test('pseudo-label CE leaks no tensors', () => {
  const { logits, prob } = randomInputs(4);
  const l = tf.tensor5d(Float32Array.from(logits), shape);
  const p = tf.tensor5d(Float32Array.from(prob), shape);
  const before = tf.memory().numTensors;
  pseudoLabelCrossEntropy(l, p).dispose();
  tf.grad((x: tf.Tensor) => pseudoLabelCrossEntropy(x as tf.Tensor5D, p))(l).dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([l, p]);
});
