/**
 * Golden `sgd` (GUIDE §8): PyTorch SGD (momentum, coupled weight decay) after each of several
 * steps, on every backend that loads; the same sequence resumed from a serialised state after
 * the first step must land on the same values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, initBackend } from '../../src/shared/backend/index.js';

import { SGD } from '../../src/shared/optim/sgd.js';
import { compareArrays, goldenFilesOfKind, reportChecked, skipUnlessGolden, type GoldenTensor } from '../support/golden.js';
import { activateBackend } from '../support/assertions.js';

interface SgdFile {
  params: { lr: number; momentum: number; weight_decay: number };
  inputs: { p0: GoldenTensor; grads: GoldenTensor[] };
  expected: { after_each_step: GoldenTensor[] };
  tolerance: { abs: number; rel?: number };
}

const KEY = 'p';

/** Runs the file's steps from `from` on, with `optimizer` and `param` already at step `from`. */
function runSteps(doc: SgdFile, optimizer: SGD, param: tf.Variable, from: number, file: string, label: string): void {
  for (let step = from; step < doc.inputs.grads.length; step++) {
    const g = doc.inputs.grads[step]!;
    const grad = tf.tensor(g.data, g.shape, 'float32');
    optimizer.step(new Map([[KEY, param]]), new Map([[KEY, grad]]), doc.params.lr);
    grad.dispose();
    const expected = doc.expected.after_each_step[step]!;
    const actual = param.dataSync();
    const cmp = compareArrays(actual, expected.data, doc.tolerance);
    assert.ok(cmp.ok, `${file} ${label} step ${step}: max |diff| ${cmp.maxAbsDiff} (worst at ${cmp.worstIndex})`);
  }
}

test('sgd golden: PyTorch SGD with momentum and weight decay, and resume from saved state', { skip: skipUnlessGolden }, async (t) => {
  const files = goldenFilesOfKind<SgdFile>('sgd');
  assert.ok(files.length > 0, 'no sgd golden files');
  for (const backend of BACKEND_NAMES) {
    const skip = await activateBackend(backend);
    await t.test(backend, { skip }, (st) => {
      let cases = 0;
      for (const { file, doc } of files) {
        const options = { momentum: doc.params.momentum, weightDecay: doc.params.weight_decay };
        const p0 = doc.inputs.p0;
        const param = tf.variable(tf.tensor(p0.data, p0.shape, 'float32'));
        const optimizer = new SGD(options);
        runSteps(doc, optimizer, param, 0, file, 'continuous');

        // Resume: one step, save state and parameter, continue in a fresh optimizer.
        const resumedParam = tf.variable(tf.tensor(p0.data, p0.shape, 'float32'));
        const first = new SGD(options);
        runSteps({ ...doc, inputs: { ...doc.inputs, grads: doc.inputs.grads.slice(0, 1) } }, first, resumedParam, 0, file, 'before resume');
        const saved = first.state();
        first.dispose();
        assert.deepEqual(Object.keys(saved.momentum), doc.params.momentum > 0 ? [KEY] : []);
        const resumed = new SGD(options);
        resumed.loadState(saved, new Map([[KEY, resumedParam]]), file);
        runSteps(doc, resumed, resumedParam, 1, file, 'resumed');

        tf.dispose([param, resumedParam]);
        optimizer.dispose();
        resumed.dispose();
        cases++;
      }
      reportChecked(st, 'sgd', files.length, cases);
    });
  }
  await initBackend('cpu');
});

test('SGD rejects a gradient whose shape differs from its parameter', async () => {
  await initBackend('cpu');
  const param = tf.variable(tf.zeros([3]));
  const optimizer = new SGD({ momentum: 0.9, weightDecay: 1e-4 });
  const grad = tf.zeros([4]);
  assert.throws(() => optimizer.step(new Map([['w', param]]), new Map([['w', grad]]), 0.1), /field 'w'.*gradient shape \[4\]/);
  assert.throws(() => optimizer.step(new Map([['w', param]]), new Map([['v', grad]]), 0.1), /unknown parameter 'v'/);
  assert.throws(() => optimizer.loadState({ momentum: { w: { shape: [2], data: new Float32Array(2) } } }, new Map([['w', param]]), 'state.json'), /state.json, field 'w'/);
  tf.dispose([param, grad]);
  optimizer.dispose();
});
