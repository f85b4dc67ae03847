/**
 * The fused training-mode BatchNorm(+ReLU) op: the composite forward follows the kernel contract,
 * its gradient equals tfjs autograd of the unfused formula, and a registered
 * `TracocoBatchNormTrain(Grad)` kernel is used instead of the composite when present.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import {
  BATCH_NORM_TRAIN_GRAD_KERNEL,
  BATCH_NORM_TRAIN_KERNEL,
  batchNormTrain,
  batchNormTrainComposite,
  batchNormTrainGradComposite,
} from '../../src/shared/model/batchnorm.js';
import { Random } from '../../src/shared/random.js';

const EPS = 1e-5;
const SHAPE: [number, number, number, number, number] = [2, 3, 4, 2, 3];

before(async () => {
  await initBackend('cpu');
});

function randomTensor(shape: number[], seed: number, scale = 1, shift = 0): tf.Tensor {
  const r = new Random(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal() * scale + shift), shape);
}

/** The unfused formula in plain tfjs ops (autograd reference). */
function unfused(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, relu: boolean): tf.Tensor {
  const mean = tf.mean(x, [0, 1, 2, 3]);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), [0, 1, 2, 3]);
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), scale), offset);
  return relu ? tf.relu(y) : y;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

const inputs = () => ({
  x: randomTensor(SHAPE, 1, 2, 0.5) as tf.Tensor5D,
  scale: randomTensor([3], 2, 0.3, 1) as tf.Tensor1D,
  offset: randomTensor([3], 3, 0.2) as tf.Tensor1D,
  dy: randomTensor(SHAPE, 4) as tf.Tensor5D,
});

for (const relu of [false, true]) {
  test(`composite forward: batch mean, biased variance, normalised output (relu ${relu})`, () => {
    const { x, scale, offset, dy } = inputs();
    const [y, mean, variance] = batchNormTrainComposite(x, scale, offset, { epsilon: EPS, relu });
    const xs = x.dataSync();
    const m = xs.length / 3;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let i = c; i < xs.length; i += 3) s += xs[i]!;
      const mu = s / m;
      let v = 0;
      for (let i = c; i < xs.length; i += 3) v += (xs[i]! - mu) ** 2;
      assert.ok(Math.abs(mean.dataSync()[c]! - mu) < 1e-5, `mean[${c}]`);
      assert.ok(Math.abs(variance.dataSync()[c]! - v / m) < 1e-4, `variance[${c}] must be biased (divided by M)`);
    }
    const reference = unfused(x, scale, offset, relu);
    assert.ok(maxAbsDiff(y, reference) < 1e-5);
    if (relu) assert.ok(y.dataSync().every((v) => v >= 0));
    tf.dispose([x, scale, offset, dy, y, mean, variance, reference]);
  });

  test(`composite gradient equals autograd of the unfused formula (relu ${relu})`, () => {
    const { x, scale, offset, dy } = inputs();
    const expected = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => unfused(a, s, o, relu))([x, scale, offset], dy);
    const [y, mean, variance] = batchNormTrainComposite(x, scale, offset, { epsilon: EPS, relu });
    const actual = batchNormTrainGradComposite(dy, x, y, scale, mean, variance, { epsilon: EPS, relu });
    ['dx', 'dscale', 'doffset'].forEach((name, i) => {
      const diff = maxAbsDiff(actual[i]!, expected[i]!);
      assert.ok(diff < 2e-5, `${name}: max |diff| ${diff}`);
    });
    tf.dispose([x, scale, offset, dy, y, mean, variance, ...expected, ...actual]);
  });

  test(`batchNormTrain (customGrad) has the unfused value and gradients, and reports statistics once (relu ${relu})`, () => {
    const { x, scale, offset, dy } = inputs();
    let calls = 0;
    let seenMean: number[] = [];
    const op = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      batchNormTrain(a as tf.Tensor5D, s as tf.Tensor1D, o as tf.Tensor1D, {
        epsilon: EPS,
        relu,
        onStatistics: (mean) => {
          calls++;
          seenMean = Array.from(mean.dataSync());
        },
      });
    const { value, grads } = tf.valueAndGrads(op)([x, scale, offset], dy);
    const expectedGrads = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => unfused(a, s, o, relu))([x, scale, offset], dy);
    const reference = unfused(x, scale, offset, relu);
    assert.ok(maxAbsDiff(value, reference) < 1e-5);
    grads.forEach((g, i) => assert.ok(maxAbsDiff(g, expectedGrads[i]!) < 2e-5, `gradient ${i}`));
    assert.equal(calls, 1);
    const batchMean = tf.mean(x, [0, 1, 2, 3]);
    assert.deepEqual(seenMean.map((v) => v.toFixed(5)), Array.from(batchMean.dataSync()).map((v) => v.toFixed(5)));
    tf.dispose([x, scale, offset, dy, value, ...grads, ...expectedGrads, reference, batchMean]);
  });
}

test('a registered TracocoBatchNormTrain / ...Grad kernel replaces the composite', () => {
  const backendName = tf.getBackend();
  const calls = { forward: 0, grad: 0 };
  type Attrs = { epsilon: number; relu: boolean };
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_KERNEL,
    backendName,
    kernelFunc: ({ inputs: i, attrs }) => {
      calls.forward++;
      return batchNormTrainComposite(i.x as tf.Tensor5D, i.scale as tf.Tensor1D, i.offset as tf.Tensor1D, attrs as unknown as Attrs);
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD_KERNEL,
    backendName,
    kernelFunc: ({ inputs: i, attrs }) => {
      calls.grad++;
      const t = i as Record<string, tf.Tensor>;
      return batchNormTrainGradComposite(
        t.dy as tf.Tensor5D, t.x as tf.Tensor5D, t.y as tf.Tensor5D, t.scale as tf.Tensor1D, t.mean as tf.Tensor1D, t.variance as tf.Tensor1D,
        attrs as unknown as Attrs,
      );
    },
  });
  try {
    const { x, scale, offset, dy } = inputs();
    const op = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => batchNormTrain(a as tf.Tensor5D, s as tf.Tensor1D, o as tf.Tensor1D, { epsilon: EPS, relu: true });
    const { value, grads } = tf.valueAndGrads(op)([x, scale, offset], dy);
    assert.deepEqual(calls, { forward: 1, grad: 1 });
    const expected = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => unfused(a, s, o, true))([x, scale, offset], dy);
    grads.forEach((g, i) => assert.ok(maxAbsDiff(g, expected[i]!) < 2e-5, `gradient ${i} through the kernel`));
    tf.dispose([x, scale, offset, dy, value, ...grads, ...expected]);
  } finally {
    tf.unregisterKernel(BATCH_NORM_TRAIN_KERNEL, backendName);
    tf.unregisterKernel(BATCH_NORM_TRAIN_GRAD_KERNEL, backendName);
  }
});

test('batchNormTrain leaks no tensors, with or without a gradient tape', () => {
  const { x, scale, offset, dy } = inputs();
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    batchNormTrain(x, scale, offset, { epsilon: EPS, relu: true });
  });
  tf.tidy(() => {
    tf.grads((a: tf.Tensor) => batchNormTrain(a as tf.Tensor5D, scale, offset, { epsilon: EPS, relu: true }))([x], dy);
  });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, scale, offset, dy]);
});
