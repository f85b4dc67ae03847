import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  caseMetrics,
  directedSurfaceDistances,
  meanMetrics,
  percentile,
  surfaceBorder,
  surfaceDistanceMetrics,
} from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3, Vec3 } from '../../src/shared/volume.js';

function coords(shape: Shape3, mask: Uint8Array): [number, number, number][] {
  const [X, Y, Z] = shape;
  const out: [number, number, number][] = [];
  for (let x = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++) if (mask[(x * Y + y) * Z + z]) out.push([x, y, z]);
  return out;
}

function ball(shape: Shape3, centre: Vec3, radius: number): Uint8Array {
  const [X, Y, Z] = shape;
  const mask = new Uint8Array(X * Y * Z);
  for (let x = 0, i = 0; x < X; x++)
    for (let y = 0; y < Y; y++)
      for (let z = 0; z < Z; z++, i++) if ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius * radius) mask[i] = 1;
  return mask;
}

/** A random union of balls: blobby, sometimes touching the array edge. */
function blobs(rng: Random, shape: Shape3, count: number): Uint8Array {
  const mask = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let b = 0; b < count; b++) {
    const one = ball(shape, [rng.range(0, shape[0]), rng.range(0, shape[1]), rng.range(0, shape[2])], rng.range(1, 4));
    for (let i = 0; i < mask.length; i++) mask[i] |= one[i]!;
  }
  return mask;
}

/** medpy's directed distances by checking all border pairs (test only). */
function bruteForceDirected(result: Uint8Array, reference: Uint8Array, shape: Shape3, spacing: Vec3): number[] {
  const refBorder = coords(shape, surfaceBorder(reference, shape));
  return coords(shape, surfaceBorder(result, shape)).map(([x, y, z]) => {
    let best = Infinity;
    for (const [a, b, c] of refBorder) best = Math.min(best, ((x - a) * spacing[0]) ** 2 + ((y - b) * spacing[1]) ** 2 + ((z - c) * spacing[2]) ** 2);
    return Math.sqrt(best);
  });
}

test('the border of a solid box is the box minus its 6-eroded interior', () => {
  const shape: Shape3 = [6, 6, 6];
  const box = new Uint8Array(216);
  for (let x = 1; x <= 4; x++) for (let y = 1; y <= 4; y++) for (let z = 1; z <= 4; z++) box[(x * 6 + y) * 6 + z] = 1;
  const border = surfaceBorder(box, shape);
  assert.equal(border.reduce((a, b) => a + b, 0), 64 - 8);
  assert.equal(border[(2 * 6 + 2) * 6 + 2], 0);
  assert.equal(border[(1 * 6 + 2) * 6 + 2], 1);
});

test('foreground on the array edge is border (outside the array counts as background)', () => {
  const full = new Uint8Array(27).fill(1);
  const border = surfaceBorder(full, [3, 3, 3]);
  assert.equal(border.reduce((a, b) => a + b, 0), 26);
  assert.equal(border[13], 0);
  const cube = new Uint8Array(4 * 4 * 4).fill(1);
  assert.ok(surfaceBorder(cube, [4, 4, 4]).every((v, i) => v === (coordsOf(i, 4).some((c) => c === 0 || c === 3) ? 1 : 0)));
});

function coordsOf(i: number, n: number): number[] {
  return [Math.floor(i / (n * n)), Math.floor(i / n) % n, i % n];
}

test('directed surface distances equal brute force on random blobs with anisotropic spacing', () => {
  const rng = new Random(11);
  const cases: [Shape3, Vec3][] = [
    [[12, 10, 9], [1, 1, 1]],
    [[8, 14, 6], [0.7, 1.2, 2.5]],
    [[15, 6, 11], [3, 1, 1]],
  ];
  for (const [shape, spacing] of cases) {
    for (let rep = 0; rep < 3; rep++) {
      const a = blobs(rng, shape, 3);
      const b = blobs(rng, shape, 3);
      if (!a.some((v) => v) || !b.some((v) => v)) continue;
      const actual = Array.from(directedSurfaceDistances(a, b, shape, spacing));
      const expected = bruteForceDirected(a, b, shape, spacing);
      assert.equal(actual.length, expected.length);
      actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-9, `shape ${shape}: ${v} vs ${expected[i]}`));
      const both = Float64Array.from([...expected, ...bruteForceDirected(b, a, shape, spacing)]);
      const metrics = surfaceDistanceMetrics(a, b, shape, spacing);
      assert.ok(Math.abs(metrics.hd95 - percentile(both, 95)) < 1e-9);
      assert.ok(Math.abs(metrics.asd - expected.reduce((s, v) => s + v, 0) / expected.length) < 1e-9);
    }
  }
});

test('directed distances to an empty reference are Infinity, from an empty result there are none', () => {
  const shape: Shape3 = [4, 4, 4];
  const a = ball(shape, [1, 1, 1], 1);
  assert.ok(directedSurfaceDistances(a, new Uint8Array(64), shape).every((v) => v === Infinity));
  assert.equal(directedSurfaceDistances(new Uint8Array(64), a, shape).length, 0);
});

