/**
 * Golden UNet fixtures (GUIDE §5b, §8), on every backend that loads here:
 *  - `unet3d_forward` / `unet2d_forward`: eval-mode logits of the `.pth` named in the file;
 *  - `unet3d_train_grad` / `unet2d_train_grad`: train-mode logits (no dropout), the supervised loss
 *    and its CE and Dice terms, the listed gradients in PyTorch layout, and (unet2d) BatchNorm
 *    running statistics after that one forward.
 * Everything about the network (input channels, classes, widths) is read from the file and its
 * `.pth`, so files with other shapes, class counts and widths are checked the same way. The `.pth`
 * is read with tracoco's own importer, so this also checks the import end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, BACKEND_NAMES } from '../../src/shared/backend/index.js';
import { loadTorchStateDict } from '../../src/shared/checkpoint/torch-pth.js';
import { UNet3D } from '../../src/shared/model/unet3d.js';
import { UNet2D } from '../../src/shared/model/unet2d.js';
import { tfjsParamToTorch } from '../../src/shared/model/params.js';
// The fixtures' loss 0.5·(CE + Dice): binary Dice of softmax[..., 1] for 2 classes, multi-class otherwise.
import { multiClassSupervisedLoss } from '../../src/shared/losses/multiclass.js';
import { compareArrays, goldenFilesOfKind, relativeL2, reportChecked, skipUnlessGolden, type ForwardFixture, type GoldenTensor, type Tolerance, type TrainFixture } from '../support/golden.js';
import { activateBackend } from '../support/assertions.js';

type Architecture = 'unet3d' | 'unet2d';

interface GoldenModel {
  architecture: Architecture;
  in_channels: number;
  n_classes: number;
  /** unet3d: first level channels = 64 / feature_scale. */
  feature_scale?: number;
  /** unet2d: channels of the five levels. */
  channels?: number[];
  /** unet3d: on/off; unet2d: one probability per encoder block. */
  dropout: boolean | number[];
}
type ForwardFile = ForwardFixture<GoldenModel>;
type TrainFile = TrainFixture<GoldenModel>;

type Model = UNet3D | UNet2D;

/** The network of the `.pth`, its widths inferred from the shapes and checked against `model`. */
async function modelFor(file: string, doc: ForwardFile): Promise<Model> {
  const pth = join(dirname(file), doc.checkpoint);
  const sd = await loadTorchStateDict(pth);
  const m = doc.model;
  if (m.architecture === 'unet3d') {
    const inferred = UNet3D.inferConfig(sd, pth);
    if (m.feature_scale !== undefined) assert.equal(inferred.filters, 64 / m.feature_scale, `${file}: feature_scale vs the checkpoint`);
    return UNet3D.fromStateDict({ inChannels: m.in_channels, classes: m.n_classes, filters: inferred.filters, dropout: m.dropout === true }, sd, pth);
  }
  const inferred = UNet2D.inferConfig(sd, pth);
  if (m.channels) assert.deepEqual(inferred.channels, m.channels, `${file}: channels vs the checkpoint`);
  const dropout = Array.isArray(m.dropout) ? m.dropout : [0, 0, 0, 0, 0];
  return UNet2D.fromStateDict({ inChannels: m.in_channels, classes: m.n_classes, channels: inferred.channels, dropout }, sd, pth);
}

/** PyTorch NC... <-> tfjs N...C for rank 4 (slices) and 5 (volumes). */
const channelsLast = (rank: number) => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
const channelsFirst = (rank: number) => [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
const toTfjs = (t: GoldenTensor) => tf.tidy(() => tf.transpose(tf.tensor(t.data, [...t.shape], 'float32'), channelsLast(t.shape.length)));
const toTorch = (t: tf.Tensor) => tf.tidy(() => tf.transpose(t, channelsFirst(t.rank)));

function forward(model: Model, x: tf.Tensor, training: boolean): tf.Tensor {
  return model instanceof UNet3D ? model.forward(x as tf.Tensor5D, { training }) : model.forward(x as tf.Tensor4D, { training });
}

/** Largest |difference| seen per file and quantity, reported as diagnostics. */
function check(actual: ArrayLike<number>, expected: GoldenTensor | number[], tol: Tolerance, what: string, seen: Map<string, number>): void {
  const want = Array.isArray(expected) ? expected : expected.data;
  const cmp = compareArrays(actual, want, tol);
  seen.set(what, cmp.maxAbsDiff);
  assert.ok(
    cmp.ok,
    `${what}: max |diff| ${cmp.maxAbsDiff}; worst at ${cmp.worstIndex}: ${actual[cmp.worstIndex]} vs ${want[cmp.worstIndex]} (tolerance ${JSON.stringify(tol)})`,
  );
}

/**
 * As in the VNet golden test: deep gradients are ill-conditioned in float32, so a gradient may
 * deviate by GRAD_SPREAD × its largest magnitude on top of the fixture's tolerance and its relative
 * L2 error must stay below GRAD_SPREAD; a real bug (layout, formula) is off by O(1). Measured on
 * unet2d_c4_train_step: one LeakyReLU input in up3 is −3.4e-6, within float32 noise of zero; it
 * flips here, which moves every gradient below up3 by 0.3% relative L2. Flipping that one slope in
 * a float64 PyTorch run brings those gradients to within 5e-6 of tracoco's.
 */
const GRAD_SPREAD = 5e-2;

function checkGradient(actual: Float32Array, expected: number[], tol: Tolerance, what: string, seen: Map<string, number>): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  check(actual, expected, { abs: tol.abs + GRAD_SPREAD * scale, rel: tol.rel }, what, seen);
  const relL2 = relativeL2(actual, expected);
  seen.set(`${what} (relative L2 ${relL2.toExponential(2)}, largest |g| ${scale.toExponential(2)})`, seen.get(what)!);
  seen.delete(what);
  assert.ok(relL2 <= GRAD_SPREAD, `${what}: relative L2 error ${relL2} > ${GRAD_SPREAD}`);
}

