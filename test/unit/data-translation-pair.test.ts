import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxShape, boxVoxels, boxWithin } from '../../src/shared/data/geometry.js';
import { overlapBoxes, sampleTranslationPair, type TranslationPair } from '../../src/shared/data/translation-pair.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

/** Padded volume shapes against patches: equal, one voxel more, odd, anisotropic, over 3 patches. */
function cases(rng: Random): { volume: Shape3; patch: Shape3 }[] {
  const out: { volume: Shape3; patch: Shape3 }[] = [
    { volume: [112, 112, 80], patch: [112, 112, 80] },
    { volume: [113, 112, 81], patch: [112, 112, 80] },
    { volume: [130, 127, 91], patch: [112, 112, 80] },
    { volume: [576, 576, 88], patch: [112, 112, 80] },
    { volume: [7, 1, 50], patch: [3, 1, 9] },
  ];
  for (let i = 0; i < 25; i++) {
    const patch: Shape3 = [rng.int(1, 12), rng.int(1, 12), rng.int(1, 12)];
    out.push({ volume: [patch[0] + rng.int(0, 40), patch[1] + rng.int(0, 5), patch[2] + rng.int(0, 13)], patch });
  }
  return out;
}

function checkPair(p: TranslationPair, volume: Shape3, patch: Shape3): void {
  for (let i = 0; i < 3; i++) {
    assert.ok(p.startF[i]! >= 0 && p.startF[i]! + patch[i]! <= volume[i]!, `f inside the volume on axis ${i}`);
    assert.ok(p.startS[i]! >= 0 && p.startS[i]! + patch[i]! <= volume[i]!, `s inside the volume on axis ${i}`);
    if (volume[i] === patch[i]) assert.ok(p.startF[i] === 0 && p.startS[i] === 0);
    // The overlap is the full intersection, and both boxes name the same volume voxels.
    assert.equal(boxShape(p.overlapF)[i], patch[i]! - Math.abs(p.startF[i]! - p.startS[i]!));
    assert.equal(p.overlapF.start[i]! + p.startF[i]!, p.overlapS.start[i]! + p.startS[i]!);
  }
  assert.ok(boxWithin(p.overlapF, patch) && boxWithin(p.overlapS, patch));
  assert.deepEqual(boxShape(p.overlapF), boxShape(p.overlapS));
  assert.ok(boxVoxels(p.overlapF) > 0, 'non-empty overlap');
}

test('reference mode: starts in range, s <= f per axis, boxes inside the patch, equal and non-empty', () => {
  const rng = new Random(31);
  for (const { volume, patch } of cases(rng)) {
    for (let draw = 0; draw < 300; draw++) {
      const p = sampleTranslationPair(volume, patch, rng);
      checkPair(p, volume, patch);
      for (let i = 0; i < 3; i++) {
        assert.ok(p.startS[i]! <= p.startF[i]!);
        // Within one patch of the origin no shift applies: s is drawn from [0, f) itself.
        if (p.startF[i]! > 0 && p.startF[i]! < patch[i]!) assert.ok(p.startS[i]! < p.startF[i]!);
        if (p.startF[i] === 0) assert.equal(p.startS[i], 0);
      }
    }
  }
});

/** The brief's reference rule for one axis, enumerated: P(s | f) for s drawn in [0, f). */
function referenceConditional(f: number, patch: number): Map<number, number> {
  const pmf = new Map<number, number>();
  if (f === 0) return pmf.set(0, 1);
  for (let b = 0; b < f; b++) {
    let s = b;
    if (f - s >= patch) s += Math.floor(f / 2);
    s = Math.min(f, Math.max(s, f - patch + 1));
    pmf.set(s, (pmf.get(s) ?? 0) + 1 / f);
  }
  return pmf;
}

