import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MIN_COMPONENT_VOXELS, labelComponents, largestComponent, removeSmallComponents } from '../../src/shared/metrics/index.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

function at(shape: Shape3, x: number, y: number, z: number): number {
  return (x * shape[1] + y) * shape[2] + z;
}

function maskWith(shape: Shape3, voxels: [number, number, number][]): Uint8Array {
  const mask = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (const [x, y, z] of voxels) mask[at(shape, x, y, z)] = 1;
  return mask;
}

function fillBox(mask: Uint8Array, shape: Shape3, lo: [number, number, number], size: [number, number, number]): void {
  for (let x = lo[0]; x < lo[0] + size[0]; x++)
    for (let y = lo[1]; y < lo[1] + size[1]; y++) for (let z = lo[2]; z < lo[2] + size[2]; z++) mask[at(shape, x, y, z)] = 1;
}

/** Component id per voxel by breadth-first flood fill over the 26 neighbours (test only). */
function floodFill(mask: Uint8Array, shape: Shape3): { labels: Int32Array; count: number } {
  const [X, Y, Z] = shape;
  const labels = new Int32Array(mask.length);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++count;
    const queue = [start];
    while (queue.length > 0) {
      const i = queue.pop()!;
      const x = Math.floor(i / (Y * Z));
      const y = Math.floor(i / Z) % Y;
      const z = i % Z;
      for (let dx = -1; dx <= 1; dx++)
        for (let dy = -1; dy <= 1; dy++)
          for (let dz = -1; dz <= 1; dz++) {
            const [nx, ny, nz] = [x + dx, y + dy, z + dz];
            if (nx < 0 || ny < 0 || nz < 0 || nx >= X || ny >= Y || nz >= Z) continue;
            const j = at(shape, nx, ny, nz);
            if (mask[j] && !labels[j]) {
              labels[j] = count;
              queue.push(j);
            }
          }
    }
  }
  return { labels, count };
}

test('voxels touching only at a corner or an edge join under 26-connectivity', () => {
  const shape: Shape3 = [4, 4, 4];
  assert.equal(labelComponents(maskWith(shape, [[0, 0, 0], [1, 1, 1]]), shape).count, 1);
  assert.equal(labelComponents(maskWith(shape, [[0, 0, 1], [1, 1, 0]]), shape).count, 1);
  assert.equal(labelComponents(maskWith(shape, [[0, 3, 0], [1, 2, 1]]), shape).count, 1);
  assert.equal(labelComponents(maskWith(shape, [[2, 0, 3], [3, 1, 2]]), shape).count, 1);
  // A one-voxel gap separates.
  assert.equal(labelComponents(maskWith(shape, [[0, 0, 0], [2, 0, 0]]), shape).count, 2);
  assert.equal(labelComponents(maskWith(shape, [[0, 0, 0], [2, 2, 2]]), shape).count, 2);
});

test('a diagonal staircase and a V shape are each one component, numbered in raster order', () => {
  const shape: Shape3 = [6, 6, 6];
  const mask = maskWith(shape, [
    [0, 5, 5], // a lone voxel first in raster order
    [1, 0, 0], [2, 1, 1], [3, 2, 2], [4, 3, 3], [5, 4, 4], // staircase along the main diagonal
    [2, 5, 0], [3, 4, 1], [4, 5, 2], // V: both arms meet only diagonally at (3,4,1)
  ]);
  const { labels, count, sizes } = labelComponents(mask, shape);
  assert.equal(count, 3);
  assert.deepEqual(Array.from(sizes), [0, 1, 5, 3]);
  assert.equal(labels[at(shape, 0, 5, 5)], 1);
  assert.equal(labels[at(shape, 5, 4, 4)], 2);
  assert.equal(labels[at(shape, 4, 5, 2)], 3);
  assert.equal(labels[at(shape, 1, 1, 1)], 0);
});

