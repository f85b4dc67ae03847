import { test } from 'node:test';
import assert from 'node:assert/strict';
import { euclideanDistanceTransform, squaredDistanceTransform } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3, Vec3 } from '../../src/shared/volume.js';

function randomMask(rng: Random, shape: Shape3, density: number): Uint8Array {
  return Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => (rng.uniform() < density ? 1 : 0));
}

/** Distance from every voxel to the nearest nonzero voxel by checking all pairs (test only). */
function bruteForceEdt(mask: Uint8Array, shape: Shape3, spacing: Vec3): Float64Array {
  const [X, Y, Z] = shape;
  const sites: [number, number, number][] = [];
  for (let x = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++) if (mask[(x * Y + y) * Z + z]) sites.push([x, y, z]);
  const out = new Float64Array(mask.length);
  for (let x = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      for (let z = 0; z < Z; z++) {
        let best = Infinity;
        for (const [sx, sy, sz] of sites) {
          const d = ((x - sx) * spacing[0]) ** 2 + ((y - sy) * spacing[1]) ** 2 + ((z - sz) * spacing[2]) ** 2;
          if (d < best) best = d;
        }
        out[(x * Y + y) * Z + z] = Math.sqrt(best);
      }
    }
  }
  return out;
}

function assertClose(actual: Float64Array, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a === e) continue;
    assert.ok(Math.abs(a - e) <= 1e-9 * Math.max(1, e), `${what}: voxel ${i} = ${a}, brute force ${e}`);
  }
}

test('EDT equals brute force on random volumes, shapes and anisotropic spacings', () => {
  const rng = new Random(7);
  const cases: [Shape3, Vec3, number][] = [
    [[6, 7, 8], [1, 1, 1], 0.05],
    [[9, 5, 4], [2.5, 0.7, 1.3], 0.1],
    [[1, 12, 10], [1, 1, 3], 0.02],
    [[11, 1, 1], [0.5, 1, 1], 0.2],
    [[5, 9, 13], [0.625, 0.625, 2], 0.01],
    [[7, 7, 7], [1, 1, 1], 0.6],
  ];
  for (const [shape, spacing, density] of cases) {
    for (let rep = 0; rep < 3; rep++) {
      const mask = randomMask(rng, shape, density);
      const what = `shape ${shape} spacing ${spacing}`;
      assertClose(euclideanDistanceTransform(mask, shape, spacing), bruteForceEdt(mask, shape, spacing), what);
    }
  }
});

test('EDT of a single voxel is the Euclidean distance in spacing units', () => {
  const shape: Shape3 = [5, 6, 7];
  const mask = new Uint8Array(5 * 6 * 7);
  mask[(1 * 6 + 2) * 7 + 3] = 1;
  const spacing: Vec3 = [2, 3, 0.5];
  const d = euclideanDistanceTransform(mask, shape, spacing);
  assert.equal(d[(1 * 6 + 2) * 7 + 3], 0);
  assert.equal(d[(4 * 6 + 5) * 7 + 0], Math.sqrt((3 * 2) ** 2 + (3 * 3) ** 2 + (3 * 0.5) ** 2));
  assert.equal(d[(1 * 6 + 2) * 7 + 6], 1.5);
});

test('EDT of an empty mask is Infinity everywhere, of a full mask 0 everywhere', () => {
  const shape: Shape3 = [3, 4, 5];
  const empty = euclideanDistanceTransform(new Uint8Array(60), shape);
  assert.ok(empty.every((v) => v === Infinity));
  const full = euclideanDistanceTransform(new Uint8Array(60).fill(255), shape);
  assert.ok(full.every((v) => v === 0));
});

test('squaredDistanceTransform reuses a given buffer and squares the distances', () => {
  const rng = new Random(3);
  const shape: Shape3 = [6, 5, 4];
  const spacing: Vec3 = [1.5, 1, 0.8];
  const out = new Float64Array(120).fill(-1);
  const mask = randomMask(rng, shape, 0.1);
  const squared = squaredDistanceTransform(mask, shape, spacing, out);
  assert.equal(squared, out);
  const expected = bruteForceEdt(mask, shape, spacing).map((v) => v * v);
  assertClose(squared, expected, 'squared');
  assert.throws(() => squaredDistanceTransform(mask, shape, spacing, new Float64Array(5)), RangeError);
});

test('EDT rejects a mask that does not fit its shape and bad spacing with TracocoError', () => {
  assert.throws(() => euclideanDistanceTransform(new Uint8Array(10), [2, 2, 2]), TracocoError);
  assert.throws(() => euclideanDistanceTransform(new Uint8Array(8), [2, 2, 0] as unknown as Shape3), TracocoError);
  assert.throws(() => euclideanDistanceTransform(new Uint8Array(8), [2, 2, 2], [1, 0, 1]), TracocoError);
  assert.throws(() => euclideanDistanceTransform(new Uint8Array(8), [2, 2, 2], [1, NaN, 1]), TracocoError);
});
