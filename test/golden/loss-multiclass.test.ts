/**
 * Golden `loss_dice_multiclass` and `loss_crc_multiclass` (GUIDE §5b, §8): the multi-class Dice
 * loss and the published ACDC CRC (`form: 'reference'`) against PyTorch, every file and case, any
 * rank (2D [N, C, H, W] or 3D [N, C, x, y, z]) and class count, on every backend that loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, initBackend } from '../../src/shared/backend/index.js';
import { crcLoss } from '../../src/shared/losses/crc.js';
import { multiClassDiceLoss } from '../../src/shared/losses/multiclass.js';
import { compareArrays, goldenFilesOfKind, reportChecked, skipUnlessGolden, type GoldenTensor } from '../support/golden.js';
import { activateBackend } from '../support/assertions.js';

interface DiceCase {
  inputs: { probs: GoldenTensor; labels: GoldenTensor };
  params: { classes: number };
  expected: { loss: number };
}
interface CrcCase {
  inputs: { logits: GoldenTensor; pseudo_logits: GoldenTensor };
  params: { threshold: number; neg_threshold: number };
  expected: { loss: number; positive: number; negative: number };
}
interface GoldenDoc<C> {
  cases: C[];
  tolerance: { abs: number; rel?: number };
}

/** PyTorch [N, C, …spatial] → tracoco [N, …spatial, C], for any number of spatial axes. */
function classesLast(t: GoldenTensor): tf.Tensor {
  const rank = t.shape.length;
  const perm = [0, ...Array.from({ length: rank - 2 }, (_, k) => k + 2), 1];
  return tf.tidy(() => tf.transpose(tf.tensor(t.data, [...t.shape], 'float32'), perm));
}

/** Runs `check` on every backend that loads; returns the largest absolute difference seen. */
async function onEveryBackend(t: test.TestContext, kind: string, files: number, check: () => { cases: number; maxDiff: number }): Promise<void> {
  for (const backend of BACKEND_NAMES) {
    const skip = await activateBackend(backend);
    await t.test(backend, { skip }, (st) => {
      const { cases, maxDiff } = check();
      reportChecked(st, kind, files, cases);
      st.diagnostic(`golden ${kind}: max |difference| ${maxDiff.toExponential(2)}`);
    });
  }
  await initBackend('cpu');
}

test('loss_dice_multiclass golden cases', { skip: skipUnlessGolden }, async (t) => {
  const files = goldenFilesOfKind<GoldenDoc<DiceCase>>('loss_dice_multiclass');
  assert.ok(files.length > 0, 'no loss_dice_multiclass golden files');
  await onEveryBackend(t, 'loss_dice_multiclass', files.length, () => {
    let cases = 0;
    let maxDiff = 0;
    for (const { file, doc } of files) {
      doc.cases.forEach((c, i) => {
        const prob = classesLast(c.inputs.probs);
        assert.equal(prob.shape[prob.rank - 1], c.params.classes, `${file} case ${i}: class axis`);
        const labels = tf.tensor(c.inputs.labels.data, [...c.inputs.labels.shape], 'int32');
        const loss = multiClassDiceLoss(prob, labels);
        const actual = [loss.dataSync()[0]!];
        const cmp = compareArrays(actual, [c.expected.loss], doc.tolerance);
        assert.ok(cmp.ok, `${file} case ${i}: loss ${actual[0]}, expected ${c.expected.loss}`);
        maxDiff = Math.max(maxDiff, cmp.maxAbsDiff);
        tf.dispose([prob, labels, loss]);
        cases++;
      });
    }
    return { cases, maxDiff };
  });
});

test('loss_crc_multiclass golden cases (form reference)', { skip: skipUnlessGolden }, async (t) => {
  const files = goldenFilesOfKind<GoldenDoc<CrcCase>>('loss_crc_multiclass');
  assert.ok(files.length > 0, 'no loss_crc_multiclass golden files');
  await onEveryBackend(t, 'loss_crc_multiclass', files.length, () => {
    let cases = 0;
    let maxDiff = 0;
    for (const { file, doc } of files) {
      doc.cases.forEach((c, i) => {
        const logits = classesLast(c.inputs.logits);
        const pseudoLogits = classesLast(c.inputs.pseudo_logits);
        const pseudoProb = tf.softmax(pseudoLogits);
        const r = crcLoss(logits, pseudoProb, { threshold: c.params.threshold, negThreshold: c.params.neg_threshold, form: 'reference' });
        const actual = [r.loss, r.positive, r.negative].map((s) => s.dataSync()[0]!);
        const expected = [c.expected.loss, c.expected.positive, c.expected.negative];
        const cmp = compareArrays(actual, expected, doc.tolerance);
        assert.ok(cmp.ok, `${file} case ${i}: [loss, positive, negative] = [${actual}], expected [${expected}]`);
        maxDiff = Math.max(maxDiff, cmp.maxAbsDiff);
        tf.dispose([logits, pseudoLogits, pseudoProb, r.loss, r.positive, r.negative]);
        cases++;
      });
    }
    return { cases, maxDiff };
  });
});
