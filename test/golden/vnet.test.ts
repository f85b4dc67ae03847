/**
 * Golden VNet fixtures (GUIDE §8), on every backend that loads here:
 *  - `vnet_forward`: eval-mode logits of the `.pth` named in the file;
 *  - `vnet_train_grad`: train-mode logits (no dropout), supervised loss, the listed gradients in
 *    PyTorch layout, and BatchNorm running statistics after that one forward.
 * The `.pth` is read with tracoco's own importer, so this also checks the import end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, BACKEND_NAMES } from '../../src/shared/backend/index.js';

import { loadTorchStateDict } from '../../src/shared/checkpoint/torch-pth.js';
import { VNet, type Normalization, type VNetConfig } from '../../src/shared/model/vnet.js';
import { tfjsToTorch } from '../../src/shared/model/layout.js';
import { supervisedLoss } from '../../src/shared/losses/supervised.js';
import { compareArrays, goldenFilesOfKind, relativeL2, reportChecked, skipUnlessGolden, type ForwardFixture, type GoldenTensor, type Tolerance, type TrainFixture } from '../support/golden.js';
import { activateBackend } from '../support/assertions.js';

interface GoldenModel {
  n_channels: number;
  n_classes: number;
  n_filters: number;
  normalization: Normalization;
  dropout?: boolean;
}
type ForwardFile = ForwardFixture<GoldenModel>;
type TrainFile = TrainFixture<GoldenModel>;

function configOf(m: GoldenModel, dropout: boolean): VNetConfig {
  return { inChannels: m.n_channels, classes: m.n_classes, filters: m.n_filters, normalization: m.normalization, dropout };
}

async function modelFor(file: string, doc: { checkpoint: string; model: GoldenModel }, dropout: boolean): Promise<VNet> {
  const pth = join(dirname(file), doc.checkpoint);
  return VNet.fromStateDict(configOf(doc.model, dropout), await loadTorchStateDict(pth), pth);
}

const ncdhwToNdhwc = (t: GoldenTensor) => tf.tidy(() => tf.transpose(tf.tensor(t.data, [...t.shape], 'float32') as tf.Tensor, [0, 2, 3, 4, 1]) as tf.Tensor5D);
const ndhwcToNcdhw = (t: tf.Tensor) => tf.tidy(() => tf.transpose(t, [0, 4, 1, 2, 3]));

function assertClose(actual: ArrayLike<number>, expected: GoldenTensor | number[], tol: Tolerance, what: string): void {
  const want = Array.isArray(expected) ? expected : expected.data;
  const cmp = compareArrays(actual, want, tol);
  assert.ok(
    cmp.ok,
    `${what}: max |diff| ${cmp.maxAbsDiff}; worst at ${cmp.worstIndex}: ${actual[cmp.worstIndex]} vs ${want[cmp.worstIndex]} (tolerance ${JSON.stringify(tol)})`,
  );
}

/**
 * Gradients deep in the network are ill-conditioned in float32: a ReLU whose input lies within
 * ~1e-5 of zero flips between implementations, and one flip moves encoder gradients by 0.5–4%.
 * PyTorch itself in float64 differs from the float32 fixture by 2.0% relative L2 on
 * `block_one.conv.0.weight` (max |diff| 3.6e-4, over the fixture's 1e-4 + 1e-3·|g|) and by 3.8% on
 * `block_three.conv.4.weight`. So on top of the fixture's per-element tolerance a gradient may
 * deviate by GRAD_SPREAD × its largest magnitude, and its relative L2 error must stay below
 * GRAD_SPREAD; a real bug (layout, formula) is off by O(1). Logits, losses and BN statistics keep
 * the fixture's tolerance.
 */
const GRAD_SPREAD = 5e-2;

function assertGradientClose(actual: Float32Array, expected: number[], tol: Tolerance, what: string): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(actual, expected, { abs: tol.abs + GRAD_SPREAD * scale, rel: tol.rel }, what);
  const relL2 = relativeL2(actual, expected);
  assert.ok(relL2 <= GRAD_SPREAD, `${what}: relative L2 error ${relL2} > ${GRAD_SPREAD}`);
}

