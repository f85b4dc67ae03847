/**
 * Reading `torch.save` zip archives without Python: archives built here opcode by opcode (the
 * subset torch writes for a state_dict) with storage offsets, strides, float64 / int64
 * storages, nesting and `module.` prefixes; bad archives fail naming the file and the problem;
 * the golden `.pth` reads completely.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { readTorchStateDict, loadTorchStateDict } from '../../src/shared/checkpoint/torch-pth.js';
import { goldenDir, skipUnlessExists } from '../support/env.js';

/** Emits pickle protocol 2 opcodes. */
class PickleWriter {
  private readonly out: number[] = [0x80, 2];
  private text(s: string): number[] {
    return [...new TextEncoder().encode(s)];
  }
  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  global(module: string, name: string): this {
    return this.raw(0x63, ...this.text(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = this.text(s);
    return this.raw(0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b);
  }
  int(n: number): this {
    if (n < 256) return this.raw(0x4b, n);
    if (n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    return this.raw(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  intTuple(values: number[]): this {
    if (values.length === 0) return this.raw(0x29);
    this.mark();
    values.forEach((v) => this.int(v));
    return this.tuple();
  }
  /** `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`. */
  tensor(storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel).tuple().raw(0x51); // BINPERSID
    this.int(offset).intTuple(size).intTuple(stride).raw(0x89); // NEWFALSE
    this.global('collections', 'OrderedDict').raw(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    return this.tuple().raw(0x52);
  }
  bytes(): Uint8Array {
    return Uint8Array.from([...this.out, 0x2e]);
  }
}

function archive(pickle: Uint8Array, storages: Record<string, ArrayBufferView>, prefix = 'archive'): Uint8Array {
  const files: Record<string, Uint8Array> = { [`${prefix}/data.pkl`]: pickle, [`${prefix}/byteorder`]: new TextEncoder().encode('little') };
  for (const [key, view] of Object.entries(storages)) files[`${prefix}/data/${key}`] = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return zipSync(files, { level: 0 });
}

test('tensors honour storage offsets and strides; float64 becomes float32, int64 stays int64', () => {
  const w = new PickleWriter().global('collections', 'OrderedDict').raw(0x29, 0x52).mark();
  // a: [2, 3] view of storage 0 starting at element 2 with strides [1, 2] (a transposed layout)
  w.str('a').tensor('FloatStorage', '0', 10, 2, [2, 3], [1, 2]);
  // b: float64 [3]
  w.str('b').tensor('DoubleStorage', '1', 3, 0, [3], [1]);
  // n: int64 scalar
  w.str('n').tensor('LongStorage', '2', 1, 0, [], []);
  const pickle = w.raw(0x75).bytes(); // SETITEMS
  const storage0 = Float32Array.from({ length: 10 }, (_, i) => i * 10);
  const sd = readTorchStateDict(archive(pickle, { 0: storage0, 1: Float64Array.of(0.1, -2.5, 1e-9), 2: BigInt64Array.of(123456789012n) }), 'test.pth');
  assert.deepEqual([...sd.keys()], ['a', 'b', 'n']);
  const a = sd.get('a')!;
  assert.deepEqual(a.shape, [2, 3]);
  // a[i][j] = storage[2 + i + 2j]
  assert.deepEqual(Array.from(a.data as Float32Array), [20, 40, 60, 30, 50, 70]);
  const b = sd.get('b')!;
  assert.equal(b.dtype, 'float32');
  assert.deepEqual(Array.from(b.data as Float32Array), Array.from(Float32Array.of(0.1, -2.5, 1e-9)));
  const n = sd.get('n')!;
  assert.deepEqual([n.dtype, n.shape, n.data[0]], ['int64', [], 123456789012n]);
});

test('a state_dict nested under "state_dict" with DataParallel "module." keys is found and unprefixed', () => {
  const w = new PickleWriter().raw(0x7d).mark(); // EMPTY_DICT, MARK
  w.str('epoch').int(3);
  w.str('state_dict').global('collections', 'OrderedDict').raw(0x29, 0x52).mark();
  w.str('module.x.weight').tensor('FloatStorage', '0', 2, 0, [2], [1]);
  w.raw(0x75); // inner SETITEMS
  const pickle = w.raw(0x75).bytes();
  const sd = readTorchStateDict(archive(pickle, { 0: Float32Array.of(1, 2) }, 'ckpt'), 'nested.pth');
  assert.deepEqual([...sd.keys()], ['x.weight']);
  assert.deepEqual(Array.from(sd.get('x.weight')!.data as Float32Array), [1, 2]);
});

test('memoised values (BINPUT / BINGET) are reused', () => {
  const w = new PickleWriter().raw(0x7d).mark();
  w.str('p').tensor('FloatStorage', '0', 1, 0, [1], [1]).raw(0x71, 7); // BINPUT 7
  w.str('q').raw(0x68, 7); // BINGET 7: same tensor under a second key
  const sd = readTorchStateDict(archive(w.raw(0x75).bytes(), { 0: Float32Array.of(4.5) }), 'memo.pth');
  assert.deepEqual(Array.from(sd.get('q')!.data as Float32Array), [4.5]);
});

test('bad archives fail with the file and the problem', () => {
  const good = (w: PickleWriter) => w.str('a').tensor('FloatStorage', '0', 2, 0, [2], [1]);
  const dictOf = () => new PickleWriter().raw(0x7d).mark();
  const storages = { 0: Float32Array.of(1, 2) };
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['unknown opcode', () => archive(dictOf().raw(0x81).bytes(), storages), /op\.pth: pickle: unsupported opcode 0x81 \(NEWOBJ\)/],
    ['unknown global', () => archive(dictOf().global('os', 'system').bytes(), storages), /op\.pth: pickle: unsupported global os\.system/],
    ['truncated pickle', () => archive(good(dictOf()).bytes().slice(0, 40), storages), /op\.pth: pickle: truncated/],
    ['storage too small', () => archive(dictOf().str('a').tensor('FloatStorage', '0', 2, 1, [2], [1]).raw(0x75).bytes(), storages), /reaches element 2 of storage data\/0, which holds 2/],
    ['storage missing', () => archive(good(dictOf()).raw(0x75).bytes(), {}), /storage data\/0 is missing/],
    ['no tensors', () => archive(dictOf().str('epoch').int(1).raw(0x75).bytes(), {}), /no state_dict of tensors found \(top level: epoch\)/],
    ['legacy format', () => new PickleWriter().int(1).bytes(), /legacy \(pre-1\.6\) torch\.save format/],
    ['not a zip', () => new TextEncoder().encode('hello'), /not a PyTorch checkpoint/],
    ['truncated zip', () => archive(good(dictOf()).raw(0x75).bytes(), storages).slice(0, 60), /op\.pth: corrupt or truncated zip archive/],
  ];
  for (const [what, make, pattern] of cases) {
    assert.throws(() => readTorchStateDict(make(), 'op.pth'), pattern, what);
  }
});

const goldenPth = join(goldenDir, 'vnet4_bn_seed20261126.pth');

test('the golden .pth reads as a 205-entry VNet state_dict', { skip: skipUnlessExists(goldenPth, 'golden .pth') }, async () => {
  const sd = await loadTorchStateDict(goldenPth);
  assert.equal(sd.size, 205);
  assert.deepEqual(sd.get('block_one.conv.0.weight')!.shape, [4, 1, 3, 3, 3]);
  assert.deepEqual(sd.get('block_eight_up.conv.0.weight')!.shape, [8, 4, 2, 2, 2]);
  const nbt = sd.get('block_one.conv.1.num_batches_tracked')!;
  assert.equal(nbt.dtype, 'int64');
  assert.ok((nbt.data[0] as bigint) >= 0n);
  const var1 = sd.get('block_one.conv.1.running_var')!.data as Float32Array;
  assert.ok(var1.every((v) => v > 0 && Number.isFinite(v)));
});
