import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LA_AUGMENT, planBatch, planSample, resolveAugmentOptions, slotStream } from '../../src/shared/data/augment-plan.js';
import { boxVoxels, boxWithin, paddedShape, rotatedShape } from '../../src/shared/data/geometry.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

const PATCH: Shape3 = [112, 112, 80];
const SHAPES: Shape3[] = [
  [130, 127, 91],
  [100, 140, 60],
  [112, 112, 80],
  [576, 576, 88],
];

test('a batch plan is plain JSON, repeats for the same (seed, iteration) and differs otherwise', () => {
  const plan = planBatch(5, 17, SHAPES, PATCH, {}, true);
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  assert.deepEqual(planBatch(5, 17, SHAPES, PATCH, {}, true), plan);
  assert.notDeepEqual(planBatch(6, 17, SHAPES, PATCH, {}, true).samples, plan.samples);
  assert.notDeepEqual(planBatch(5, 18, SHAPES, PATCH, {}, true).samples, plan.samples);
  assert.notDeepEqual(planBatch(5, 18, SHAPES, PATCH, {}, true).cutmix, plan.cutmix);
  assert.equal(planBatch(5, 17, SHAPES, PATCH).cutmix, undefined);
  assert.equal(plan.cutmix?.perm.length, SHAPES.length);
});

test("a slot's plan depends only on its own volume, so workers can plan slots independently", () => {
  const a = planBatch(9, 3, [[100, 100, 100], [130, 127, 91]], PATCH);
  const b = planBatch(9, 3, [[200, 150, 90], [130, 127, 91]], PATCH);
  assert.deepEqual(a.samples[1], b.samples[1]);
  assert.deepEqual(a.samples[1], planSample(slotStream(9, 3, 1), [130, 127, 91], PATCH));
});

test('LA plans: k in 0..3, flip x or y, brightness in [0.75, 1.25), pair inside the rotated padded frame', () => {
  const rng = new Random(41);
  const ks = new Set<number>();
  const axes = new Set<number | null>();
  for (let i = 0; i < 400; i++) {
    const shape: Shape3 = [rng.int(40, 200), rng.int(40, 200), rng.int(20, 120)];
    const p = planSample(rng, shape, PATCH, LA_AUGMENT);
    ks.add(p.rot90);
    axes.add(p.flipAxis);
    assert.ok(p.brightness >= 0.75 && p.brightness < 1.25);
    assert.deepEqual(p.shape, shape);
    assert.deepEqual(p.frame, paddedShape(rotatedShape(shape, p.rot90), PATCH));
    for (let a = 0; a < 3; a++) {
      assert.ok(p.startF[a]! + PATCH[a]! <= p.frame[a]! && p.startS[a]! + PATCH[a]! <= p.frame[a]!);
      assert.ok(p.startS[a]! <= p.startF[a]!, 'reference translation: s <= f');
    }
    assert.ok(boxWithin(p.overlapF, PATCH) && boxWithin(p.overlapS, PATCH) && boxVoxels(p.overlapF) > 0);
  }
  assert.deepEqual([...ks].sort(), [0, 1, 2, 3]);
  assert.deepEqual([...axes].sort(), [0, 1]);
});

test('each augmentation is a switch: Pancreas-like plans have no rot90, flip or brightness', () => {
  const rng = new Random(42);
  const options = { rot90: false, flipAxes: [], brightness: null, translation: 'symmetric' as const, minOverlap: 0.6 };
  for (let i = 0; i < 100; i++) {
    const p = planSample(rng, [150, 90, 100], [96, 96, 96], options);
    assert.equal(p.rot90, 0);
    assert.equal(p.flipAxis, null);
    assert.equal(p.brightness, 1);
    assert.ok(boxVoxels(p.overlapF) >= 0.6 * 96 ** 3);
  }
  const flips = new Set<number | null>();
  for (let i = 0; i < 200; i++) flips.add(planSample(rng, [150, 90, 100], [96, 96, 96], { rot90: false, flipAxes: [2], flipProbability: 0.5 }).flipAxis);
  assert.deepEqual([...flips].sort(), [2, null]);
});

test('bad options and shapes are errors naming the field', () => {
  const rng = new Random(43);
  const fails = (fn: () => unknown, field: string) => assert.throws(fn, (e: unknown) => e instanceof TracocoError && e.message.includes(field));
  fails(() => resolveAugmentOptions({ brightness: [1.25, 0.75] }), 'brightness');
  fails(() => resolveAugmentOptions({ flipProbability: 2 }), 'flipProbability');
  fails(() => resolveAugmentOptions({ flipAxes: [3 as never] }), 'flipAxes');
  fails(() => resolveAugmentOptions({ minOverlap: -0.1 }), 'minOverlap');
  fails(() => planSample(rng, [10, 0, 10], PATCH), 'shape');
  fails(() => planSample(rng, [10, 10, 10], [8, 8, 1.5]), 'patch');
  fails(() => planBatch(1, 0, [], PATCH), 'shapes');
});