test('reference mode follows the reference distribution: f uniform, s | f as the published rule', () => {
  const rng = new Random(32);
  const volume: Shape3 = [40, 20, 6];
  const patch: Shape3 = [8, 12, 6];
  const draws = 40000;
  const joint = new Map<string, number>();
  const fCounts = new Array<number>(volume[0] - patch[0] + 1).fill(0);
  for (let i = 0; i < draws; i++) {
    const p = sampleTranslationPair(volume, patch, rng, { mode: 'reference' });
    fCounts[p.startF[0]]!++;
    const key = `${p.startF[0]},${p.startS[0]}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  const fWant = 1 / fCounts.length;
  let tv = 0;
  for (const c of fCounts) tv += Math.abs(c / draws - fWant);
  const expected = new Map<string, number>();
  for (let f = 0; f < fCounts.length; f++) {
    for (const [s, p] of referenceConditional(f, patch[0])) expected.set(`${f},${s}`, p * fWant);
  }
  for (const key of joint.keys()) assert.ok(expected.has(key), `impossible pair (f, s) = (${key})`);
  let jointTv = 0;
  for (const [key, p] of expected) jointTv += Math.abs((joint.get(key) ?? 0) / draws - p);
  assert.ok(tv / 2 < 0.03, `f total variation ${tv / 2}`);
  assert.ok(jointTv / 2 < 0.06, `(f, s) total variation ${jointTv / 2}`);
});

test('symmetric mode: s on both sides, overlap fraction >= minOverlap, s != f, valid boxes', () => {
  const rng = new Random(33);
  for (const minOverlap of [0, 0.3, 0.5, 0.9]) {
    for (const { volume, patch } of cases(rng)) {
      let before = 0;
      let after = 0;
      for (let draw = 0; draw < 100; draw++) {
        const p = sampleTranslationPair(volume, patch, rng, { mode: 'symmetric', minOverlap });
        checkPair(p, volume, patch);
        assert.ok(boxVoxels(p.overlapF) >= minOverlap * patch[0] * patch[1] * patch[2]);
        // Another placement exists iff a one-voxel shift is possible and keeps enough overlap.
        const canShift = [0, 1, 2].some((i) => volume[i]! > patch[i]! && (patch[i]! - 1) / patch[i]! >= minOverlap);
        if (canShift) assert.notDeepEqual(p.startS, p.startF);
        else assert.deepEqual(p.startS, p.startF);
        if (p.startS[0] < p.startF[0]) before++;
        if (p.startS[0] > p.startF[0]) after++;
      }
      if (volume[0] - patch[0] >= 4 && patch[0] >= 4 && minOverlap <= 0.5) assert.ok(before > 0 && after > 0, `both sides for ${volume} / ${patch}`);
    }
  }
});

test('symmetric mode is uniform over the admissible placements of s given f', () => {
  const volume: Shape3 = [9, 7, 6];
  const patch: Shape3 = [5, 4, 3];
  const minOverlap = 0.4;
  const need = minOverlap * patch[0] * patch[1] * patch[2];
  const rng = new Random(34);
  const byF = new Map<string, Map<string, number>>();
  for (let i = 0; i < 60000; i++) {
    const p = sampleTranslationPair(volume, patch, rng, { mode: 'symmetric', minOverlap });
    const f = p.startF.join(',');
    const counts = byF.get(f) ?? new Map<string, number>();
    counts.set(p.startS.join(','), (counts.get(p.startS.join(',')) ?? 0) + 1);
    byF.set(f, counts);
  }
  assert.equal(byF.size, 5 * 4 * 4, 'every start of f occurs');
  for (const [fKey, counts] of byF) {
    const f = fKey.split(',').map(Number);
    const admissible: string[] = [];
    for (let x = 0; x <= volume[0] - patch[0]; x++) for (let y = 0; y <= volume[1] - patch[1]; y++) for (let z = 0; z <= volume[2] - patch[2]; z++) {
      const s = [x, y, z];
      const overlap = s.reduce((acc, v, i) => acc * Math.max(0, patch[i]! - Math.abs(v - f[i]!)), 1);
      if (overlap >= need && s.join(',') !== fKey) admissible.push(s.join(','));
    }
    assert.deepEqual([...counts.keys()].sort(), [...admissible].sort(), `support of s given f = ${fKey}`);
    const n = [...counts.values()].reduce((a, b) => a + b, 0);
    // Each admissible s has probability 1/|A|; allow 5 standard deviations of a binomial count.
    const mean = n / admissible.length;
    const sd = Math.sqrt(mean * (1 - 1 / admissible.length));
    for (const [s, c] of counts) assert.ok(Math.abs(c - mean) <= 5 * sd + 1, `s = ${s}: ${c} vs ${mean.toFixed(1)}`);
  }
});

test('minOverlap 1 or a volume equal to the patch leaves s = f; equal-size axes start at 0', () => {
  const rng = new Random(35);
  for (let i = 0; i < 50; i++) {
    const p = sampleTranslationPair([20, 15, 9], [6, 6, 6], rng, { mode: 'symmetric', minOverlap: 1 });
    assert.deepEqual(p.startS, p.startF);
    const q = sampleTranslationPair([6, 6, 6], [6, 6, 6], rng, { mode: 'symmetric' });
    assert.deepEqual([q.startF, q.startS], [[0, 0, 0], [0, 0, 0]]);
    assert.deepEqual(q.overlapF, { start: [0, 0, 0], end: [6, 6, 6] });
  }
});

test('sampling repeats for the same seed and differs for another', () => {
  const draw = (seed: number, mode: 'reference' | 'symmetric') => {
    const rng = new Random(seed);
    return Array.from({ length: 20 }, () => sampleTranslationPair([130, 130, 90], [112, 112, 80], rng, { mode }));
  };
  for (const mode of ['reference', 'symmetric'] as const) {
    assert.deepEqual(draw(1, mode), draw(1, mode));
    assert.notDeepEqual(draw(1, mode), draw(2, mode));
  }
});

test('overlapBoxes maps one voxel set into both crops and is empty when crops miss', () => {
  const { overlapF, overlapS } = overlapBoxes([10, 5, 0], [4, 7, 0], [8, 8, 3]);
  assert.deepEqual(overlapF, { start: [0, 2, 0], end: [2, 8, 3] });
  assert.deepEqual(overlapS, { start: [6, 0, 0], end: [8, 6, 3] });
  assert.equal(boxVoxels(overlapBoxes([0, 0, 0], [8, 0, 0], [8, 8, 3]).overlapF), 0);
});

test('bad input: volume smaller than the patch, minOverlap outside [0, 1], unknown mode', () => {
  const rng = new Random(36);
  assert.throws(() => sampleTranslationPair([10, 10, 5], [8, 8, 6], rng), (e: unknown) => e instanceof TracocoError && /patch/.test(e.message));
  assert.throws(() => sampleTranslationPair([10, 10, 10], [8, 8, 6], rng, { minOverlap: 1.5 }), (e: unknown) => e instanceof TracocoError && /minOverlap/.test(e.message));
  assert.throws(() => sampleTranslationPair([10, 10, 10], [8, 8, 6], rng, { mode: 'sideways' as never }), TracocoError);
});