test('a U shape whose arms merge late gets one label throughout', () => {
  // The two arms start as separate provisional labels and are united by the bottom row.
  const shape: Shape3 = [1, 5, 5];
  const mask = maskWith(shape, [[0, 0, 0], [0, 0, 4], [0, 1, 0], [0, 1, 4], [0, 2, 0], [0, 2, 4], [0, 3, 1], [0, 3, 2], [0, 3, 3]]);
  const { labels, count } = labelComponents(mask, shape);
  assert.equal(count, 1);
  assert.ok(Array.from(labels).every((l, i) => l === (mask[i] ? 1 : 0)));
});

test('labelling equals a brute-force flood fill on random volumes', () => {
  const rng = new Random(5);
  for (const [shape, density] of [[[9, 8, 7], 0.15], [[12, 3, 10], 0.3], [[1, 20, 20], 0.35], [[10, 10, 10], 0.08]] as [Shape3, number][]) {
    const mask = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => (rng.uniform() < density ? 1 : 0));
    const ours = labelComponents(mask, shape);
    const ref = floodFill(mask, shape);
    assert.equal(ours.count, ref.count, `count for shape ${shape}`);
    // Both number components by their first voxel in raster order, so labels agree exactly.
    assert.deepEqual(ours.labels, ref.labels);
  }
});

test('removeSmallComponents drops components with fewer voxels than the threshold, keeps equal ones', () => {
  const shape: Shape3 = [12, 12, 12];
  const mask = new Uint8Array(12 ** 3);
  fillBox(mask, shape, [0, 0, 0], [1, 1, 5]); // 5 voxels
  fillBox(mask, shape, [3, 0, 0], [2, 5, 1]); // 10 voxels
  fillBox(mask, shape, [6, 6, 6], [2, 2, 5]); // 20 voxels
  const kept = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
  assert.equal(kept(removeSmallComponents(mask, shape, 10)), 30);
  assert.equal(kept(removeSmallComponents(mask, shape, 11)), 20);
  assert.equal(kept(removeSmallComponents(mask, shape, 0)), 35);
  assert.equal(kept(removeSmallComponents(mask, shape, 21)), 0);
  assert.equal(removeSmallComponents(mask, shape, 10)[at(shape, 0, 0, 0)], 0);
  assert.equal(kept(mask), 35, 'input untouched');
});

test('the default threshold is the reference 8000 voxels', () => {
  assert.equal(DEFAULT_MIN_COMPONENT_VOXELS, 8000);
  const shape: Shape3 = [42, 20, 20];
  const mask = new Uint8Array(42 * 20 * 20);
  fillBox(mask, shape, [0, 0, 0], [20, 20, 20]); // 8000 voxels
  fillBox(mask, shape, [22, 0, 0], [20, 20, 20]);
  mask[at(shape, 41, 19, 19)] = 0; // 7999 voxels
  const out = removeSmallComponents(mask, shape);
  assert.equal(out.reduce((a, b) => a + b, 0), 8000);
  assert.equal(out[at(shape, 0, 0, 0)], 1);
  assert.equal(out[at(shape, 22, 0, 0)], 0);
});

test('largestComponent keeps the biggest component, the first one on a tie, and nothing for an empty mask', () => {
  const shape: Shape3 = [8, 8, 8];
  const mask = new Uint8Array(512);
  fillBox(mask, shape, [0, 0, 0], [2, 2, 2]); // 8
  fillBox(mask, shape, [4, 4, 4], [3, 3, 3]); // 27
  const big = largestComponent(mask, shape);
  assert.equal(big.reduce((a, b) => a + b, 0), 27);
  assert.equal(big[at(shape, 5, 5, 5)], 1);
  const tie = new Uint8Array(512);
  fillBox(tie, shape, [0, 0, 0], [2, 2, 2]);
  fillBox(tie, shape, [5, 5, 5], [2, 2, 2]);
  const first = largestComponent(tie, shape);
  assert.equal(first[at(shape, 0, 0, 0)], 1);
  assert.equal(first[at(shape, 5, 5, 5)], 0);
  assert.equal(largestComponent(new Uint8Array(512), shape).reduce((a, b) => a + b, 0), 0);
});
