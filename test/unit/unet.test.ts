/**
 * UNet3D and UNet2D: output shapes, PyTorch state_dict keys and parameter counts, stateDict
 * round trips, initialisation, dropout only in training, BatchNorm statistics, the layers they add
 * (element-wise dropout, LeakyReLU, max-pooling gradients on both backends), and the errors for
 * bad inputs, configs and state dicts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { loadTorchStateDict } from '../../src/shared/checkpoint/torch-pth.js';
import { TracocoError } from '../../src/shared/errors.js';
import { UNet3D, unet3dEntries, type UNet3DConfig } from '../../src/shared/model/unet3d.js';
import { UNet2D, unet2dEntries, UNET2D_CHANNELS, UNET2D_DROPOUT, type UNet2DConfig } from '../../src/shared/model/unet2d.js';
import { VNet } from '../../src/shared/model/vnet.js';
import { concatAxis, dropoutElementwise, leakyRelu, maxPool2x } from '../../src/shared/model/unet-layers.js';
import { Random } from '../../src/shared/random.js';
import { activateBackend } from '../support/assertions.js';
import { goldenDir } from '../support/env.js';
import { skipUnlessGolden } from '../support/golden.js';

before(async () => {
  await initBackend('cpu');
});
after(async () => {
  await initBackend('cpu');
});

const small3d = (dropout = false): UNet3DConfig => ({ inChannels: 1, classes: 3, filters: 2, dropout });
const small2d = (dropout: number[] = [0, 0, 0, 0, 0]): UNet2DConfig => ({ inChannels: 2, classes: 4, channels: [2, 4, 8, 8, 16], dropout });

function randomTensor<R extends tf.Rank>(shape: number[], seed: number): tf.Tensor<R> {
  const r = new Random(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()), shape) as unknown as tf.Tensor<R>;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

const isTracoco = (pattern: RegExp) => (e: unknown) => e instanceof TracocoError && pattern.test(e.message);

test('UNet3D and UNet2D give logits of the input size for several sizes, in both modes', () => {
  const u3 = UNet3D.create(small3d(), 1);
  for (const shape of [[1, 16, 16, 16, 1], [2, 32, 16, 48, 1]]) {
    for (const training of [false, true]) {
      const y = u3.forward(randomTensor(shape, 2), { training });
      assert.deepEqual(y.shape, [...shape.slice(0, 4), 3]);
      y.dispose();
    }
  }
  const u2 = UNet2D.create(small2d(), 1);
  for (const shape of [[2, 16, 32, 2], [3, 48, 16, 2]]) {
    for (const training of [false, true]) {
      const y = u2.forward(randomTensor(shape, 3), { training });
      assert.deepEqual(y.shape, [...shape.slice(0, 3), 4]);
      y.dispose();
    }
  }
  u3.dispose();
  u2.dispose();
});

test('the published widths have PyTorch key names, order and parameter counts', () => {
  const u3 = UNet3D.create({ inChannels: 1, classes: 2, filters: 16, dropout: true }, 1);
  const keys3 = [...u3.stateDict().keys()];
  assert.equal(keys3.length, 38);
  assert.deepEqual(keys3.slice(0, 4), ['conv1.conv1.0.weight', 'conv1.conv1.0.bias', 'conv1.conv2.0.weight', 'conv1.conv2.0.bias']);
  assert.deepEqual(keys3.slice(20, 22), ['up_concat4.conv.conv1.0.weight', 'up_concat4.conv.conv1.0.bias']);
  assert.deepEqual(keys3.slice(-2), ['final.weight', 'final.bias']);
  assert.deepEqual(u3.stateDict().get('up_concat1.conv.conv1.0.weight')!.shape, [16, 48, 3, 3, 3], 'concat [skip 16, up 32]');
  const count = (m: { params: ReadonlyMap<string, tf.Variable> }) => [...m.params.values()].reduce((s, v) => s + v.size, 0);
  // sum(p.numel() for p in model.parameters()) of the published networks in PyTorch 1.13.
  assert.equal(count(u3), 5_884_050);
  assert.equal(u3.buffers.size, 0, 'InstanceNorm3d keeps no statistics');

  const u2 = UNet2D.create({ inChannels: 1, classes: 4, channels: UNET2D_CHANNELS, dropout: UNET2D_DROPOUT }, 1);
  const sd2 = u2.stateDict();
  const keys2 = [...sd2.keys()];
  assert.equal(keys2.length, 136);
  assert.deepEqual(keys2.slice(0, 7), [
    'encoder.in_conv.conv_conv.0.weight',
    'encoder.in_conv.conv_conv.0.bias',
    'encoder.in_conv.conv_conv.1.weight',
    'encoder.in_conv.conv_conv.1.bias',
    'encoder.in_conv.conv_conv.1.running_mean',
    'encoder.in_conv.conv_conv.1.running_var',
    'encoder.in_conv.conv_conv.1.num_batches_tracked',
  ]);
  assert.deepEqual(keys2.slice(70, 72), ['decoder.up1.conv1x1.weight', 'decoder.up1.conv1x1.bias']);
  assert.deepEqual(keys2.slice(-2), ['decoder.out_conv.weight', 'decoder.out_conv.bias']);
  assert.deepEqual(sd2.get('decoder.up1.conv.conv_conv.0.weight')!.shape, [128, 256, 3, 3]);
  assert.deepEqual(sd2.get('decoder.out_conv.weight')!.shape, [4, 16, 3, 3]);
  const nbt = sd2.get('decoder.up4.conv.conv_conv.5.num_batches_tracked')!;
  assert.deepEqual([nbt.dtype, nbt.shape, nbt.data[0]], ['int64', [], 0n]);
  assert.equal(count(u2), 1_813_764);
  assert.equal(u2.buffers.size, 54);
  u3.dispose();
  u2.dispose();
});

test('the key lists equal the golden checkpoints\' (names, order, shapes)', { skip: skipUnlessGolden }, async () => {
  const cases = [
    { pth: 'unet3d_fs4_seed20261126.pth', entries: unet3dEntries({ inChannels: 1, classes: 2, filters: 16, dropout: false }) },
    { pth: 'unet2d_c4_seed20261126.pth', entries: unet2dEntries({ inChannels: 1, classes: 4, channels: UNET2D_CHANNELS, dropout: UNET2D_DROPOUT }) },
  ];
  for (const { pth, entries } of cases) {
    const sd = await loadTorchStateDict(join(goldenDir, pth));
    assert.deepEqual(entries.map((e) => [e.key, e.torchShape]), [...sd].map(([k, t]) => [k, t.shape]), pth);
  }
});

test('stateDict round-trips through fromStateDict and loadStateDict, and inferConfig reads the widths', () => {
  const a = UNet3D.create(small3d(), 4);
  const sd = a.stateDict();
  assert.deepEqual(UNet3D.inferConfig(sd, 'a.pth'), { inChannels: 1, classes: 3, filters: 2 });
  const b = UNet3D.fromStateDict(small3d(), sd, 'a.pth');
  const x = randomTensor<tf.Rank.R5>([1, 16, 16, 16, 1], 5);
  assert.equal(maxAbsDiff(a.forward(x, { training: false }), b.forward(x, { training: false })), 0);
  const c = UNet3D.create(small3d(), 6);
  c.loadStateDict(sd, 'a.pth');
  assert.deepEqual([...c.stateDict()].map(([k, t]) => [k, [...t.data]]), [...sd].map(([k, t]) => [k, [...t.data]]));

  const u = UNet2D.create(small2d(), 7);
  const x2 = randomTensor<tf.Rank.R4>([4, 16, 16, 2], 8);
  tf.dispose(u.forward(x2, { training: true })); // moves the running statistics off their defaults
  const sd2 = u.stateDict();
  assert.equal(sd2.get('encoder.in_conv.conv_conv.1.num_batches_tracked')!.data[0], 1n);
  assert.deepEqual(UNet2D.inferConfig(sd2, 'u.pth'), { inChannels: 2, classes: 4, channels: [2, 4, 8, 8, 16] });
  const v = UNet2D.fromStateDict(small2d(), sd2, 'u.pth');
  assert.deepEqual([...v.stateDict()].map(([k, t]) => [k, t.shape, [...t.data]]), [...sd2].map(([k, t]) => [k, t.shape, [...t.data]]));
  assert.equal(maxAbsDiff(u.forward(x2, { training: false }), v.forward(x2, { training: false })), 0);
  for (const m of [a, b, c, u, v]) m.dispose();
});

test('create draws from the seed: Kaiming-normal UNet3D weights, PyTorch-default UNet2D weights', () => {
  const config = { inChannels: 1, classes: 2, filters: 16, dropout: false };
  const a = UNet3D.create(config, 3).stateDict();
  assert.deepEqual([...a.get('conv3.conv2.0.weight')!.data], [...UNet3D.create(config, 3).stateDict().get('conv3.conv2.0.weight')!.data]);
  const w = a.get('center.conv2.0.weight')!.data as Float32Array; // fan_in 256·27
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / (256 * 27)) - 1) < 0.01, `std ${std}`);
  const bias = a.get('center.conv2.0.bias')!.data as Float32Array;
  assert.ok(bias.every((v) => Math.abs(v) <= 1 / Math.sqrt(256 * 27)), 'bias U(±1/√fan_in)');
  const b = UNet2D.create({ inChannels: 1, classes: 4, channels: UNET2D_CHANNELS, dropout: UNET2D_DROPOUT }, 3).stateDict();
  const w2 = b.get('decoder.up1.conv.conv_conv.0.weight')!.data as Float32Array; // fan_in 256·9
  const bound = 1 / Math.sqrt(256 * 9);
  assert.ok(w2.every((v) => Math.abs(v) <= bound) && w2.reduce((m, v) => Math.max(m, v), 0) > 0.99 * bound, 'U(±1/√fan_in)');
  assert.ok((b.get('encoder.down2.maxpool_conv.1.conv_conv.5.weight')!.data as Float32Array).every((v) => v === 1));
  assert.ok((b.get('encoder.down2.maxpool_conv.1.conv_conv.5.running_var')!.data as Float32Array).every((v) => v === 1));
});

test('UNet3D dropout acts only in training, seeded; without dropout training equals eval', () => {
  const withDrop = UNet3D.create(small3d(true), 9);
  const without = UNet3D.fromStateDict(small3d(false), withDrop.stateDict(), 'same weights');
  const x = randomTensor<tf.Rank.R5>([2, 16, 16, 16, 1], 10);
  const evalOut = withDrop.forward(x, { training: false });
  assert.equal(maxAbsDiff(evalOut, without.forward(x, { training: false })), 0, 'eval ignores dropout');
  assert.equal(maxAbsDiff(evalOut, without.forward(x, { training: true })), 0, 'instance norm is the same in both modes');
  const run = (seed: number) => withDrop.forward(x, { training: true, dropout: new Random(seed) });
  assert.equal(maxAbsDiff(run(1), run(1)), 0, 'same seed, same masks');
  assert.ok(maxAbsDiff(run(1), run(2)) > 1e-4, 'another seed, other masks');
  assert.ok(maxAbsDiff(run(1), evalOut) > 1e-4, 'training drops');
  assert.throws(() => withDrop.forward(x, { training: true }), isTracoco(/needs a seeded Random/));
  withDrop.dispose();
  without.dispose();
});

test('UNet2D dropout acts only in training; BatchNorm statistics update in training unless told not to', () => {
  const u = UNet2D.create(small2d([0.05, 0.1, 0.2, 0.3, 0.5]), 11);
  const x = randomTensor<tf.Rank.R4>([4, 16, 16, 2], 12);
  const plain = UNet2D.fromStateDict(small2d(), u.stateDict(), 'same weights');
  assert.equal(maxAbsDiff(u.forward(x, { training: false }), plain.forward(x, { training: false })), 0, 'eval ignores dropout');
  const frozen = { training: true, updateStatistics: false } as const;
  const run = (seed: number) => u.forward(x, { ...frozen, dropout: new Random(seed) });
  assert.equal(maxAbsDiff(run(1), run(1)), 0);
  assert.ok(maxAbsDiff(run(1), run(2)) > 1e-4);
  assert.ok(maxAbsDiff(run(1), plain.forward(x, frozen)) > 1e-4, 'training drops');
  assert.throws(() => u.forward(x, { training: true }), isTracoco(/needs a seeded Random/));
  const key = 'encoder.down1.maxpool_conv.1.conv_conv.5.running_mean';
  const before = [...plain.buffers.get(key)!.dataSync()];
  assert.equal(plain.buffers.get('encoder.in_conv.conv_conv.1.num_batches_tracked')!.dataSync()[0], 0, 'frozen runs left the statistics alone');
  tf.dispose(plain.forward(x, { training: true }));
  assert.notDeepEqual([...plain.buffers.get(key)!.dataSync()], before);
  assert.equal(plain.buffers.get('encoder.in_conv.conv_conv.1.num_batches_tracked')!.dataSync()[0], 1);
  u.dispose();
  plain.dispose();
});

test('a training step with gradients leaves no tensors behind', () => {
  const u = UNet2D.create(small2d([0, 0.5, 0, 0, 0]), 13);
  const x = randomTensor<tf.Rank.R4>([2, 16, 16, 2], 14);
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => tf.mean(u.forward(x, { training: true, dropout: [new Random(1), new Random(2)] })) as tf.Scalar, [...u.params.values()]);
  assert.equal(Object.keys(grads).length, u.params.size);
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  u.dispose();
});

test('element-wise dropout: zeroes about p, scales the rest by 1/(1-p), per-sample streams', () => {
  const x = tf.ones([2, 10, 10, 10, 10]);
  const p = 0.3;
  const y = dropoutElementwise(x, p, new Random(1));
  const values = y.dataSync();
  const zeros = values.filter((v) => v === 0).length / values.length;
  assert.ok(Math.abs(zeros - p) < 0.02, `zeroed ${zeros}`);
  assert.ok(values.every((v) => v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-6));
  // Sample 1's mask depends on its own stream only.
  const alone = dropoutElementwise(tf.ones([1, 10, 10, 10, 10]), p, [new Random(7)]);
  const inBatch = dropoutElementwise(x, p, [new Random(6), new Random(7)]);
  assert.equal(maxAbsDiff(alone, tf.slice(inBatch, [1], [1])), 0);
  assert.throws(() => dropoutElementwise(x, p, [new Random(1)]), /1 random streams for a batch of 2/);
  tf.dispose([x, y, alone, inBatch]);
});

test('leakyRelu: slope 0.01 below zero in value and gradient (PyTorch: slope at 0)', () => {
  const x = tf.tensor1d([-2, -0.5, 0, 0.5, 3]);
  assert.deepEqual([...leakyRelu(x, 0.01).dataSync()].map((v) => Math.round(v * 1e6) / 1e6), [-0.02, -0.005, 0, 0.5, 3]);
  assert.deepEqual([...tf.grad((t: tf.Tensor) => tf.sum(leakyRelu(t, 0.01)))(x).dataSync()].map((v) => Math.fround(v)), [0.01, 0.01, 0.01, 1, 1].map(Math.fround));
  x.dispose();
});

for (const backend of ['native', 'cpu'] as const) {
  test(`${backend}: max-pooling (3D and planar) has a gradient routing dy to each window's maximum`, async (t) => {
    const skip = await activateBackend(backend);
    if (skip) return t.skip(skip);
    const x = randomTensor<tf.Rank.R5>([2, 4, 4, 4, 3], 15);
    for (const planar of [false, true]) {
      const y = maxPool2x(x, planar);
      assert.deepEqual(y.shape, planar ? [2, 4, 2, 2, 3] : [2, 2, 2, 2, 3]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(maxPool2x(v as tf.Tensor5D, planar)))(x);
      // One 1 per window, at the maximum: the selected values sum to the pooled sum.
      assert.equal(tf.sum(g).dataSync()[0], y.size);
      assert.ok(Math.abs(tf.sum(tf.mul(g, x)).dataSync()[0]! - tf.sum(y).dataSync()[0]!) < 1e-4);
      tf.dispose([y, g]);
    }
    // Ties: the whole gradient goes to the window's first element in raster order, like PyTorch.
    const tied = tf.grad((v: tf.Tensor) => tf.sum(maxPool2x(v as tf.Tensor5D)))(tf.ones([1, 2, 2, 2, 1]));
    assert.deepEqual([...tied.dataSync()], [1, 0, 0, 0, 0, 0, 0, 0]);
    x.dispose();
  });

  test(`${backend}: concatAxis has concat's value and a gradient made of slices`, async (t) => {
    const skip = await activateBackend(backend);
    if (skip) return t.skip(skip);
    const a = randomTensor<tf.Rank.R5>([2, 3, 2, 2, 3], 16);
    const b = randomTensor<tf.Rank.R5>([2, 3, 2, 2, 5], 17);
    const w = randomTensor<tf.Rank.R5>([2, 3, 2, 2, 8], 18);
    assert.equal(maxAbsDiff(concatAxis([a, b], 4), tf.concat([a, b], 4)), 0);
    const [ga, gb] = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(concatAxis([u, v], 4), w)))([a, b]);
    assert.equal(maxAbsDiff(ga!, tf.slice(w, [0, 0, 0, 0, 0], a.shape)), 0);
    assert.equal(maxAbsDiff(gb!, tf.slice(w, [0, 0, 0, 0, 3], b.shape)), 0);
    tf.dispose([a, b, w, ga!, gb!]);
  });
}

test('bad inputs are TracocoErrors: rank, channels, sizes not multiples of 16', () => {
  const u3 = UNet3D.create(small3d(), 1);
  const u2 = UNet2D.create(small2d(), 1);
  assert.throws(() => u3.forward(tf.zeros([1, 16, 16, 16]) as unknown as tf.Tensor5D, { training: false }), isTracoco(/must be \[N, x, y, z, 1\]/));
  assert.throws(() => u3.forward(tf.zeros([1, 16, 16, 16, 2]), { training: false }), isTracoco(/must be \[N, x, y, z, 1\]/));
  assert.throws(() => u3.forward(tf.zeros([1, 16, 24, 16, 1]), { training: false }), isTracoco(/16x24x16 is not a positive multiple of 16/));
  assert.throws(() => u2.forward(tf.zeros([1, 1, 16, 16, 2]) as unknown as tf.Tensor4D, { training: false }), isTracoco(/must be \[N, H, W, 2\]/));
  assert.throws(() => u2.forward(tf.zeros([1, 16, 8, 2]), { training: false }), isTracoco(/16x8 is not a positive multiple of 16/));
  assert.throws(() => UNet3D.create({ ...small3d(), filters: 0 }, 1), isTracoco(/field 'filters'/));
  assert.throws(() => UNet2D.create({ ...small2d(), channels: [2, 4, 8] }, 1), isTracoco(/field 'channels'/));
  assert.throws(() => UNet2D.create({ ...small2d(), dropout: [0, 0, 0, 0, 1] }, 1), isTracoco(/field 'dropout'/));
  u3.dispose();
  u2.dispose();
});

test('wrong state dicts are TracocoErrors naming the file and the key', () => {
  const vnetSd = VNet.create({ inChannels: 1, classes: 2, filters: 2, normalization: 'batchnorm', dropout: false }, 1).stateDict();
  assert.throws(() => UNet3D.fromStateDict(small3d(), vnetSd, 'vnet.pth'), isTracoco(/^vnet\.pth, field 'conv1\.conv1\.0\.weight': missing key .*holds a vnet state_dict/));
  assert.throws(() => UNet3D.inferConfig(vnetSd, 'vnet.pth'), isTracoco(/^vnet\.pth, field 'conv1\.conv1\.0\.weight': missing key.*vnet/));
  const sd3 = UNet3D.create(small3d(), 1).stateDict();
  assert.throws(() => UNet2D.inferConfig(sd3, 'u3.pth'), isTracoco(/^u3\.pth, field 'encoder\.in_conv\.conv_conv\.0\.weight'.*unet3d/));
  assert.throws(() => UNet3D.fromStateDict({ ...small3d(), filters: 4 }, sd3, 'u3.pth'), isTracoco(/u3\.pth, field 'conv1\.conv1\.0\.weight': shape \[2, 1, 3, 3, 3\] does not match/));
  const extra = new Map(sd3).set('final.extra', sd3.get('final.bias')!);
  assert.throws(() => UNet3D.fromStateDict(small3d(), extra, 'x.pth'), isTracoco(/x\.pth, field 'final\.extra': unexpected key/));
  const missing = new Map(sd3);
  missing.delete('up_concat2.conv.conv2.0.bias');
  assert.throws(() => UNet3D.create(small3d(), 2).loadStateDict(missing, 'm.pth'), isTracoco(/m\.pth, field 'up_concat2\.conv\.conv2\.0\.bias': missing key/));
  const sd2 = UNet2D.create(small2d(), 1).stateDict();
  sd2.delete('decoder.up3.conv.conv_conv.1.running_var');
  assert.throws(() => UNet2D.fromStateDict(small2d(), sd2, 'u2.pth'), isTracoco(/u2\.pth, field 'decoder\.up3\.conv\.conv_conv\.1\.running_var': missing key/));
});
