/**
 * Slice training for the 2D network (GUIDE §5b): the two-stream sampler over axial slices, slice
 * plans (depth-1 crops, 2D translation pairs) and the batch built from them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch, planSample } from '../../src/shared/data/augment-plan.js';
import { buildBatch, type BatchCase } from '../../src/shared/data/batch.js';
import { imageSlice, labelSlice } from '../../src/shared/data/slice.js';
import { sliceBatch, sliceIterationsPerEpoch, sliceList, type CaseDepth, type SliceSamplerConfig } from '../../src/shared/data/slice-sampler.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

const key = (r: { index: number; z: number }) => `${r.index}/${r.z}`;
const labeled: CaseDepth[] = [
  { index: 100, depth: 3 },
  { index: 101, depth: 5 },
];
const unlabeled: CaseDepth[] = [
  { index: 500, depth: 2 },
  { index: 501, depth: 4 },
  { index: 502, depth: 1 },
];
const config: SliceSamplerConfig = { labeled, unlabeled, batchSize: 4, seed: 9 };

test('sliceList lists every slice of every case, case by case, and refuses a case without slices', () => {
  assert.deepEqual(sliceList(labeled).map(key), ['100/0', '100/1', '100/2', '101/0', '101/1', '101/2', '101/3', '101/4']);
  assert.throws(() => sliceList([{ index: 7, depth: 0 }]), (e: unknown) => e instanceof TracocoError && /case 7 has no axial slices/.test(e.message));
});

test('an epoch is floor(labelled slices / (B/2)) and visits each labelled slice at most once', () => {
  const perEpoch = sliceIterationsPerEpoch(labeled, 4);
  assert.equal(perEpoch, 4); // 8 labelled slices, 2 per batch
  for (let epoch = 0; epoch < 3; epoch++) {
    const seen: string[] = [];
    for (let t = epoch * perEpoch; t < (epoch + 1) * perEpoch; t++) {
      const b = sliceBatch(t, config);
      assert.equal(b.epoch, epoch);
      assert.equal(b.labeled.length, 2);
      seen.push(...b.labeled.map(key));
    }
    assert.deepEqual([...seen].sort(), sliceList(labeled).map(key).sort(), `epoch ${epoch}`);
  }
});

test('the unlabelled stream draws slices of the unlabelled cases only, each once per pass', () => {
  const all = sliceList(unlabeled).map(key).sort();
  const drawn: string[] = [];
  for (let t = 0; t < 14; t++) {
    const b = sliceBatch(t, config);
    assert.equal(b.unlabeled.length, 2);
    for (const r of b.unlabeled) assert.ok(unlabeled.some((c) => c.index === r.index && r.z < c.depth), key(r));
    for (const r of b.labeled) assert.ok(labeled.some((c) => c.index === r.index && r.z < c.depth), key(r));
    drawn.push(...b.unlabeled.map(key));
  }
  // 28 draws = 4 full passes over the 7 unlabelled slices.
  for (let pass = 0; pass < 4; pass++) assert.deepEqual(drawn.slice(pass * 7, (pass + 1) * 7).sort(), all, `pass ${pass}`);
});

test('a slice batch is a pure function of (seed, iteration)', () => {
  for (const t of [0, 3, 17, 1000]) assert.deepEqual(sliceBatch(t, config), sliceBatch(t, { ...config, labeled: [...labeled], unlabeled: [...unlabeled] }));
  const differs = [0, 1, 2, 3, 4, 5].some((t) => JSON.stringify(sliceBatch(t, config)) !== JSON.stringify(sliceBatch(t, { ...config, seed: 10 })));
  assert.ok(differs, 'another seed draws other batches');
});

test('imageSlice / labelSlice cut axial slice z and resize it (bilinear image, nearest label)', () => {
  const shape: Shape3 = [2, 2, 3];
  const image = Float32Array.from({ length: 12 }, (_, i) => i);
  const label = Uint8Array.from({ length: 12 }, (_, i) => i % 4);
  // Slice z = 1 of [x, y, z] (z fastest): voxels 1, 4, 7, 10.
  assert.deepEqual([...imageSlice(image, shape, { z: 1, size: [2, 2] })], [1, 4, 7, 10]);
  assert.deepEqual([...labelSlice(label, shape, { z: 1, size: [2, 2] })], [1, 0, 3, 2]);
  const up = labelSlice(label, shape, { z: 1, size: [4, 4] });
  assert.equal(up.length, 16);
  assert.ok([...up].every((v) => [1, 0, 3, 2].includes(v)), 'nearest keeps labels');
  const img = imageSlice(image, shape, { z: 1, size: [4, 2] });
  assert.deepEqual([...img], [1, 4, 1 + 6 * 0.25, 4 + 6 * 0.25, 1 + 6 * 0.75, 4 + 6 * 0.75, 7, 10]);
  assert.throws(() => imageSlice(image, shape, { z: 3, size: [2, 2] }), (e: unknown) => e instanceof TracocoError && e.context.field === 'slice.z');
});

test('slice plans: translation pairs in 2D (no z shift, overlap depth 1), deterministic, depth-1 patches only', () => {
  const shape: Shape3 = [20, 24, 7];
  for (const translation of ['reference', 'symmetric', 'offset'] as const) {
    for (let seed = 0; seed < 30; seed++) {
      const s = planSample(new Random(seed), shape, [16, 16, 1], { translation, translationOffset: 4 }, { z: 5, size: [32, 32] });
      assert.deepEqual(s.slice, { z: 5, size: [32, 32] });
      assert.deepEqual(s.shape, [20, 24, 7]);
      assert.deepEqual(s.frame, [32, 32, 1]);
      assert.equal(s.startF[2], 0);
      assert.equal(s.startS[2], 0);
      assert.deepEqual([s.overlapF.start[2], s.overlapF.end[2], s.overlapS.start[2], s.overlapS.end[2]], [0, 1, 0, 1]);
      assert.ok(s.overlapF.end[0] > s.overlapF.start[0] && s.overlapF.end[1] > s.overlapF.start[1], 'non-empty overlap');
      assert.deepEqual(s, planSample(new Random(seed), shape, [16, 16, 1], { translation, translationOffset: 4 }, { z: 5, size: [32, 32] }));
    }
  }
  const shifted = Array.from({ length: 30 }, (_, seed) => planSample(new Random(seed), shape, [16, 16, 1], {}, { z: 0, size: [32, 32] }));
  assert.ok(shifted.some((s) => s.startF[0] !== s.startS[0] || s.startF[1] !== s.startS[1]), 'pairs do translate in x-y');
  assert.throws(
    () => planSample(new Random(1), shape, [16, 16, 4], {}, { z: 0, size: [32, 32] }),
    (e: unknown) => e instanceof TracocoError && e.context.field === 'data.patch' && /depth 1/.test(e.message),
  );
  assert.throws(() => planBatch(1, 0, [shape, shape], [16, 16, 1], {}, false, { z: [0], size: [32, 32] }), (e: unknown) => e instanceof TracocoError && e.context.field === 'slices');
});

test('buildBatch on a slice plan crops the resized, per-slice normalised slice; labels follow', () => {
  const shape: Shape3 = [8, 8, 3];
  const n = 8 * 8 * 3;
  const cases: BatchCase[] = [
    { image: Float32Array.from({ length: n }, (_, i) => 100 + i), label: Uint8Array.from({ length: n }, (_, i) => (i % 3 === 2 ? 3 : 1)), shape },
    { image: Float32Array.from({ length: n }, (_, i) => -i), label: null, shape },
  ];
  const plan = planBatch(4, 7, [shape, shape], [16, 16, 1], { rot90: false, flipAxes: [], brightness: null }, true, { z: [2, 0], size: [16, 16] });
  assert.deepEqual(plan.patch, [16, 16, 1]);
  assert.ok(plan.cutmix, 'CutMix boxes on depth-1 patches');
  const batch = buildBatch(cases, plan);
  assert.deepEqual(batch.shape, [2, 16, 16, 1, 1]);
  // Whole slices (patch = slice size): f is the slice itself, min-max normalised over the slice.
  const expected = imageSlice(cases[0]!.image, shape, { z: 2, size: [16, 16] });
  const lo = Math.min(...expected);
  const hi = Math.max(...expected);
  batch.f.subarray(0, 256).forEach((v, i) => assert.ok(Math.abs(v - (expected[i]! - lo) / (hi - lo)) < 1e-6, `voxel ${i}`));
  assert.ok(Math.min(...batch.f.subarray(256)) === 0 && Math.max(...batch.f.subarray(256)) === 1, 'each slice spans [0, 1]');
  assert.ok([...batch.labelF.subarray(0, 256)].every((v) => v === 3), 'slice z = 2 is all class 3');
  assert.ok([...batch.labelF.subarray(256)].every((v) => v === 0), 'unlabelled slot has zero labels');
  assert.throws(() => buildBatch([cases[0]!, { ...cases[1]!, shape: [8, 8, 2] }], plan), TracocoError);
});
