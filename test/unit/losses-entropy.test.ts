/** Negative entropy of translation views and the x·log x it is built on. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions: tfjs-core's Node bundle registers none; the tfjs umbrella package does.
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { negativeEntropy, xLogX } from '../../src/shared/losses/entropy.js';

before(async () => {
  await initBackend('cpu');
});

test('x·log x is 0 at 0 and at 1, matches Math.log elsewhere, and has a finite gradient at 0', () => {
  const xs = [0, 1e-12, 0.25, 0.5, 1];
  const x = tf.tensor1d(xs);
  const y = xLogX(x).dataSync();
  xs.forEach((v, i) => assert.ok(Math.abs(y[i]! - (v === 0 ? 0 : v * Math.log(v))) < 1e-7, `x=${v}: ${y[i]}`));
  assert.ok(y[0] === 0, 'exactly zero at 0');
  const g = tf.grad((t: tf.Tensor) => tf.sum(xLogX(t)))(x).dataSync();
  assert.ok(Array.from(g).every(Number.isFinite), `gradient ${Array.from(g)}`);
  assert.ok(Math.abs(g[3]! - (Math.log(0.5) + 1)) < 1e-6);
  tf.dispose(x);
});

test('class mode: uniform probabilities give −log C, one-hot probabilities (with exact zeros) give 0', () => {
  const uniform = tf.fill([2, 2, 1, 4], 0.25) as tf.Tensor4D;
  const oneHot = tf.oneHot(tf.tensor3d([0, 1, 2, 1], [2, 2, 1], 'int32'), 3, 1, 0, 'float32') as tf.Tensor4D;
  const u = negativeEntropy([uniform], 'class');
  const o = negativeEntropy([oneHot], 'class');
  const both = negativeEntropy([uniform, oneHot], 'class');
  assert.ok(Math.abs(u.dataSync()[0]! - -Math.log(4)) < 1e-6);
  assert.ok(o.dataSync()[0] === 0, 'one-hot views have zero entropy');
  assert.ok(Math.abs(both.dataSync()[0]! - -Math.log(4) / 2) < 1e-6, 'mean over the list of views');
  const g = tf.grad((t: tf.Tensor) => negativeEntropy([t as tf.Tensor4D], 'class'))(oneHot).dataSync();
  assert.ok(Array.from(g).every(Number.isFinite));
  tf.dispose([uniform, oneHot, u, o, both]);
});

test('reference mode takes a softmax over classes of the (clamped) views', () => {
  const view = tf.tensor4d([0.2, 0.9, 1, 1, 0.5, 0.1, 1e-6, 0.7], [2, 2, 1, 2]);
  const ne = negativeEntropy([view], 'reference').dataSync()[0]!;
  const rows = [[0.2, 0.9], [1, 1], [0.5, 0.1], [1e-6, 0.7]];
  const expected =
    rows
      .map(([p, q]) => {
        const ea = Math.exp(p!), eb = Math.exp(q!);
        const a = ea / (ea + eb), b = eb / (ea + eb);
        return a * Math.log(a) + b * Math.log(b);
      })
      .reduce((s, v) => s + v, 0) / rows.length;
  assert.ok(Math.abs(ne - expected) < 1e-6, `${ne} vs ${expected}`);
  view.dispose();
});

test('no views, or only empty ones, give 0; no tensors leak', () => {
  const empty = tf.zeros([0, 3, 3, 2]) as tf.Tensor4D;
  const view = tf.fill([1, 1, 2, 2], 0.5) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const none = negativeEntropy([], 'class');
  const onlyEmpty = negativeEntropy([empty], 'reference');
  assert.equal(none.dataSync()[0], 0);
  assert.equal(onlyEmpty.dataSync()[0], 0);
  const withEmpty = negativeEntropy([empty, view], 'class');
  assert.ok(Math.abs(withEmpty.dataSync()[0]! - -Math.log(2)) < 1e-6, 'empty views do not count in the mean');
  tf.dispose([none, onlyEmpty, withEmpty]);
  tf.grad((t: tf.Tensor) => negativeEntropy([t as tf.Tensor4D], 'reference'))(view).dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([empty, view]);
});
