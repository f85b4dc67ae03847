/**
 * A conv bias followed by a normalisation is not added (`cancelledBias`): the output must not
 * depend on it, its gradient must be exactly zero yet present (so SGD's weight decay and momentum
 * still update it, as PyTorch does), and BatchNorm's running mean must still track conv + bias.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { cancelledBias } from '../../src/shared/model/layers.js';
import { VNet, type VNetConfig } from '../../src/shared/model/vnet.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

function input(seed: number): tf.Tensor5D {
  const r = new Random(seed);
  return tf.tensor5d(Float32Array.from({ length: 2 * 16 * 16 * 16 }, () => r.normal()), [2, 16, 16, 16, 1]);
}

test('cancelledBias passes x through and gives the bias a zero gradient of its shape', () => {
  const x = tf.tensor5d([1, -2, 3, 4], [1, 1, 2, 1, 2]);
  const b = tf.tensor1d([5, 6]);
  const [dx, db] = tf.grads((xi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(cancelledBias(xi as tf.Tensor5D, bi as tf.Tensor1D), tf.tensor5d([1, 2, 3, 4], [1, 1, 2, 1, 2]))))([x, b]);
  assert.deepEqual(Array.from(cancelledBias(x, b).dataSync()), [1, -2, 3, 4]);
  assert.deepEqual(Array.from(dx!.dataSync()), [1, 2, 3, 4]);
  assert.deepEqual(db!.shape, [2]);
  assert.deepEqual(Array.from(db!.dataSync()), [0, 0]);
});

for (const normalization of ['instancenorm', 'batchnorm'] as const) {
  test(`VNet (${normalization}): train-mode logits ignore a normalised conv's bias, whose gradient is present and zero`, () => {
    const config: VNetConfig = { inChannels: 1, classes: 2, filters: 4, normalization, dropout: false };
    const model = VNet.create(config, 3);
    const x = input(1);
    const key = 'block_one.conv.0.bias';
    const before = Array.from(model.forward(x, { training: true }).dataSync());
    const { grads } = tf.variableGrads(() => tf.mean(model.forward(x, { training: true })) as tf.Scalar);
    const biasGrad = grads[model.params.get(key)!.name];
    assert.ok(biasGrad, `${key} has a gradient`);
    assert.ok(biasGrad.dataSync().every((v) => v === 0), `${key} gradient is zero`);
    model.params.get(key)!.assign(tf.fill([4], 3));
    const after = model.forward(x, { training: true }).dataSync();
    const worst = before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i]!)), 0);
    assert.ok(worst < 1e-4, `logits moved by ${worst} when the bias changed`);
  });
}

test('BatchNorm running mean tracks mean(conv) + bias although the bias is not added', () => {
  const config: VNetConfig = { inChannels: 1, classes: 2, filters: 4, normalization: 'batchnorm', dropout: false };
  const runningMeanAfter = (bias: number) => {
    const model = VNet.create(config, 3);
    model.params.get('block_one.conv.0.bias')!.assign(tf.fill([4], bias));
    model.forward(input(1), { training: true, updateStatistics: true });
    return Array.from(model.buffers.get('block_one.conv.1.running_mean')!.dataSync());
  };
  const [zero, two] = [runningMeanAfter(0), runningMeanAfter(2)];
  // momentum 0.1: the batch mean moves by 2, the running mean by 0.2
  for (const [i, v] of two.entries()) assert.ok(Math.abs(v - zero[i]! - 0.2) < 1e-5, `channel ${i}: ${v} vs ${zero[i]}`);
});
