/** Golden `loss_crc` (GUIDE §8): CRC against the PyTorch implementation, every file and case. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { crcLoss } from '../../src/shared/losses/crc.js';
import { compareArrays, goldenFilesOfKind, reportChecked, skipUnlessGolden, type GoldenTensor } from '../support/golden.js';

interface CrcCase {
  inputs: { logits: GoldenTensor; pseudo_logits: GoldenTensor };
  params: { threshold: number; neg_threshold: number };
  expected: { loss: number; positive: number; negative: number };
}
interface CrcFile {
  cases: CrcCase[];
  tolerance: { abs: number; rel?: number };
}

/** PyTorch [N, C, x, y, z] → tracoco [N, x, y, z, C]. */
function toNdhwc(t: GoldenTensor): tf.Tensor5D {
  return tf.tidy(() => {
    const torchLayout: tf.Tensor = tf.tensor(t.data, t.shape, 'float32');
    return tf.transpose(torchLayout, [0, 2, 3, 4, 1]) as tf.Tensor5D;
  });
}

before(async () => {
  await initBackend('cpu');
});

test('loss_crc golden cases', { skip: skipUnlessGolden }, (t) => {
  const files = goldenFilesOfKind<CrcFile>('loss_crc');
  assert.ok(files.length > 0, 'no loss_crc golden files');
  let cases = 0;
  for (const { file, doc } of files) {
    doc.cases.forEach((c, i) => {
      const logits = toNdhwc(c.inputs.logits);
      const pseudoLogits = toNdhwc(c.inputs.pseudo_logits);
      const pseudoProb = tf.softmax(pseudoLogits) as tf.Tensor5D;
      const r = crcLoss(logits, pseudoProb, { threshold: c.params.threshold, negThreshold: c.params.neg_threshold });
      const actual = [r.loss, r.positive, r.negative].map((s) => s.dataSync()[0]!);
      const expected = [c.expected.loss, c.expected.positive, c.expected.negative];
      const cmp = compareArrays(actual, expected, doc.tolerance);
      assert.ok(cmp.ok, `${file} case ${i}: [loss, positive, negative] = [${actual}], expected [${expected}]`);
      tf.dispose([logits, pseudoLogits, pseudoProb, r.loss, r.positive, r.negative]);
      cases++;
    });
  }
  reportChecked(t, 'loss_crc', files.length, cases);
});