test('vnet_forward golden: eval-mode logits of the reference checkpoint', { skip: skipUnlessGolden }, async (t) => {
  const files = goldenFilesOfKind<ForwardFile>('vnet_forward');
  assert.ok(files.length > 0, 'no vnet_forward golden files');
  for (const backend of BACKEND_NAMES) {
    const skip = await activateBackend(backend);
    await t.test(backend, { skip }, async (st) => {
      for (const { file, doc } of files) {
        const model = await modelFor(file, doc, false);
        const x = ncdhwToNdhwc(doc.inputs.x);
        const logits = tf.tidy(() => ndhwcToNcdhw(model.forward(x, { training: false })));
        assert.deepEqual(logits.shape, doc.expected.logits.shape);
        assertClose(logits.dataSync(), doc.expected.logits, doc.tolerance, `${file} logits`);
        tf.dispose([x, logits]);
        model.dispose();
      }
      reportChecked(st, 'vnet_forward', files.length, files.length);
    });
  }
  await initBackend('cpu');
});

test('vnet_train_grad golden: train-mode logits, loss, gradients and running statistics', { skip: skipUnlessGolden }, async (t) => {
  const files = goldenFilesOfKind<TrainFile>('vnet_train_grad');
  assert.ok(files.length > 0, 'no vnet_train_grad golden files');
  for (const backend of BACKEND_NAMES) {
    const skip = await activateBackend(backend);
    await t.test(backend, { skip }, async (st) => {
      for (const { file, doc } of files) {
        assert.notEqual(doc.model.dropout, true, `${file}: golden train steps are defined without dropout`);
        const model = await modelFor(file, doc, false);
        const x = ncdhwToNdhwc(doc.inputs.x);
        const labels = tf.tensor(doc.inputs.labels.data, [...doc.inputs.labels.shape], 'int32') as tf.Tensor as tf.Tensor4D;
        let kept: tf.Tensor[] = [];
        const vars = [...model.params.values()];
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.forward(x, { training: true });
          const l = supervisedLoss(logits, labels);
          kept = [tf.keep(ndhwcToNcdhw(logits)), tf.keep(l.ce), tf.keep(l.dice)];
          return l.loss;
        }, vars);
        const [logits, ce, dice] = kept as [tf.Tensor, tf.Scalar, tf.Scalar];
        assertClose(logits.dataSync(), doc.expected.logits, doc.tolerance, `${file} logits`);
        const scalars = [value, ce, dice].map((s) => s.dataSync()[0]!);
        assertClose(scalars, [doc.expected.loss, doc.expected.ce, doc.expected.dice], doc.tolerance, `${file} [loss, ce, dice]`);

        for (const [key, expected] of Object.entries(doc.expected.grads)) {
          const variable = model.params.get(key);
          assert.ok(variable, `${file}: gradient for unknown parameter ${key}`);
          const grad = grads[variable.name];
          assert.ok(grad, `${file}: no gradient for ${key}`);
          const torch = tfjsToTorch(grad.dataSync() as Float32Array, grad.shape);
          assert.deepEqual(torch.shape, expected.shape, `${file}: gradient shape of ${key}`);
          assertGradientClose(torch.data, expected.data, doc.tolerance, `${file} grad ${key}`);
        }
        const statKeys = Object.keys(doc.expected).filter((k) => /\.(running_mean|running_var|num_batches_tracked)$/.test(k));
        if (doc.model.normalization === 'batchnorm') assert.ok(statKeys.length > 0, `${file}: no running statistics to check`);
        for (const key of statKeys) {
          const buffer = model.buffers.get(key);
          assert.ok(buffer, `${file}: unknown buffer ${key}`);
          const expected = doc.expected[key] as GoldenTensor;
          assertClose(buffer.dataSync() as Float32Array, expected, doc.tolerance, `${file} ${key}`);
        }
        tf.dispose([x, labels, value, ...kept, ...Object.values(grads)]);
        model.dispose();
      }
      reportChecked(st, 'vnet_train_grad', files.length, files.length);
    });
  }
  await initBackend('cpu');
});
