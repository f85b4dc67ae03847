import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCutMix, sampleCutMix, type CutMixParams } from '../../src/shared/data/cutmix.js';
import { boxWithin } from '../../src/shared/data/geometry.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

function inBox(params: CutMixParams, i: number, x: number, y: number, z: number): boolean {
  const { start, end } = params.boxes[i]!;
  return x >= start[0] && x < end[0] && y >= start[1] && y < end[1] && z >= start[2] && z < end[2];
}

test('sampled boxes follow the reference formula, stay inside the patch and span z', () => {
  const rng = new Random(61);
  for (let trial = 0; trial < 300; trial++) {
    const patch: Shape3 = [rng.int(1, 130), rng.int(1, 130), rng.int(1, 90)];
    const B = rng.int(1, 9);
    const p = sampleCutMix(rng, B, patch);
    assert.ok(p.lambda > 0 && p.lambda < 1);
    assert.deepEqual([...p.perm].sort((a, b) => a - b), Array.from({ length: B }, (_, i) => i));
    assert.equal(p.boxes.length, B);
    const cutW = Math.floor(patch[0] * Math.sqrt(1 - p.lambda));
    const cutH = Math.floor(patch[1] * Math.sqrt(1 - p.lambda));
    for (const box of p.boxes) {
      assert.ok(boxWithin(box, patch));
      assert.equal(box.start[2], 0);
      assert.equal(box.end[2], patch[2]);
      assert.ok(box.end[0] - box.start[0] <= 2 * Math.floor(cutW / 2));
      assert.ok(box.end[1] - box.start[1] <= 2 * Math.floor(cutH / 2));
      // The unclipped side sits half a cut from the centre, which lies in [W/8, W).
      if (box.end[0] < patch[0]) assert.ok(box.end[0] - Math.floor(cutW / 2) >= Math.floor(patch[0] / 8));
    }
  }
});

test('lambda follows Beta(4, 4): mean 1/2, variance 1/36', () => {
  const rng = new Random(62);
  const lambdas = Array.from({ length: 20000 }, () => sampleCutMix(rng, 2, [8, 8, 8]).lambda);
  const mean = lambdas.reduce((a, b) => a + b, 0) / lambdas.length;
  const variance = lambdas.reduce((a, b) => a + (b - mean) ** 2, 0) / lambdas.length;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 36) < 0.002, `variance ${variance}`);
});

test('sampleCutMix repeats for a seed and differs across seeds', () => {
  const draw = (seed: number) => sampleCutMix(new Random(seed), 4, [112, 112, 80]);
  assert.deepEqual(draw(1), draw(1));
  assert.notDeepEqual(draw(1), draw(2));
});

test('applyCutMix copies each box from sample perm[i] of the original batch, for any channel count', () => {
  const rng = new Random(63);
  for (let trial = 0; trial < 40; trial++) {
    const [B, X, Y, Z, C] = [rng.int(1, 6), rng.int(1, 12), rng.int(1, 12), rng.int(1, 6), rng.int(1, 3)];
    const batch = Float32Array.from({ length: B * X * Y * Z * C }, (_, i) => i);
    const original = batch.slice();
    const params = sampleCutMix(rng, B, [X, Y, Z]);
    const mixed = applyCutMix(batch, [B, X, Y, Z, C], params);
    assert.deepEqual(batch, original, 'the input batch is left unchanged');
    for (let i = 0; i < B; i++) for (let x = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++) for (let c = 0; c < C; c++) {
      const local = (((x * Y + y) * Z + z) * C) + c;
      const from = inBox(params, i, x, y, z) ? params.perm[i]! : i;
      assert.equal(mixed[i * X * Y * Z * C + local], original[from * X * Y * Z * C + local]);
    }
  }
});

test('mixing reads the unmixed batch even when boxes chain through the permutation', () => {
  // Sample 0 takes from 1, 1 from 2, 2 from 0, all over the whole patch: a rotation of the batch.
  const full = { start: [0, 0, 0] as const, end: [2, 2, 1] as const };
  const params: CutMixParams = { lambda: 0.5, perm: [1, 2, 0], boxes: [full, full, full] };
  const batch = Float32Array.from({ length: 12 }, (_, i) => Math.floor(i / 4));
  assert.deepEqual([...applyCutMix(batch, [3, 2, 2, 1, 1], params)], [1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0]);
  const labels = Uint8Array.from(batch);
  assert.ok(applyCutMix(labels, [3, 2, 2, 1, 1], params) instanceof Uint8Array);
});

test('bad shapes and parameters are errors naming the field', () => {
  const params = sampleCutMix(new Random(64), 2, [4, 4, 2]);
  const batch = new Float32Array(2 * 4 * 4 * 2);
  const fails = (fn: () => unknown, field: string) => assert.throws(fn, (e: unknown) => e instanceof TracocoError && e.message.includes(field));
  fails(() => applyCutMix(batch, [2, 4, 4, 2], params), 'shape');
  fails(() => applyCutMix(batch, [2, 4, 4, 3, 1], params), 'shape');
  fails(() => applyCutMix(batch, [2, 4, 4, 2, 1], { ...params, perm: [0, 0] }), 'cutmix.perm');
  fails(() => applyCutMix(batch, [2, 4, 4, 2, 1], { ...params, boxes: [params.boxes[0]!, { start: [0, 0, 0], end: [5, 1, 1] }] }), 'cutmix.boxes');
  fails(() => sampleCutMix(new Random(1), 0, [4, 4, 2]), 'batchSize');
});