test('percentile interpolates linearly like numpy', () => {
  assert.equal(percentile(Float64Array.from([4, 1, 3, 2]), 95), 3.85);
  assert.equal(percentile(Float64Array.from([5]), 95), 5);
  assert.equal(percentile(Float64Array.from([2, 0]), 50), 1);
  assert.ok(Number.isNaN(percentile(new Float64Array(0), 95)));
});

test('a ball against itself scores perfectly; against a shifted ball as geometry predicts', () => {
  const shape: Shape3 = [40, 36, 36];
  const r = 10;
  const a = ball(shape, [16, 18, 18], r);
  assert.deepEqual(caseMetrics(a, a, shape), { dice: 1, jaccard: 1, hd95: 0, asd: 0 });
  const shift = 4;
  const b = ball(shape, [16 + shift, 18, 18], r);
  const m = caseMetrics(a, b, shape);
  // Two balls of radius r at distance d overlap in a lens of volume pi (4r + d)(2r - d)^2 / 12.
  const lens = (Math.PI * (4 * r + shift) * (2 * r - shift) ** 2) / 12;
  const expectedDice = lens / ((4 / 3) * Math.PI * r ** 3);
  assert.ok(Math.abs(m.dice - expectedDice) < 0.02, `dice ${m.dice} vs ${expectedDice}`);
  assert.ok(Math.abs(m.jaccard - m.dice / (2 - m.dice)) < 1e-12);
  // No surface point is further than the shift from the other surface; most are closer.
  assert.ok(m.hd95 <= shift + 1e-9 && m.hd95 > shift / 2, `hd95 ${m.hd95}`);
  assert.ok(m.asd > 0 && m.asd < m.hd95, `asd ${m.asd}`);
  const swapped = caseMetrics(b, a, shape);
  assert.equal(swapped.hd95, m.hd95);
  assert.equal(swapped.dice, m.dice);
});

test('distances scale with the voxel spacing, overlap does not', () => {
  const shape: Shape3 = [20, 20, 20];
  const a = ball(shape, [9, 9, 9], 6);
  const b = ball(shape, [11, 10, 9], 5);
  const unit = caseMetrics(a, b, shape);
  const scaled = caseMetrics(a, b, shape, [2, 2, 2]);
  assert.equal(scaled.dice, unit.dice);
  assert.ok(Math.abs(scaled.hd95 - 2 * unit.hd95) < 1e-9);
  assert.ok(Math.abs(scaled.asd - 2 * unit.asd) < 1e-9);
  const anisotropic = caseMetrics(a, b, shape, [1, 1, 5]);
  assert.notEqual(anisotropic.asd, unit.asd);
});

test('empty cases follow the reference protocol', () => {
  const shape: Shape3 = [8, 8, 8];
  const empty = new Uint8Array(512);
  const a = ball(shape, [4, 4, 4], 2);
  assert.deepEqual(caseMetrics(empty, a, shape), { dice: 0, jaccard: 0, hd95: 0, asd: 0 });
  assert.deepEqual(caseMetrics(empty, empty, shape), { dice: 0, jaccard: 0, hd95: 0, asd: 0 });
  const noLabel = caseMetrics(a, empty, shape);
  assert.equal(noLabel.dice, 0);
  assert.equal(noLabel.jaccard, 0);
  assert.ok(Number.isNaN(noLabel.hd95) && Number.isNaN(noLabel.asd));
  assert.equal(JSON.stringify(noLabel), '{"dice":0,"jaccard":0,"hd95":null,"asd":null}');
});

test('masks that fill the array edge to edge are scored with edge voxels as surface', () => {
  const shape: Shape3 = [5, 5, 5];
  const full = new Uint8Array(125).fill(1);
  const half = new Uint8Array(125);
  for (let i = 0; i < 125; i++) if (Math.floor(i / 25) < 2) half[i] = 1;
  const m = caseMetrics(half, full, shape);
  assert.equal(m.dice, (2 * 50) / 175);
  // half's surface at x = 1 (interior face) is 1 voxel from full's surface only where y or z is on the edge.
  const expected = bruteForceDirected(half, full, shape, [1, 1, 1]);
  assert.ok(Math.abs(m.asd - expected.reduce((s, v) => s + v, 0) / expected.length) < 1e-12);
  assert.ok(m.asd > 0);
});

test('caseMetrics rejects masks of the wrong size naming the field', () => {
  assert.throws(() => caseMetrics(new Uint8Array(8), new Uint8Array(9), [2, 2, 2]), (e: unknown) => e instanceof TracocoError && /label/.test(e.message));
});

test('meanMetrics averages each metric, leaving NaN out', () => {
  const mean = meanMetrics([
    { dice: 0.5, jaccard: 0.25, hd95: 4, asd: 1 },
    { dice: 1, jaccard: 1, hd95: NaN, asd: NaN },
    { dice: 0, jaccard: 0, hd95: 2, asd: 3 },
  ]);
  assert.deepEqual(mean, { dice: 0.5, jaccard: 1.25 / 3, hd95: 3, asd: 2 });
  const none = meanMetrics([]);
  assert.ok(Object.values(none).every((v) => Number.isNaN(v)));
});
