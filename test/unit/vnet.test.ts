/**
 * VNet: PyTorch state_dict names and shapes per normalization, seeded default init, training-mode
 * BatchNorm side effects, eval-mode independence of the batch, seeded Dropout3d, strict
 * loadStateDict, input checks, and no tensor leaks in a tidy training step.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { VNet, type Normalization, type VNetConfig } from '../../src/shared/model/vnet.js';
import { dropout3d } from '../../src/shared/model/layers.js';
import { SGD } from '../../src/shared/optim/sgd.js';
import { supervisedLoss } from '../../src/shared/losses/supervised.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

const config = (normalization: Normalization = 'batchnorm', filters = 2, dropout = false): VNetConfig => ({
  inChannels: 1,
  classes: 2,
  filters,
  normalization,
  dropout,
});

function randomInput(shape: [number, number, number, number, number], seed: number): tf.Tensor5D {
  const r = new Random(seed);
  return tf.tensor5d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test('batchnorm VNet has the reference state_dict keys, shapes and order', () => {
  const model = VNet.create(config('batchnorm', 4), 1);
  const sd = model.stateDict();
  const keys = [...sd.keys()];
  // 29 conv(+BN) units × 7 entries + out_conv weight and bias.
  assert.equal(keys.length, 29 * 7 + 2);
  assert.deepEqual(keys.slice(0, 7), [
    'block_one.conv.0.weight',
    'block_one.conv.0.bias',
    'block_one.conv.1.weight',
    'block_one.conv.1.bias',
    'block_one.conv.1.running_mean',
    'block_one.conv.1.running_var',
    'block_one.conv.1.num_batches_tracked',
  ]);
  assert.deepEqual(keys.slice(-2), ['out_conv.weight', 'out_conv.bias']);
  assert.deepEqual(sd.get('block_three.conv.6.weight')!.shape, [16, 16, 3, 3, 3]);
  assert.deepEqual(sd.get('block_one_dw.conv.0.weight')!.shape, [8, 4, 2, 2, 2]);
  assert.deepEqual(sd.get('block_five_up.conv.0.weight')!.shape, [64, 32, 2, 2, 2], 'ConvTranspose3d is [in, out, k, k, k]');
  assert.deepEqual(sd.get('out_conv.weight')!.shape, [2, 4, 1, 1, 1]);
  const nbt = sd.get('block_two.conv.4.num_batches_tracked')!;
  assert.deepEqual([nbt.dtype, nbt.shape, nbt.data[0]], ['int64', [], 0n]);
  assert.equal(model.params.size + model.buffers.size, keys.length);
  assert.equal(model.buffers.size, 29 * 3);
  model.dispose();
});

test('normalization none / instancenorm / groupnorm place modules like the reference Sequential', () => {
  const none = VNet.create(config('none'), 1).stateDict();
  assert.ok(none.has('block_two.conv.2.weight') && !none.has('block_two.conv.3.weight'), "'none': conv at 2i");
  assert.equal(none.size, 29 * 2 + 2);
  const instance = VNet.create(config('instancenorm'), 1).stateDict();
  assert.ok(instance.has('block_two.conv.3.weight') && !instance.has('block_two.conv.1.weight'), 'instancenorm: conv at 3i, no norm params');
  assert.equal(instance.size, 29 * 2 + 2);
  const group = VNet.create(config('groupnorm', 16), 1).stateDict();
  assert.ok(group.has('block_two.conv.4.weight') && !group.has('block_two.conv.4.running_mean'), 'groupnorm: affine, no running stats');
  assert.equal(group.size, 29 * 4 + 2);
  assert.throws(() => VNet.create(config('groupnorm', 8), 1), (e: unknown) => e instanceof TracocoError && /field 'filters'/.test(e.message));
});

test('create draws PyTorch default init from the seed: same seed same weights, bounds 1/sqrt(fan_in)', () => {
  const a = VNet.create(config('batchnorm', 4), 7).stateDict();
  const b = VNet.create(config('batchnorm', 4), 7).stateDict();
  const c = VNet.create(config('batchnorm', 4), 8).stateDict();
  const w = (sd: typeof a, k: string) => Array.from(sd.get(k)!.data as Float32Array);
  assert.deepEqual(w(a, 'block_four.conv.3.weight'), w(b, 'block_four.conv.3.weight'));
  assert.notDeepEqual(w(a, 'block_four.conv.3.weight'), w(c, 'block_four.conv.3.weight'));
  const bound = (k: string, fanIn: number) => {
    const values = w(a, k);
    const max = Math.max(...values.map(Math.abs));
    assert.ok(max <= 1 / Math.sqrt(fanIn) && max > 0.8 / Math.sqrt(fanIn), `${k}: max |w| ${max} vs bound ${1 / Math.sqrt(fanIn)}`);
  };
  bound('block_two.conv.0.weight', 8 * 27);
  bound('block_two.conv.0.bias', 8 * 27);
  bound('block_five_up.conv.0.weight', 32 * 8); // ConvTranspose3d: fan_in from dim 1 (out channels)
  assert.deepEqual(w(a, 'block_one.conv.1.weight'), [1, 1, 1, 1]);
  assert.deepEqual(w(a, 'block_one.conv.1.running_var'), [1, 1, 1, 1]);
  assert.deepEqual(w(a, 'block_one.conv.1.bias'), [0, 0, 0, 0]);
});

test('forward gives [N, x, y, z, classes] logits for every normalization', () => {
  for (const norm of ['batchnorm', 'groupnorm', 'instancenorm', 'none'] as const) {
    const model = VNet.create({ ...config(norm, norm === 'groupnorm' ? 16 : 2), classes: 3 }, 2);
    const x = randomInput([2, 16, 16, 32, 1], 3);
    for (const training of [false, true]) {
      const y = model.forward(x, { training });
      assert.deepEqual(y.shape, [2, 16, 16, 32, 3], `${norm} training=${training}`);
      assert.ok(y.dataSync().every(Number.isFinite));
      y.dispose();
    }
    x.dispose();
    model.dispose();
  }
});

test('a training forward updates BN running statistics like PyTorch; eval leaves them alone', () => {
  const model = VNet.create(config('batchnorm', 2), 4);
  const x = randomInput([2, 16, 16, 16, 1], 5);
  // block_one.conv.1 normalises conv(x) + b: compute that batch's statistics independently.
  const z = tf.add(tf.conv3d(x, model.params.get('block_one.conv.0.weight') as unknown as tf.Tensor5D, 1, 'same'), model.params.get('block_one.conv.0.bias')!);
  const { mean, variance } = tf.moments(z, [0, 1, 2, 3]);
  const m = z.size / 2;
  const expectedMean = Array.from(mean.dataSync(), (v) => 0.1 * v);
  const expectedVar = Array.from(variance.dataSync(), (v) => 0.9 + 0.1 * v * (m / (m - 1)));

  model.forward(x, { training: false }).dispose();
  assert.deepEqual(Array.from(model.buffers.get('block_one.conv.1.running_mean')!.dataSync()), [0, 0]);

  model.forward(x, { training: true }).dispose();
  const rm = Array.from(model.buffers.get('block_one.conv.1.running_mean')!.dataSync());
  const rv = Array.from(model.buffers.get('block_one.conv.1.running_var')!.dataSync());
  rm.forEach((v, c) => assert.ok(Math.abs(v - expectedMean[c]!) < 1e-6, `running_mean[${c}] ${v} vs ${expectedMean[c]}`));
  rv.forEach((v, c) => assert.ok(Math.abs(v - expectedVar[c]!) < 1e-5, `running_var[${c}] ${v} vs ${expectedVar[c]} (unbiased)`));
  assert.equal(model.buffers.get('block_nine.conv.1.num_batches_tracked')!.dataSync()[0], 1);

  // Also without a gradient tape and inside tidy (pseudo-label forwards): still counted.
  tf.tidy(() => {
    model.forward(x, { training: true });
  });
  assert.equal(model.stateDict().get('block_five.conv.7.num_batches_tracked')!.data[0], 2n);
  tf.dispose([x, z, mean, variance]);
  model.dispose();
});

test('eval mode uses running statistics: a sample gives the same logits alone or in a batch', () => {
  const model = VNet.create(config('batchnorm', 2), 6);
  const batch = randomInput([2, 32, 16, 16, 1], 7);
  model.forward(batch, { training: true }).dispose(); // non-trivial running stats
  const first = tf.slice(batch, [0, 0, 0, 0, 0], [1, -1, -1, -1, -1]) as tf.Tensor5D;
  const together = model.forward(batch, { training: false });
  const alone = model.forward(first, { training: false });
  assert.ok(maxAbsDiff(tf.slice(together, [0, 0, 0, 0, 0], [1, -1, -1, -1, -1]), alone) < 1e-5);
  const trainTogether = model.forward(batch, { training: true });
  const trainAlone = model.forward(first, { training: true });
  assert.ok(maxAbsDiff(tf.slice(trainTogether, [0, 0, 0, 0, 0], [1, -1, -1, -1, -1]), trainAlone) > 1e-3, 'training mode uses batch statistics');
  tf.dispose([batch, first, together, alone, trainTogether, trainAlone]);
  model.dispose();
});

test('Dropout3d comes from the caller’s Random: same seed, same logits; other seed, other logits', () => {
  const model = VNet.create(config('batchnorm', 2, true), 8);
  const x = randomInput([2, 16, 16, 16, 1], 9);
  const run = (seed: number) => model.forward(x, { training: true, dropout: new Random(seed) });
  const a = run(1);
  const b = run(1);
  const c = run(2);
  assert.equal(maxAbsDiff(a, b), 0);
  assert.ok(maxAbsDiff(a, c) > 1e-4);
  assert.throws(() => model.forward(x, { training: true }), /dropout needs a seeded Random/);
  const e1 = model.forward(x, { training: false });
  const e2 = model.forward(x, { training: false });
  assert.equal(maxAbsDiff(e1, e2), 0, 'no dropout in eval mode');
  tf.dispose([x, a, b, c, e1, e2]);
  model.dispose();
});

test('Dropout3d with one stream per sample: a sample’s mask does not depend on its batch-mates', () => {
  const ones = tf.ones([3, 2, 2, 2, 64]) as tf.Tensor5D;
  const masks = (streams: Random[], x: tf.Tensor5D) =>
    tf.tidy(() => Array.from(tf.slice(dropout3d(x, 0.5, streams), [0, 0, 0, 0, 0], [-1, 1, 1, 1, -1]).dataSync()));
  const batch = masks([new Random(1), new Random(2), new Random(3)], ones);
  const alone = masks([new Random(2)], tf.slice(ones, [1, 0, 0, 0, 0], [1, -1, -1, -1, -1]) as tf.Tensor5D);
  assert.deepEqual(batch.slice(64, 128), alone);
  assert.ok(batch.every((v) => v === 0 || v === 2), 'kept channels are scaled by 1/(1-p)');
  const dropped = batch.filter((v) => v === 0).length;
  assert.ok(dropped > 60 && dropped < 132, `about half of 192 channels dropped, got ${dropped}`);
  const model = VNet.create(config('batchnorm', 2, true), 8);
  const x = tf.zeros([2, 16, 16, 16, 1]) as tf.Tensor5D;
  assert.throws(() => model.forward(x, { training: true, dropout: [new Random(1)] }), /1 dropout streams for a batch of 2/);
  tf.dispose([ones, x]);
  model.dispose();
});

test('updateStatistics: false trains on batch statistics but leaves running statistics alone', () => {
  const model = VNet.create(config('batchnorm', 2), 18);
  const x = randomInput([2, 16, 16, 16, 1], 19);
  const frozen = model.forward(x, { training: true, updateStatistics: false });
  const sd = model.stateDict();
  assert.deepEqual(Array.from(sd.get('block_one.conv.1.running_mean')!.data as Float32Array), [0, 0]);
  assert.equal(sd.get('block_one.conv.1.num_batches_tracked')!.data[0], 0n);
  const updating = model.forward(x, { training: true });
  assert.equal(maxAbsDiff(frozen, updating), 0, 'same batch statistics either way');
  assert.equal(model.stateDict().get('block_one.conv.1.num_batches_tracked')!.data[0], 1n);
  tf.dispose([x, frozen, updating]);
  model.dispose();
});

test('loadStateDict copies weights exactly and is strict about keys and shapes', () => {
  const source = VNet.create(config('batchnorm', 2), 10);
  const x = randomInput([1, 32, 16, 16, 1], 11);
  source.forward(x, { training: true }).dispose();
  const target = VNet.create(config('batchnorm', 2), 12);
  const sd = source.stateDict();
  target.loadStateDict(sd, 'source.safetensors');
  assert.equal(maxAbsDiff(source.forward(x, { training: false }), target.forward(x, { training: false })), 0);
  assert.equal(target.buffers.get('block_one.conv.1.num_batches_tracked')!.dataSync()[0], 1);

  const before = Array.from(target.params.get('out_conv.bias')!.dataSync());
  const missing = new Map(sd);
  missing.delete('block_six.conv.4.running_var');
  missing.set('out_conv.bias', { shape: [2], dtype: 'float32', data: new Float32Array([9, 9]) });
  assert.throws(() => target.loadStateDict(missing, 'm.pth'), /m\.pth, field 'block_six\.conv\.4\.running_var': missing key/);
  assert.deepEqual(Array.from(target.params.get('out_conv.bias')!.dataSync()), before, 'a failed load changes nothing');
  const extra = new Map(sd).set('block_ten.conv.0.weight', sd.get('out_conv.bias')!);
  assert.throws(() => target.loadStateDict(extra, 'e.pth'), /e\.pth, field 'block_ten\.conv\.0\.weight': unexpected key/);
  const wrong = new Map(sd).set('block_two.conv.3.weight', { shape: [4, 4, 3, 3, 2], dtype: 'float32', data: new Float32Array(288) });
  assert.throws(() => target.loadStateDict(wrong, 'w.pth'), /w\.pth, field 'block_two\.conv\.3\.weight': shape \[4, 4, 3, 3, 2\] does not match the model's \[4, 4, 3, 3, 3\]/);
  x.dispose();
  source.dispose();
  target.dispose();
});

test('stateDict round-trips through PyTorch layout: conv weights permuted, not reshaped', () => {
  const model = VNet.create(config('batchnorm', 2), 13);
  const tfjsWeight = model.params.get('block_two.conv.0.weight')!; // [kx, ky, kz, in, out]
  assert.deepEqual(tfjsWeight.shape, [3, 3, 3, 4, 4]);
  const torch = model.stateDict().get('block_two.conv.0.weight')!; // [out, in, kx, ky, kz]
  const t = tfjsWeight.dataSync();
  // element (out 3, in 1, kx 2, ky 0, kz 1)
  assert.equal((torch.data as Float32Array)[(((3 * 4 + 1) * 3 + 2) * 3 + 0) * 3 + 1], t[(((2 * 3 + 0) * 3 + 1) * 4 + 1) * 4 + 3]);
  const up = model.params.get('block_five_up.conv.0.weight')!; // [kx, ky, kz, out, in]
  assert.deepEqual(up.shape, [2, 2, 2, 16, 32]);
  model.dispose();
});

test('forward rejects inputs that are not [N, x, y, z, inChannels] with sizes multiple of 16', () => {
  const model = VNet.create(config('batchnorm', 2), 14);
  const odd = tf.zeros([1, 16, 24, 16, 1]) as tf.Tensor5D;
  const channels = tf.zeros([1, 16, 16, 16, 2]) as tf.Tensor5D;
  assert.throws(() => model.forward(odd, { training: false }), /16x24x16 is not a multiple of 16/);
  assert.throws(() => model.forward(channels, { training: false }), /must be \[N, x, y, z, 1\]/);
  // Like PyTorch, training BatchNorm needs more than one value per channel (here the 1x1x1 bottleneck).
  const tiny = tf.zeros([1, 16, 16, 16, 1]) as tf.Tensor5D;
  assert.throws(() => model.forward(tiny, { training: true }), (e: unknown) => e instanceof TracocoError && /more than one value per channel/.test(e.message));
  tf.dispose([odd, channels, tiny]);
  model.dispose();
});

test('a tidy training step (forward, loss, gradients of every parameter, SGD) leaks no tensors', () => {
  const model = VNet.create(config('batchnorm', 2, true), 15);
  const x = randomInput([2, 16, 16, 16, 1], 16);
  const labels = tf.tidy(() => tf.cast(tf.greater(tf.squeeze(x, [4]), 0.5), 'int32')) as tf.Tensor4D;
  const optimizer = new SGD({ momentum: 0.9, weightDecay: 1e-4 });
  const dropout = new Random(17);
  const step = () =>
    tf.tidy(() => {
      const vars = [...model.params.values()];
      const { value, grads } = tf.variableGrads(() => supervisedLoss(model.forward(x, { training: true, dropout }), labels).loss, vars);
      const byKey = new Map([...model.params].map(([key, v]) => [key, grads[v.name]!]));
      assert.equal([...byKey.values()].filter(Boolean).length, model.params.size, 'every parameter gets a gradient');
      optimizer.step(model.params, byKey, 0.01);
      return value.dataSync()[0]!;
    });
  const firstLoss = step(); // creates the momentum buffers
  const before = tf.memory().numTensors;
  step();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(firstLoss));
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
});
