/**
 * Interop with PyTorch (test/support/torch_vnet.py, the reference VNet definition): tracoco
 * checkpoints load into `VNet.load_state_dict(strict=True)` with no missing or unexpected keys
 * and give the same eval logits for every normalization; `.pth` files PyTorch writes (float64,
 * strided, nested) import exactly; train-mode gradients of every parameter agree.
 * Skips when `/usr/bin/python3 -c 'import torch'` fails, except in CI where that is a failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { decodeSafetensors, encodeSafetensors, inferVNetConfig, loadTorchStateDict, saveCheckpoint } from '../../src/shared/checkpoint/index.js';
import { NCDHW_TO_NDHWC, NDHWC_TO_NCDHW, permute, tfjsToTorch, type StateDict, type StateTensor } from '../../src/shared/model/layout.js';
import { VNet, type Normalization, type VNetConfig } from '../../src/shared/model/vnet.js';
import { supervisedLoss } from '../../src/shared/losses/supervised.js';
import { Random } from '../../src/shared/random.js';
import { goldenDir, repoRoot, skipUnlessExists, tempDir } from '../support/env.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'test', 'support', 'torch_vnet.py');

function torchMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? false : `PyTorch is not importable by ${PYTHON}`;
}
const missing = torchMissing();
/** In CI PyTorch is required: the tests run and fail on the first check. */
const skip = process.env.CI ? false : missing;

const dir = tempDir('tracoco-interop-');
before(async () => {
  await initBackend('cpu');
});
after(() => dir.cleanup());

function python(...args: string[]): string {
  assert.equal(missing, false, 'PyTorch is required in CI');
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `torch_vnet.py ${args[0]} failed:\n${r.stderr}`);
  return r.stdout;
}

function randomNdhwc(shape: [number, number, number, number, number], seed: number): tf.Tensor5D {
  const r = new Random(seed);
  return tf.tensor5d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()), shape);
}

/** Writes `x` (NDHWC) as tensor "x" in PyTorch layout, plus optional labels. */
function writeInputs(path: string, x: tf.Tensor5D, labels?: Int32Array): void {
  const ncdhw = permute(Float32Array.from(x.dataSync()), x.shape, NDHWC_TO_NCDHW);
  const tensors: StateDict = new Map([['x', { shape: ncdhw.shape, dtype: 'float32', data: ncdhw.data } satisfies StateTensor]]);
  if (labels) {
    const [n, d, h, w] = x.shape;
    tensors.set('labels', { shape: [n, d, h, w], dtype: 'int64', data: BigInt64Array.from(labels, BigInt) });
  }
  writeFileSync(path, encodeSafetensors(tensors));
}

