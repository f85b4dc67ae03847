import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch, type AugmentOptions, type SamplePlan } from '../../src/shared/data/augment-plan.js';
import { buildBatch, type BatchCase } from '../../src/shared/data/batch.js';
import { cropPatch, flip, padToPatch, rot90, type Box3 } from '../../src/shared/data/geometry.js';
import { normalizeMinMax, scaleBrightness } from '../../src/shared/data/intensity.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3, Vec3 } from '../../src/shared/volume.js';

/** Voxel values distinct across the volume (so equal crops mean the same source voxels). */
function makeCase(rng: Random, shape: Shape3, labelled: boolean): BatchCase {
  const n = shape[0] * shape[1] * shape[2];
  const offset = rng.range(-500, 500);
  const image = Float32Array.from({ length: n }, (_, i) => offset + i * 0.75);
  const label = labelled ? Uint8Array.from({ length: n }, () => rng.int(0, 3)) : null;
  return { image, label, shape };
}

/** The reference pipeline step by step: rot90 -> flip -> normalise -> brightness -> pad -> crop. */
function referenceCrops<T extends Float32Array | Uint8Array>(volume: T, shape: Shape3, sample: SamplePlan, patch: Shape3, intensity: boolean): [T, T] {
  let { data, shape: s } = rot90(volume, shape, sample.rot90);
  if (sample.flipAxis !== null) data = flip(data, s, sample.flipAxis);
  if (intensity) {
    let img = normalizeMinMax(data as Float32Array);
    img = scaleBrightness(img, sample.brightness);
    data = img as T;
  }
  const padded = padToPatch(data, s, patch);
  return [cropPatch(padded.data, padded.shape, sample.startF, patch), cropPatch(padded.data, padded.shape, sample.startS, patch)];
}

function boxValues(batch: ArrayLike<number>, slot: number, patch: Shape3, box: Box3): Float64Array {
  const out = new Float64Array(Math.max(0, (box.end[0] - box.start[0]) * (box.end[1] - box.start[1]) * (box.end[2] - box.start[2])));
  const base = slot * patch[0] * patch[1] * patch[2];
  let i = 0;
  for (let x = box.start[0]; x < box.end[0]; x++) for (let y = box.start[1]; y < box.end[1]; y++) for (let z = box.start[2]; z < box.end[2]; z++) {
    out[i++] = batch[base + (x * patch[1] + y) * patch[2] + z]!;
  }
  return out;
}

function randomShapeAround(rng: Random, patch: Shape3): Shape3 {
  // Smaller than, equal to or larger than the patch, independently per axis (odd sizes included).
  return [0, 1, 2].map((i) => [rng.int(1, patch[i]! + 1), patch[i]!, patch[i]! + rng.int(1, 9)][rng.int(0, 3)]!) as unknown as Shape3;
}

const OPTION_SETS: Partial<AugmentOptions>[] = [
  {},
  { rot90: false, flipAxes: [], brightness: null },
  { translation: 'symmetric', minOverlap: 0.3, flipAxes: [0, 1, 2] },
];

test('buildBatch equals the step-by-step reference pipeline, and overlap boxes hold identical voxels', () => {
  const rng = new Random(51);
  for (let trial = 0; trial < 40; trial++) {
    const patch: Shape3 = [rng.int(1, 10), rng.int(1, 10), rng.int(1, 10)];
    const shapes = [0, 1, 2, 3].map(() => randomShapeAround(rng, patch));
    const options = OPTION_SETS[trial % OPTION_SETS.length]!;
    const cases = shapes.map((shape, i) => makeCase(rng, shape, i < 2));
    const plan = planBatch(trial, trial * 7, shapes, patch, options);
    const batch = buildBatch(cases, plan);
    const voxels = patch[0] * patch[1] * patch[2];
    assert.deepEqual(batch.shape, [4, ...patch, 1]);
    cases.forEach((c, b) => {
      const sample = plan.samples[b]!;
      const [f, s] = referenceCrops(c.image, c.shape, sample, patch, true);
      const slot = (a: Float32Array | Uint8Array) => a.subarray(b * voxels, (b + 1) * voxels);
      assert.deepEqual(slot(batch.f), f, `f of slot ${b}, trial ${trial}`);
      assert.deepEqual(slot(batch.s), s, `s of slot ${b}, trial ${trial}`);
      if (c.label) {
        const [lf, ls] = referenceCrops(c.label, c.shape, sample, patch, false);
        assert.deepEqual(slot(batch.labelF), lf);
        assert.deepEqual(slot(batch.labelS), ls);
      } else {
        assert.ok(slot(batch.labelF).every((v) => v === 0) && slot(batch.labelS).every((v) => v === 0));
      }
      assert.deepEqual(batch.overlapF[b], sample.overlapF);
      const onF = boxValues(batch.f, b, patch, batch.overlapF[b]!);
      assert.ok(onF.length > 0);
      assert.deepEqual(onF, boxValues(batch.s, b, patch, batch.overlapS[b]!), `overlap voxels of slot ${b}`);
      assert.deepEqual(boxValues(batch.labelF, b, patch, batch.overlapF[b]!), boxValues(batch.labelS, b, patch, batch.overlapS[b]!));
    });
  }
});

