/**
 * The fused BatchNorm(+ReLU) kernels (TracocoBatchNormTrain / TracocoBatchNormTrainGrad) against
 * the model's composite of plain tf ops (same contract) on the cpu backend, against a float64
 * reference on data with a large mean (where careless variance formulas lose all digits), and
 * through `batchNormTrain`'s tf.grad on native vs cpu.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN_GRAD_KERNEL as BATCH_NORM_TRAIN_GRAD, BATCH_NORM_TRAIN_KERNEL as BATCH_NORM_TRAIN } from '../../src/shared/model/batchnorm.js';
import { batchNormTrain, batchNormTrainComposite, batchNormTrainGradComposite } from '../../src/shared/model/batchnorm.js';
import { assertClose, onBothBackends, randomTensor, setUpBackends, skipUnlessNative, uniform } from './native-helpers.js';

const EPS = 1e-5;
const SHAPES: [number, number, number, number, number][] = [
  [2, 5, 4, 3, 6],
  [1, 9, 7, 5, 16],
  [2, 32, 32, 16, 16],
];

function inputs(shape: number[], seed: number) {
  const c = shape[4]!;
  return {
    x: tf.add(tf.mul(randomTensor(seed, shape), 3), 0.5) as tf.Tensor5D,
    scale: randomTensor(seed + 1, [c], 0.5, 1.5) as tf.Tensor1D,
    offset: randomTensor(seed + 2, [c], -0.5, 0.5) as tf.Tensor1D,
    dy: randomTensor(seed + 3, shape) as tf.Tensor5D,
  };
}

function runFused(shape: number[], seed: number, relu: boolean): tf.Tensor[] {
  const { x, scale, offset, dy } = inputs(shape, seed);
  const attrs = { epsilon: EPS, relu };
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale, offset }, { ...attrs }) as tf.Tensor[];
  const grads = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x, y: y!, scale, mean: mean!, variance: variance! }, { ...attrs }) as tf.Tensor[];
  return [y!, mean!, variance!, ...grads];
}

function runComposite(shape: number[], seed: number, relu: boolean): tf.Tensor[] {
  const { x, scale, offset, dy } = inputs(shape, seed);
  const attrs = { epsilon: EPS, relu };
  const [y, mean, variance] = batchNormTrainComposite(x, scale, offset, attrs);
  return [y, mean, variance, ...batchNormTrainGradComposite(dy, x, y, scale, mean, variance, attrs)];
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dscale', 'doffset'];

describe('fused BatchNorm kernels', { skip: skipUnlessNative }, () => {
  before(setUpBackends);

  for (const relu of [true, false]) {
    for (const shape of SHAPES) {
      it(`match the composite on ${JSON.stringify(shape)}, relu ${relu}`, async () => {
        await tf.setBackend('native');
        const fused = tf.tidy(() => runFused(shape, 11, relu).map((t) => Array.from(t.dataSync())));
        await tf.setBackend('cpu');
        const composite = tf.tidy(() => runComposite(shape, 11, relu).map((t) => Array.from(t.dataSync())));
        await tf.setBackend('native');
        const m = shape.slice(0, 4).reduce((a, b) => a * b, 1);
        // Per-channel sums over m values carry float32 rounding of order sqrt(m) ulps.
        const sumTol = { abs: 1e-6 * Math.sqrt(m), rel: 1e-5 };
        const tols = [{ abs: 3e-5, rel: 1e-5 }, { abs: 1e-6, rel: 1e-5 }, { abs: 1e-6, rel: 1e-5 }, { abs: 3e-5, rel: 1e-4 }, sumTol, sumTol];
        NAMES.forEach((name, i) => assertClose(fused[i]!, composite[i]!, tols[i]!, name));
      });
    }
  }

  it('compute mean and biased variance accurately when the mean dwarfs the spread', async () => {
    await tf.setBackend('native');
    const shape = [2, 40, 30, 20, 3];
    const c = 3;
    const n = shape.reduce((a, b) => a * b, 1);
    const noise = uniform(5, n, -0.01, 0.01);
    const xs = Float32Array.from(noise, (v, i) => 1000 * ((i % c) + 1) + v);
    const [meanOut, varOut, yOut] = tf.tidy(() => {
      const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: tf.tensor(xs, shape), scale: tf.ones([c]), offset: tf.zeros([c]) }, { epsilon: 0, relu: false }) as tf.Tensor[];
      return [mean!.dataSync(), variance!.dataSync(), y!.dataSync()];
    });
    const mean = new Float64Array(c);
    const sq = new Float64Array(c);
    for (let i = 0; i < n; i++) mean[i % c]! += xs[i]! / (n / c);
    for (let i = 0; i < n; i++) sq[i % c]! += (xs[i]! - mean[i % c]!) ** 2 / (n / c);
    assertClose(meanOut!, mean, { abs: 0, rel: 1e-7 }, 'mean');
    assertClose(varOut!, sq, { abs: 0, rel: 1e-4 }, 'variance');
    const yRef = Float64Array.from(xs, (v, i) => (v - mean[i % c]!) / Math.sqrt(sq[i % c]!));
    assertClose(yOut!, yRef, { abs: 5e-4, rel: 0 }, 'y');
  });

  it('batchNormTrain differentiates the same on native (fused) and cpu (composite)', async () => {
    const r = await onBothBackends(() => {
      const { x, scale, offset, dy } = inputs([2, 6, 5, 4, 8], 21);
      const f = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a as tf.Tensor5D, s as tf.Tensor1D, o as tf.Tensor1D, { epsilon: EPS, relu: true }), dy));
      const [gx, gs, go] = tf.grads(f)([x, scale, offset]);
      return [batchNormTrain(x, scale, offset, { epsilon: EPS, relu: true }), gx!, gs!, go!];
    });
    assert.ok((r.ran[BATCH_NORM_TRAIN] ?? 0) > 0 && (r.ran[BATCH_NORM_TRAIN_GRAD] ?? 0) > 0, JSON.stringify(r.ran));
    ['y', 'dx', 'dscale', 'doffset'].forEach((name, i) => assertClose(r.native[i]!, r.cpu[i]!, { abs: 5e-5, rel: 1e-4 }, name));
  });

  it('reject inputs they cannot handle with an error naming the kernel', async () => {
    await tf.setBackend('native');
    assert.throws(
      () => tf.engine().runKernel(BATCH_NORM_TRAIN, { x: tf.zeros([2, 3], 'int32'), scale: tf.ones([3]), offset: tf.zeros([3]) }, { epsilon: EPS, relu: false }),
      /TracocoBatchNormTrain/,
    );
  });
});
