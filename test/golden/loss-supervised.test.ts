/**
 * Golden `loss_supervised` (GUIDE §8): 0.5 × (CE + Dice loss on class 1) against PyTorch, every
 * file and case, on every backend that loads; plus the gradient of the loss against a
 * finite-difference estimate (the trainer differentiates it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, initBackend } from '../../src/shared/backend/index.js';

import { supervisedLoss } from '../../src/shared/losses/supervised.js';
import { compareArrays, goldenFilesOfKind, reportChecked, skipUnlessGolden, type GoldenTensor } from '../support/golden.js';
import { activateBackend } from '../support/assertions.js';

interface SupervisedCase {
  inputs: { logits: GoldenTensor; labels: GoldenTensor };
  expected: { loss: number; ce: number; dice: number };
}
interface SupervisedFile {
  cases: SupervisedCase[];
  tolerance: { abs: number; rel?: number };
}

/** PyTorch [N, C, x, y, z] → tracoco [N, x, y, z, C]. */
const toNdhwc = (t: GoldenTensor) => tf.tidy(() => tf.transpose(tf.tensor(t.data, [...t.shape], 'float32') as tf.Tensor, [0, 2, 3, 4, 1]) as tf.Tensor5D);

test('loss_supervised golden cases', { skip: skipUnlessGolden }, async (t) => {
  const files = goldenFilesOfKind<SupervisedFile>('loss_supervised');
  assert.ok(files.length > 0, 'no loss_supervised golden files');
  for (const backend of BACKEND_NAMES) {
    const skip = await activateBackend(backend);
    await t.test(backend, { skip }, (st) => {
      let cases = 0;
      for (const { file, doc } of files) {
        doc.cases.forEach((c, i) => {
          const logits = toNdhwc(c.inputs.logits);
          const labels = tf.tensor(c.inputs.labels.data, [...c.inputs.labels.shape], 'int32') as tf.Tensor as tf.Tensor4D;
          const r = supervisedLoss(logits, labels);
          const actual = [r.loss, r.ce, r.dice].map((s) => s.dataSync()[0]!);
          const expected = [c.expected.loss, c.expected.ce, c.expected.dice];
          const cmp = compareArrays(actual, expected, doc.tolerance);
          assert.ok(cmp.ok, `${file} case ${i}: [loss, ce, dice] = [${actual}], expected [${expected}]`);
          tf.dispose([logits, labels, r.loss, r.ce, r.dice]);
          cases++;
        });
      }
      reportChecked(st, 'loss_supervised', files.length, cases);
    });
  }
  await initBackend('cpu');
});

test('supervisedLoss gradient matches central finite differences', async () => {
  await initBackend('cpu');
  const shape: [number, number, number, number, number] = [2, 3, 2, 2, 3];
  const values = Float32Array.from({ length: 2 * 3 * 2 * 2 * 3 }, (_, i) => Math.sin(i * 1.7) * 2);
  const labels = tf.tensor4d(Int32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => (i * 7) % 3), [2, 3, 2, 2], 'int32');
  const lossAt = (v: Float32Array) => tf.tidy(() => supervisedLoss(tf.tensor5d(v, shape), labels).loss.dataSync()[0]!);
  const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => supervisedLoss(x as tf.Tensor5D, labels).loss)(tf.tensor5d(values, shape)).dataSync());
  const h = 1e-2;
  for (const i of [0, 5, 17, 40, values.length - 1]) {
    const plus = Float32Array.from(values);
    const minus = Float32Array.from(values);
    plus[i]! += h;
    minus[i]! -= h;
    const numeric = (lossAt(plus) - lossAt(minus)) / (2 * h);
    assert.ok(Math.abs(numeric - grad[i]!) < 2e-3, `d loss / d logits[${i}]: autograd ${grad[i]}, finite difference ${numeric}`);
  }
  labels.dispose();
});

test('supervisedLoss rejects labels whose shape differs from the logits', async () => {
  await initBackend('cpu');
  const logits = tf.zeros([1, 2, 2, 2, 2]) as tf.Tensor5D;
  const labels = tf.zeros([1, 2, 2, 3], 'int32') as tf.Tensor4D;
  assert.throws(() => supervisedLoss(logits, labels), /field 'labels'/);
  tf.dispose([logits, labels]);
});