test('overlap identity at LA size: a 130x127x91 volume and a 576x576x88 one, patch 112x112x80', () => {
  const patch: Shape3 = [112, 112, 80];
  const shapes: Shape3[] = [[130, 127, 91], [576, 576, 88]];
  const cases = shapes.map((shape): BatchCase => {
    const n = shape[0] * shape[1] * shape[2];
    const image = new Float32Array(n);
    const label = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      image[i] = i;
      label[i] = i % 251;
    }
    return { image, label, shape };
  });
  for (const iteration of [0, 1]) {
    // No brightness, so clipping cannot make distinct voxels equal.
    const options: Partial<AugmentOptions> = { brightness: null, translation: iteration === 0 ? 'reference' : 'symmetric' };
    const batch = buildBatch(cases, planBatch(3, iteration, shapes, patch, options));
    for (let b = 0; b < 2; b++) {
      const onF = boxValues(batch.f, b, patch, batch.overlapF[b]!);
      let changes = 0;
      for (let i = 1; i < onF.length; i++) if (onF[i] !== onF[i - 1]) changes++;
      assert.ok(changes > 1000, 'overlap spans many distinct voxels');
      assert.deepEqual(onF, boxValues(batch.s, b, patch, batch.overlapS[b]!));
    }
  }
});

test('reused buffers give the same batch, and unlabelled slots zero labels left by an earlier batch', () => {
  const rng = new Random(53);
  const patch: Shape3 = [6, 5, 4];
  const shapes: Shape3[] = [[8, 7, 6], [5, 9, 4], [6, 5, 4], [9, 3, 7]];
  const labelled = shapes.map((shape) => makeCase(rng, shape, true));
  const first = buildBatch(labelled, planBatch(1, 0, shapes, patch));
  assert.ok(first.labelF.some((v) => v > 0));
  const mixed = labelled.map((c, i) => (i < 2 ? c : { ...c, label: null }));
  const plan = planBatch(1, 1, shapes, patch);
  const reused = buildBatch(mixed, plan, first);
  assert.equal(reused.f, first.f, 'buffers are reused');
  assert.deepEqual(reused, buildBatch(mixed, plan));
  const voxels = 6 * 5 * 4;
  assert.ok(reused.labelF.subarray(2 * voxels).every((v) => v === 0));
  assert.ok(reused.labelS.subarray(2 * voxels).every((v) => v === 0));
  const smaller = buildBatch(mixed.slice(0, 2), planBatch(1, 2, shapes.slice(0, 2), patch), first);
  assert.notEqual(smaller.f, first.f, 'a batch of another size gets new buffers');
  assert.equal(smaller.f.length, 2 * voxels);
});

test('a constant image gives zero crops, never NaN; cached ranges give the same batch', () => {
  const patch: Shape3 = [4, 4, 4];
  const shape: Shape3 = [5, 3, 6];
  const c: BatchCase = { image: new Float32Array(90).fill(3), label: null, shape };
  const batch = buildBatch([c, c], planBatch(2, 0, [shape, shape], patch));
  assert.ok(batch.f.every((v) => v === 0) && batch.s.every((v) => v === 0));
  const rng = new Random(54);
  const d = makeCase(rng, shape, true);
  const plan = planBatch(2, 1, [shape], patch);
  assert.deepEqual(buildBatch([d], plan, undefined, [{ min: Math.min(...d.image), max: Math.max(...d.image) }]), buildBatch([d], plan));
});

test('bad input: case count, shape or voxel count differing from the plan, NaN voxels', () => {
  const rng = new Random(55);
  const patch: Shape3 = [4, 4, 4];
  const shape: Shape3 = [6, 6, 6];
  const c = makeCase(rng, shape, true);
  const plan = planBatch(3, 0, [shape, shape], patch);
  const fails = (cases: BatchCase[], text: RegExp) => assert.throws(() => buildBatch(cases, plan), (e: unknown) => e instanceof TracocoError && text.test(e.message));
  fails([c], /cases/);
  fails([c, { ...c, shape: [6, 6, 5] as Vec3 }], /cases\[1\]/);
  fails([c, { ...c, image: c.image.subarray(1) }], /cases\[1\]/);
  fails([c, { ...c, label: new Uint8Array(5) }], /cases\[1\]/);
  const nan = c.image.slice();
  nan[7] = NaN;
  fails([c, { ...c, image: nan }], /image/);
});
