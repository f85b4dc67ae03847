/** data.scale resampling: trilinear images/probabilities, nearest labels, and scoring on the stored grid. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { resampleLinear, resampleNearest, scaledShape } from '../../src/shared/data/resample.js';
import { resampleCase } from '../../src/coordinator/training-data.js';
import { evaluateCase } from '../../src/shared/evaluation/index.js';
import type { Shape3 } from '../../src/shared/volume.js';

before(async () => {
  await initBackend('cpu');
});

const at = (s: Shape3, x: number, y: number, z: number) => (x * s[1] + y) * s[2] + z;

test('scaledShape rounds each axis and keeps at least one voxel; bad factors name data.scale', () => {
  assert.deepEqual(scaledShape([175, 132, 88], 0.4), [70, 53, 35]);
  assert.deepEqual(scaledShape([3, 2, 1], 0.1), [1, 1, 1]);
  assert.throws(() => scaledShape([4, 4, 4], 0), /data\.scale/);
  assert.throws(() => scaledShape([4, 4, 4], Number.NaN), /data\.scale/);
});

test('scale 1 is the identity; a linear ramp stays linear (half-voxel convention)', () => {
  const s: Shape3 = [8, 6, 4];
  const ramp = new Float32Array(8 * 6 * 4).map((_, i) => Math.floor(i / 24));
  assert.deepEqual(resampleLinear(ramp, s, s), ramp);
  const up = resampleLinear(ramp, s, [16, 6, 4]);
  // Output voxel i samples the input at (i + 0.5) / 2 - 0.5, clamped to [0, 7].
  for (let x = 0; x < 16; x++) {
    const expected = Math.min(7, Math.max(0, (x + 0.5) / 2 - 0.5));
    assert.ok(Math.abs(up[at([16, 6, 4], x, 3, 2)]! - expected) < 1e-6, `x=${x}: ${up[at([16, 6, 4], x, 3, 2)]} vs ${expected}`);
  }
});

test('trilinear resampling of probabilities keeps each voxel a distribution (channels last)', () => {
  const s: Shape3 = [5, 4, 3];
  const C = 3;
  const p = new Float32Array(5 * 4 * 3 * C);
  for (let v = 0; v < 60; v++) {
    const a = Math.random();
    const b = (1 - a) * Math.random();
    p.set([a, b, 1 - a - b], v * C);
  }
  const q = resampleLinear(p, s, [11, 7, 6], C);
  assert.equal(q.length, 11 * 7 * 6 * C);
  for (let v = 0; v < q.length / C; v++) assert.ok(Math.abs(q[v * C]! + q[v * C + 1]! + q[v * C + 2]! - 1) < 1e-5);
});

test('label volumes keep their labels: nearest resampling only produces stored values, down and back up', () => {
  const s: Shape3 = [20, 16, 12];
  const label = new Uint8Array(20 * 16 * 12);
  for (let x = 4; x < 14; x++) for (let y = 3; y < 12; y++) for (let z = 2; z < 9; z++) label[at(s, x, y, z)] = x < 9 ? 1 : 2;
  const small = resampleNearest(label, s, scaledShape(s, 0.5));
  const back = resampleNearest(small, scaledShape(s, 0.5), s);
  for (const v of [...small, ...back]) assert.ok(v === 0 || v === 1 || v === 2);
  assert.deepEqual(new Set(small), new Set([0, 1, 2]), 'every class survives a 0.5x downsampling of blocks this size');
  let agree = 0;
  for (let i = 0; i < label.length; i++) if (back[i] === label[i]) agree++;
  assert.ok(agree / label.length > 0.9, `round trip agrees on ${agree} of ${label.length} voxels`);
  assert.throws(() => resampleNearest(label, [20, 16, 11], s), /labels/);
});

test('resampleCase scales a training case: shape, image and label on the new grid', () => {
  const s: Shape3 = [10, 8, 6];
  const image = new Float32Array(480).fill(0.5);
  const label = new Uint8Array(480).fill(1);
  const c = resampleCase({ id: 'a', shape: [...s], image, label }, 0.5);
  assert.deepEqual(c.shape, [5, 4, 3]);
  assert.equal(c.image.length, 60);
  assert.ok(c.image.every((v) => Math.abs(v - 0.5) < 1e-6));
  assert.ok(c.label!.every((v) => v === 1));
});

test('evaluation at scale predicts on the resampled image and scores the stored labels on the stored grid', async () => {
  const s: Shape3 = [32, 32, 32];
  const image = new Float32Array(32 ** 3);
  const label = new Uint8Array(32 ** 3);
  for (let x = 8; x < 24; x++) for (let y = 8; y < 24; y++) for (let z = 8; z < 24; z++) {
    image[at(s, x, y, z)] = 1;
    label[at(s, x, y, z)] = 1;
  }
  const seen: number[][] = [];
  // A "model" that thresholds its (min-max normalised) input: logits [-(v - 0.5), v - 0.5].
  const tfc = await import('@tensorflow/tfjs-core');
  const model: Parameters<typeof evaluateCase>[0] = (x) => {
    seen.push(x.shape.slice(1, 4));
    return tfc.tidy(() => tfc.concat([tfc.neg(tfc.sub(x, 0.5)), tfc.sub(x, 0.5)], 4).mul(20)) as import('@tensorflow/tfjs-core').Tensor5D;
  };
  const settings = { patch: [16, 16, 16] as Shape3, strideXY: 8, strideZ: 8, batch: 1, postProcess: 'none' as const };
  const half = await evaluateCase(model, { id: 'cube', image, label, shape: s }, { ...settings, scale: 0.5 });
  assert.equal(half.prediction.length, 32 ** 3, 'prediction on the stored grid');
  assert.ok(half.metrics.dice > 0.95, `dice ${half.metrics.dice}`);
  // At scale 0.5 the 32^3 volume is 16^3: exactly one window of the 16^3 patch.
  assert.equal(seen.length, 1);
  const full = await evaluateCase(model, { id: 'cube', image, label, shape: s }, settings);
  assert.equal(seen.length, 1 + 27, 'scale 1 slides 3 x 3 x 3 windows over the stored grid');
  assert.equal(full.metrics.dice, 1);
});