function report(st: { diagnostic(message: string): void }, seen: Map<string, number>): void {
  for (const [what, diff] of seen) st.diagnostic(`max |diff| ${diff.toExponential(2)}  ${what}`);
}

for (const architecture of ['unet3d', 'unet2d'] as const) {
  test(`${architecture}_forward golden: eval-mode logits of the reference checkpoint`, { skip: skipUnlessGolden }, async (t) => {
    const files = goldenFilesOfKind<ForwardFile>(`${architecture}_forward`);
    assert.ok(files.length > 0, `no ${architecture}_forward golden files`);
    for (const backend of BACKEND_NAMES) {
      const skip = await activateBackend(backend);
      await t.test(backend, { skip }, async (st) => {
        const seen = new Map<string, number>();
        for (const { file, doc } of files) {
          assert.equal(doc.model.architecture, architecture, `${file}: model.architecture`);
          const model = await modelFor(file, doc);
          const x = toTfjs(doc.inputs.x);
          const logits = tf.tidy(() => toTorch(forward(model, x, false)));
          assert.deepEqual(logits.shape, doc.expected.logits.shape);
          check(logits.dataSync(), doc.expected.logits, doc.tolerance, `${file} logits`, seen);
          tf.dispose([x, logits]);
          model.dispose();
        }
        report(st, seen);
        reportChecked(st, `${architecture}_forward`, files.length, files.length);
      });
    }
    await initBackend('cpu');
  });

  test(`${architecture}_train_grad golden: train-mode logits, loss, gradients and running statistics`, { skip: skipUnlessGolden }, async (t) => {
    const files = goldenFilesOfKind<TrainFile>(`${architecture}_train_grad`);
    assert.ok(files.length > 0, `no ${architecture}_train_grad golden files`);
    for (const backend of BACKEND_NAMES) {
      const skip = await activateBackend(backend);
      await t.test(backend, { skip }, async (st) => {
        const seen = new Map<string, number>();
        for (const { file, doc } of files) {
          const dropout = doc.model.dropout;
          assert.ok(dropout === false || (Array.isArray(dropout) && dropout.every((p) => p === 0)), `${file}: golden train steps are defined without dropout`);
          const model = await modelFor(file, doc);
          const x = toTfjs(doc.inputs.x);
          const labels = tf.tensor(doc.inputs.labels.data, [...doc.inputs.labels.shape], 'int32');
          let kept: tf.Tensor[] = [];
          const { value, grads } = tf.variableGrads(() => {
            const logits = forward(model, x, true);
            const l = multiClassSupervisedLoss(logits, labels);
            kept = [tf.keep(toTorch(logits)), tf.keep(l.ce), tf.keep(l.dice)];
            return l.loss;
          }, [...model.params.values()]);
          const [logits, ce, dice] = kept as [tf.Tensor, tf.Scalar, tf.Scalar];
          assert.deepEqual(logits.shape, doc.expected.logits.shape);
          check(logits.dataSync(), doc.expected.logits, doc.tolerance, `${file} logits`, seen);
          const scalars = [value, ce, dice].map((s) => s.dataSync()[0]!);
          check(scalars, [doc.expected.loss, doc.expected.ce, doc.expected.dice], doc.tolerance, `${file} [loss, ce, dice]`, seen);

          assert.ok(Object.keys(doc.expected.grads).length > 0, `${file}: no gradients to check`);
          for (const [key, expected] of Object.entries(doc.expected.grads)) {
            const variable = model.params.get(key);
            assert.ok(variable, `${file}: gradient for unknown parameter ${key}`);
            const grad = grads[variable.name];
            assert.ok(grad, `${file}: no gradient for ${key}`);
            const torch = tfjsParamToTorch(grad.dataSync() as Float32Array, grad.shape);
            assert.deepEqual(torch.shape, expected.shape, `${file}: gradient shape of ${key}`);
            checkGradient(torch.data, expected.data, doc.tolerance, `${file} grad ${key}`, seen);
          }
          const statKeys = Object.keys(doc.expected).filter((k) => /\.(running_mean|running_var|num_batches_tracked)$/.test(k));
          if (architecture === 'unet2d') assert.ok(statKeys.length > 0, `${file}: no running statistics to check`);
          for (const key of statKeys) {
            const buffer = model.buffers.get(key);
            assert.ok(buffer, `${file}: unknown buffer ${key}`);
            check(buffer.dataSync(), doc.expected[key] as GoldenTensor, doc.tolerance, `${file} ${key}`, seen);
          }
          tf.dispose([x, labels, value, ...kept, ...Object.values(grads)]);
          model.dispose();
        }
        report(st, seen);
        reportChecked(st, `${architecture}_train_grad`, files.length, files.length);
      });
    }
    await initBackend('cpu');
  });
}
