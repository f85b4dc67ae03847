/**
 * safetensors encoding and VNet checkpoints: byte layout the Python library accepts, round trips
 * of weights, buffers and metadata, atomic writes, clear errors for truncated or corrupt files,
 * and the same key set and shapes as the reference PyTorch `.pth`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  loadTorchStateDict,
  readCheckpoint,
  saveCheckpoint,
  vnetConfigFor,
} from '../../src/shared/checkpoint/index.js';
import { VNet, type VNetConfig } from '../../src/shared/model/vnet.js';
import type { StateDict } from '../../src/shared/model/layout.js';
import { Random } from '../../src/shared/random.js';
import { goldenDir, skipUnlessExists, tempDir } from '../support/env.js';

const dir = tempDir('tracoco-checkpoint-');
before(async () => {
  await initBackend('cpu');
});
after(() => dir.cleanup());

const CONFIG: VNetConfig = { inChannels: 1, classes: 2, filters: 4, normalization: 'batchnorm', dropout: true };

function header(bytes: Uint8Array): { length: number; json: Record<string, any> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) };
}

test('encodeSafetensors writes an 8-byte aligned header, contiguous offsets, I64 before F32, and decodes back', () => {
  const tensors: StateDict = new Map([
    ['z.weight', { shape: [2, 3], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4, 5, -6.5) }],
    ['a.count', { shape: [], dtype: 'int64', data: BigInt64Array.of(42n) }],
    ['b.bias', { shape: [1], dtype: 'float32', data: Float32Array.of(0.25) }],
  ]);
  const bytes = encodeSafetensors(tensors, { format: 'pt', step: '7' });
  const { length, json } = header(bytes);
  assert.equal(length % 8, 0);
  assert.deepEqual(json.__metadata__, { format: 'pt', step: '7' });
  assert.deepEqual(json['a.count'], { dtype: 'I64', shape: [], data_offsets: [0, 8] });
  assert.deepEqual(json['b.bias'], { dtype: 'F32', shape: [1], data_offsets: [8, 12] });
  assert.deepEqual(json['z.weight'], { dtype: 'F32', shape: [2, 3], data_offsets: [12, 36] });
  assert.equal(bytes.length, 8 + length + 36);
  const back = decodeSafetensors(bytes, 'x.safetensors');
  assert.deepEqual(back.metadata, { format: 'pt', step: '7' });
  assert.deepEqual(Array.from(back.tensors.get('z.weight')!.data as Float32Array), [1, 2, 3, 4, 5, -6.5]);
  assert.deepEqual(back.tensors.get('a.count'), { shape: [], dtype: 'int64', data: BigInt64Array.of(42n) });
});

test('decodeSafetensors reads from a Node Buffer (a view into a shared pool) correctly', () => {
  const file = join(dir.path, 'pool.safetensors');
  writeFileSync(file, encodeSafetensors(new Map([['w', { shape: [3], dtype: 'float32', data: Float32Array.of(1.5, -2, 3) }]])));
  const buffer = readFileSync(file); // small files share Buffer's pool: byteOffset != 0
  assert.deepEqual(Array.from(decodeSafetensors(buffer, file).tensors.get('w')!.data as Float32Array), [1.5, -2, 3]);
});

test('decodeSafetensors reads F64 / I32 written by other tools and names what is wrong in bad files', () => {
  const json = JSON.stringify({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, i: { dtype: 'I32', shape: [1], data_offsets: [16, 20] } });
  const head = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + head.length + 20);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  view.setFloat64(8 + head.length, 0.5, true);
  view.setFloat64(16 + head.length, -1.25, true);
  view.setInt32(24 + head.length, -7, true);
  const t = decodeSafetensors(bytes, 'other.safetensors').tensors;
  assert.deepEqual(Array.from(t.get('d')!.data as Float32Array), [0.5, -1.25]);
  assert.deepEqual(t.get('i')!.data, BigInt64Array.of(-7n));

  const valid = encodeSafetensors(new Map([['w', { shape: [4], dtype: 'float32', data: new Float32Array(4) }]]), { format: 'pt' });
  const withHeader = (h: unknown) => {
    const text = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + text.length + 16);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    return out;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(3), /f\.safetensors: truncated: 3 bytes/],
    ['header cut', valid.slice(0, 20), /f\.safetensors: truncated: header needs/],
    ['data cut', valid.slice(0, valid.length - 4), /f\.safetensors, field 'w': truncated: tensor data ends at byte 16/],
    ['huge header', Uint8Array.of(255, 255, 255, 255, 255, 255, 255, 255), /corrupt: header length/],
    ['bad json', withHeader('{').fill(0x7b, 8, 9), /corrupt: header is not valid JSON/],
    ['bad dtype', withHeader({ w: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } }), /field 'w': unsupported dtype "C64"/],
    ['size mismatch', withHeader({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }), /field 'w': data_offsets span 16 bytes, shape and dtype need 12/],
    ['bad metadata', withHeader({ __metadata__: { step: 3 } }), /field '__metadata__'/],
  ];
  for (const [what, bytes2, pattern] of cases) assert.throws(() => decodeSafetensors(bytes2, 'f.safetensors'), pattern, what);
});

test('saveCheckpoint / loadCheckpoint round-trip weights, BN buffers and metadata, atomically', async () => {
  const model = VNet.create(CONFIG, 3);
  const r = new Random(4);
  const x = tf.tensor5d(Float32Array.from({ length: 2 * 32 * 16 * 16 }, () => r.normal()), [2, 32, 16, 16, 1]);
  model.forward(x, { training: true, dropout: new Random(5) }).dispose(); // move running stats
  const path = join(dir.path, 'model1.safetensors');
  await saveCheckpoint(path, model, { step: '120' });
  await saveCheckpoint(path, model, { step: '121' }); // overwrite in place
  assert.deepEqual(readdirSync(dir.path).filter((n) => n.includes('model1')), ['model1.safetensors'], 'no temporary files left');

  const { model: loaded, metadata } = await readCheckpoint(path);
  const { tracoco_sha256: checksum, ...described } = metadata;
  assert.deepEqual(described, { n_filters: '4', n_classes: '2', n_channels: '1', normalization: 'batchnorm', has_dropout: 'true', format: 'pt', step: '121' });
  assert.match(checksum!, /^[0-9a-f]{64}$/);
  assert.deepEqual(loaded.config, CONFIG);
  const a = model.forward(x, { training: false });
  const b = loaded.forward(x, { training: false });
  assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]), 0);
  assert.equal(loaded.buffers.get('block_one.conv.1.num_batches_tracked')!.dataSync()[0], 1);
  const json = header(readFileSync(path)).json;
  assert.equal(json['block_one.conv.1.num_batches_tracked'].dtype, 'I64');
  assert.deepEqual(json['block_five_up.conv.0.weight'].shape, [64, 32, 2, 2, 2]);
  tf.dispose([x, a, b]);
  loaded.dispose();

  await assert.rejects(saveCheckpoint(path, model, { n_filters: '8' }), /may not override the architecture key 'n_filters'/);
  await assert.rejects(saveCheckpoint(join(dir.path, 'no-such-dir', 'm.safetensors'), model), /no-such-dir.*does not exist/);
  model.dispose();
});

test('loadCheckpoint names the file for unreadable, truncated and mismatched checkpoints', async () => {
  await assert.rejects(loadCheckpoint(join(dir.path, 'absent.safetensors')), /absent\.safetensors: cannot read checkpoint/);
  const model = VNet.create(CONFIG, 6);
  const path = join(dir.path, 'cut.safetensors');
  await saveCheckpoint(path, model);
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(loadCheckpoint(path), /cut\.safetensors, field '[^']+': truncated/);
  // Metadata says 8 filters, weights have 4: the strict load names the first mismatching key.
  const sd = model.stateDict();
  const wrong = join(dir.path, 'wrong.safetensors');
  writeFileSync(wrong, encodeSafetensors(sd, { n_filters: '8', n_classes: '2' }));
  await assert.rejects(loadCheckpoint(wrong), /wrong\.safetensors, field 'block_one\.conv\.0\.weight': shape \[4, 1, 3, 3, 3\] does not match the model's \[8, 1, 3, 3, 3\]/);
  model.dispose();
});

test('a checkpoint whose tensor bytes changed is refused by its checksum, naming the file', async () => {
  const model = VNet.create(CONFIG, 7);
  const path = join(dir.path, 'flipped.safetensors');
  await saveCheckpoint(path, model);
  const bytes = new Uint8Array(readFileSync(path));
  // One bit of one weight, far past the header: still a well-formed safetensors file.
  bytes[bytes.length - 1000] ^= 0x10;
  writeFileSync(path, bytes);
  await assert.rejects(loadCheckpoint(path), /flipped\.safetensors, field 'tracoco_sha256': checkpoint checksum mismatch/);
  // A file without a checksum (another tool's) is read as it is.
  const plain = join(dir.path, 'plain.safetensors');
  writeFileSync(plain, encodeSafetensors(model.stateDict(), { format: 'pt' }));
  (await loadCheckpoint(plain)).dispose();
  model.dispose();
});

test('a checkpoint write that fails leaves the previous checkpoint loadable and names the path', async () => {
  const model = VNet.create(CONFIG, 8);
  const path = join(dir.path, 'kept.safetensors');
  await saveCheckpoint(path, model, { step: '1' });
  // The destination's directory cannot take the temporary file: a file stands where it should be.
  writeFileSync(join(dir.path, 'blocked'), 'not a directory');
  await assert.rejects(saveCheckpoint(join(dir.path, 'blocked', 'kept.safetensors'), model), /blocked.*(not a directory|does not exist)/);
  // A failure while writing (the data cannot be encoded) never touches the existing file.
  const before = readFileSync(path);
  await assert.rejects(saveCheckpoint(path, model, { n_classes: '3' }), /may not override/);
  assert.deepEqual(readFileSync(path), before);
  assert.equal((await readCheckpoint(path)).metadata.step, '1');
  assert.deepEqual(readdirSync(dir.path).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left');
  model.dispose();
});

test('vnetConfigFor infers the architecture from the weights when metadata is absent', () => {
  const model = VNet.create({ ...CONFIG, classes: 3 }, 7);
  const sd = model.stateDict();
  assert.deepEqual(vnetConfigFor(sd, {}, 'bare.safetensors'), { inChannels: 1, classes: 3, filters: 4, normalization: 'batchnorm', dropout: true });
  assert.throws(() => vnetConfigFor(sd, { n_classes: 'three' }, 'm.safetensors'), /m\.safetensors, field 'n_classes': metadata must be a positive integer/);
  assert.throws(() => vnetConfigFor(sd, { normalization: 'layernorm' }, 'm.safetensors'), /field 'normalization': unknown normalization 'layernorm'/);
  assert.throws(() => vnetConfigFor(new Map(), {}, 'empty.safetensors'), /empty\.safetensors: not a VNet state_dict/);
  model.dispose();
  const none = VNet.create({ ...CONFIG, normalization: 'none' }, 1);
  assert.equal(vnetConfigFor(none.stateDict(), {}, 'n').normalization, 'none');
  none.dispose();
  const instance = VNet.create({ ...CONFIG, normalization: 'instancenorm' }, 1);
  assert.equal(vnetConfigFor(instance.stateDict(), {}, 'i').normalization, 'instancenorm');
  instance.dispose();
});

const goldenPth = join(goldenDir, 'vnet4_bn_seed20261126.pth');

test('a tracoco checkpoint has exactly the key set and shapes of the reference .pth', { skip: skipUnlessExists(goldenPth, 'golden .pth') }, async () => {
  const torch = await loadTorchStateDict(goldenPth);
  const model = VNet.create(CONFIG, 8);
  const path = join(dir.path, 'keys.safetensors');
  await saveCheckpoint(path, model);
  const ours = decodeSafetensors(readFileSync(path), path).tensors;
  assert.deepEqual([...ours.keys()].sort(), [...torch.keys()].sort());
  for (const [key, t] of torch) {
    assert.deepEqual(ours.get(key)!.shape, t.shape, key);
    assert.equal(ours.get(key)!.dtype, t.dtype, key);
  }
  model.dispose();
});