function readTensors(path: string): StateDict {
  return decodeSafetensors(readFileSync(path), path).tensors;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Saves `model`, runs PyTorch's eval forward on `x`, and compares with tracoco's logits. */
async function assertSameEvalLogits(model: VNet, x: tf.Tensor5D, name: string): Promise<void> {
  const checkpoint = join(dir.path, `${name}.safetensors`);
  const input = join(dir.path, `${name}-x.safetensors`);
  const output = join(dir.path, `${name}-logits.safetensors`);
  await saveCheckpoint(checkpoint, model);
  writeInputs(input, x);
  const report = JSON.parse(python('forward', '--checkpoint', checkpoint, '--input', input, '--output', output)) as { missing: string[]; unexpected: string[] };
  assert.deepEqual(report.missing, [], `${name}: keys PyTorch expected but the checkpoint lacks`);
  assert.deepEqual(report.unexpected, [], `${name}: keys in the checkpoint PyTorch does not know`);
  const torchLogits = readTensors(output).get('logits')!;
  const ours = tf.tidy(() => model.forward(x, { training: false }));
  const oursNcdhw = permute(Float32Array.from(ours.dataSync()), ours.shape, NDHWC_TO_NCDHW);
  ours.dispose();
  assert.deepEqual(oursNcdhw.shape, torchLogits.shape);
  const diff = maxAbsDiff(oursNcdhw.data, torchLogits.data as Float32Array);
  assert.ok(diff <= 1e-4, `${name}: max |tracoco - PyTorch| logits ${diff}`);
}

const CASES: { normalization: Normalization; filters: number; shape: [number, number, number, number, number] }[] = [
  { normalization: 'batchnorm', filters: 4, shape: [2, 32, 32, 16, 1] },
  { normalization: 'groupnorm', filters: 16, shape: [1, 16, 16, 16, 1] },
  { normalization: 'instancenorm', filters: 4, shape: [1, 32, 32, 32, 1] },
  { normalization: 'none', filters: 4, shape: [1, 16, 32, 16, 1] },
];

for (const c of CASES) {
  test(`a tracoco ${c.normalization} checkpoint loads strictly into the PyTorch VNet with the same eval logits`, { skip }, async () => {
    const config: VNetConfig = { inChannels: 1, classes: 2, filters: c.filters, normalization: c.normalization, dropout: true };
    const model = VNet.create(config, 11);
    const x = randomNdhwc(c.shape, 12);
    if (c.normalization === 'batchnorm') {
      for (let i = 0; i < 2; i++) model.forward(x, { training: true, dropout: new Random(i) }).dispose(); // non-trivial running stats
    }
    await assertSameEvalLogits(model, x, `random-${c.normalization}`);
    x.dispose();
    model.dispose();
  });
}

const goldenPth = join(goldenDir, 'vnet4_bn_seed20261126.pth');

test('the golden .pth imported by tracoco loads back into PyTorch with the same logits', { skip: skip || skipUnlessExists(goldenPth, 'golden .pth') }, async () => {
  const sd = await loadTorchStateDict(goldenPth);
  const model = VNet.fromStateDict(inferVNetConfig(sd, goldenPth), sd, goldenPth);
  const x = randomNdhwc([1, 32, 32, 16, 1], 13);
  await assertSameEvalLogits(model, x, 'golden');
  x.dispose();
  model.dispose();
});

test('a .pth PyTorch writes with float64, strided views and nesting imports exactly', { skip }, async () => {
  const pth = join(dir.path, 'strided.pth');
  const reference = join(dir.path, 'strided-reference.safetensors');
  python('save-pth', '--output', pth, '--reference', reference, '--double', '--strided', '--wrap', 'state_dict', '--train-steps', '2', '--seed', '5');
  const imported = await loadTorchStateDict(pth);
  const expected = readTensors(reference);
  assert.deepEqual([...imported.keys()], [...expected.keys()], 'keys in state_dict order');
  for (const [key, t] of expected) {
    const got = imported.get(key)!;
    assert.deepEqual([got.shape, got.dtype], [t.shape, t.dtype], key);
    assert.deepEqual(got.data, t.data, `${key}: values differ`);
  }
  assert.ok((imported.get('block_one.conv.1.num_batches_tracked')!.data[0] as bigint) === 2n);
  const model = VNet.fromStateDict(inferVNetConfig(imported, pth), imported, pth);
  const x = randomNdhwc([1, 16, 16, 32, 1], 14);
  await assertSameEvalLogits(model, x, 'strided');
  x.dispose();
  model.dispose();
});

test('train-mode logits, BN statistics and the gradient of every parameter agree with PyTorch', { skip }, async (t) => {
  const config: VNetConfig = { inChannels: 1, classes: 2, filters: 4, normalization: 'batchnorm', dropout: false };
  const model = VNet.create(config, 21);
  const checkpoint = join(dir.path, 'grads.safetensors');
  await saveCheckpoint(checkpoint, model);
  const x = randomNdhwc([2, 32, 32, 16, 1], 22);
  const labelValues = Int32Array.from(x.dataSync(), (v) => (v > 0.3 ? 1 : 0));
  const input = join(dir.path, 'grads-x.safetensors');
  const output = join(dir.path, 'grads-out.safetensors');
  writeInputs(input, x, labelValues);
  python('grads', '--checkpoint', checkpoint, '--input', input, '--output', output);
  const torch = readTensors(output);

  const labels = tf.tensor4d(labelValues, [2, 32, 32, 16], 'int32');
  let logits: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x, { training: true });
    logits = tf.keep(out);
    return supervisedLoss(out, labels).loss;
  }, [...model.params.values()]);
  const logitsNcdhw = permute(Float32Array.from(logits!.dataSync()), logits!.shape, NDHWC_TO_NCDHW);
  assert.ok(maxAbsDiff(logitsNcdhw.data, torch.get('logits')!.data as Float32Array) <= 1e-4, 'train-mode logits');
  for (const [key, buffer] of model.buffers) {
    if (key.endsWith('num_batches_tracked')) continue;
    const diff = maxAbsDiff(buffer.dataSync() as Float32Array, torch.get(`buffer/${key}`)!.data as Float32Array);
    assert.ok(diff <= 1e-5, `${key} after one forward: max |diff| ${diff}`);
  }
  let worst = { key: '', relL2: 0 };
  for (const [key, variable] of model.params) {
    const ours = tfjsToTorch(Float32Array.from(grads[variable.name]!.dataSync()), variable.shape).data;
    const theirs = torch.get(`grad/${key}`)!.data as Float32Array;
    const scale = Math.max(...Array.from(theirs, Math.abs));
    if (scale < 1e-6) {
      // Conv biases feeding a training BatchNorm: the exact gradient is 0, both sides hold rounding noise.
      assert.ok(maxAbsDiff(ours, theirs) <= 1e-5, `${key}: expected a ~0 gradient`);
      continue;
    }
    let diff2 = 0;
    let norm2 = 0;
    for (let i = 0; i < theirs.length; i++) {
      diff2 += (ours[i]! - theirs[i]!) ** 2;
      norm2 += theirs[i]! ** 2;
    }
    // Typically ~1e-5 here; a float32 ReLU flip near 0 can move deep gradients by ~1%
    // (see test/golden/vnet.test.ts), so the bound leaves room for one on another torch build.
    const relL2 = Math.sqrt(diff2 / norm2);
    assert.ok(relL2 <= 1e-2, `${key}: relative L2 gradient error ${relL2}`);
    if (relL2 > worst.relL2) worst = { key, relL2 };
  }
  t.diagnostic(`worst relative L2 gradient error ${worst.relL2.toExponential(2)} (${worst.key})`);
  tf.dispose([x, labels, value, logits!, ...Object.values(grads)]);
  model.dispose();
});

test('NCDHW <-> NDHWC helpers are inverse permutations', () => {
  const data = Float32Array.from({ length: 2 * 3 * 4 * 5 * 6 }, (_, i) => i);
  const there = permute(data, [2, 3, 4, 5, 6], NCDHW_TO_NDHWC);
  assert.deepEqual(there.shape, [2, 4, 5, 6, 3]);
  assert.deepEqual(permute(there.data, there.shape, NDHWC_TO_NCDHW).data, data);
});
