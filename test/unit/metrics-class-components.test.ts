/** Connectivity choices and the largest-component-per-class pseudo-label filter, 2D and 3D. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  labelComponents,
  labelComponents2d,
  largestComponentPerClass,
  largestComponentPseudoLabels,
  type Connectivity3,
} from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

const isError = (re: RegExp) => (e: unknown) => e instanceof TracocoError && re.test(e.message);

/** Component count by flood fill over the neighbours with at most `maxNonZero` nonzero offsets (test only). */
function floodCount(mask: Uint8Array, shape: Shape3, maxNonZero: number): number {
  const [X, Y, Z] = shape;
  const seen = new Uint8Array(mask.length);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    count++;
    seen[start] = 1;
    const stack = [start];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const [x, y, z] = [Math.floor(i / (Y * Z)), Math.floor(i / Z) % Y, i % Z];
      for (let dx = -1; dx <= 1; dx++)
        for (let dy = -1; dy <= 1; dy++)
          for (let dz = -1; dz <= 1; dz++) {
            const nonZero = Number(dx !== 0) + Number(dy !== 0) + Number(dz !== 0);
            if (nonZero === 0 || nonZero > maxNonZero) continue;
            const [nx, ny, nz] = [x + dx, y + dy, z + dz];
            if (nx < 0 || ny < 0 || nz < 0 || nx >= X || ny >= Y || nz >= Z) continue;
            const j = (nx * Y + ny) * Z + nz;
            if (mask[j] && !seen[j]) {
              seen[j] = 1;
              stack.push(j);
            }
          }
    }
  }
  return count;
}

test('6-, 18- and 26-connectivity match a flood fill on random masks', () => {
  const r = new Random(12);
  const shape: Shape3 = [7, 6, 5];
  for (let trial = 0; trial < 5; trial++) {
    const mask = Uint8Array.from({ length: 210 }, () => (r.uniform() < 0.35 ? 1 : 0));
    for (const [connectivity, maxNonZero] of [[6, 1], [18, 2], [26, 3]] as const) {
      const { count, sizes } = labelComponents(mask, shape, connectivity);
      assert.equal(count, floodCount(mask, shape, maxNonZero), `connectivity ${connectivity}, trial ${trial}`);
      assert.equal(sizes.reduce((a, b) => a + b, 0), mask.reduce((a, b) => a + b, 0));
    }
  }
});

test('2D: diagonal neighbours join under 8-connectivity (the default) and not under 4', () => {
  // 1 . .
  // . 1 .
  // . . 1
  const mask = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(labelComponents2d(mask, [3, 3]).count, 1);
  assert.equal(labelComponents2d(mask, [3, 3], 4).count, 3);
  assert.throws(() => labelComponents2d(mask, [3, 3], 6 as 4), isError(/field 'connectivity'/));
  assert.throws(() => labelComponents(mask, [1, 3, 3], 8 as Connectivity3), isError(/field 'connectivity'/));
});

/** [N, H, W, C] probabilities whose argmax is `labels` (0.6 on the label, the rest shared). */
function probabilitiesOf(labels: number[], classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, v) => {
    for (let c = 0; c < classes; c++) out[v * classes + c] = c === l ? 0.6 : 0.4 / (classes - 1);
  });
  return out;
}

// Slice 0 (5 × 6): class 1 has a 4-voxel blob and a 2-voxel blob; class 2 is a diagonal of
// 3 voxels (one component in 8-connectivity, three in 4-connectivity).
const SLICE0 = [
  1, 1, 0, 0, 0, 0,
  1, 1, 0, 2, 0, 0,
  0, 0, 0, 0, 2, 0,
  0, 0, 0, 0, 0, 2,
  0, 1, 1, 0, 0, 0,
];
// Slice 1: class 2 only, two blobs of 2; the first in raster order wins the tie.
const SLICE1 = [
  2, 2, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 2, 2,
  0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0,
];

test('2D pseudo-labels: per slice and class only the largest component keeps its class probability', () => {
  const classes = 3;
  const labels = [...SLICE0, ...SLICE1];
  const prob = probabilitiesOf(labels, classes);
  const before = Float32Array.from(prob);
  const out = largestComponentPseudoLabels(prob, [2, 5, 6, classes]);
  const kept8 = [
    1, 1, 0, 0, 0, 0,
    1, 1, 0, 2, 0, 0,
    0, 0, 0, 0, 2, 0,
    0, 0, 0, 0, 0, 2,
    0, 0, 0, 0, 0, 0,
    2, 2, 0, 0, 0, 0,
    ...new Array<number>(24).fill(0),
  ];
  kept8.forEach((k, v) => {
    for (let c = 0; c < classes; c++) {
      // The kept class's probability survives; every other class's is zeroed.
      const expected = c === k ? prob[v * classes + c]! : 0;
      assert.equal(out[v * classes + c], expected, `voxel ${v} class ${c}`);
    }
  });
  // 4-connectivity splits the diagonal: only its first voxel (raster order) stays class 2.
  const out4 = largestComponentPseudoLabels(prob, [2, 5, 6, classes], { connectivity: 4 });
  const classOf = (o: Float32Array, v: number) => [0, 1, 2].find((c) => o[v * classes + c]! > 0);
  assert.deepEqual([9, 16, 23].map((v) => classOf(out4, v)), [2, 0, 0]);
  assert.deepEqual(prob, before, 'the input is left untouched');
});

test('a batch without foreground comes back unchanged, as the published code', () => {
  const prob = probabilitiesOf(new Array<number>(12).fill(0), 4);
  const out = largestComponentPseudoLabels(prob, [2, 2, 3, 4]);
  assert.deepEqual(Array.from(out), Array.from(prob));
  assert.notEqual(out, prob, 'a copy');
});

test('3D pseudo-labels: components touching by a corner join under 26- (default) but not 6-connectivity', () => {
  // Class 1: a 2×2×2 cube at the origin and a single voxel touching its far corner (3,3,3)→(2,2,2);
  // a separate class-1 pair far away at (0,3,3),(0,3,2) loses in both cases.
  const shape: Shape3 = [4, 4, 4];
  const labels = new Array<number>(64).fill(0);
  const at = (x: number, y: number, z: number) => (x * 4 + y) * 4 + z;
  for (const x of [0, 1]) for (const y of [0, 1]) for (const z of [0, 1]) labels[at(x, y, z)] = 1;
  labels[at(2, 2, 2)] = 1;
  labels[at(0, 3, 3)] = 1;
  labels[at(0, 3, 2)] = 1;
  labels[at(3, 0, 3)] = 2;
  const kept26 = largestComponentPerClass(labels, shape, 3);
  assert.equal(kept26[at(2, 2, 2)], 1);
  assert.equal(kept26[at(0, 3, 3)], 0);
  assert.equal(kept26[at(3, 0, 3)], 2);
  const kept6 = largestComponentPerClass(labels, shape, 3, 6);
  assert.equal(kept6[at(2, 2, 2)], 0);
  assert.equal(kept6[at(1, 1, 1)], 1);
  const prob = probabilitiesOf(labels, 3);
  const out = largestComponentPseudoLabels(prob, [1, 4, 4, 4, 3], { connectivity: 6 });
  assert.deepEqual(Array.from(out.subarray(at(2, 2, 2) * 3, at(2, 2, 2) * 3 + 3)), [prob[at(2, 2, 2) * 3]!, 0, 0]);
  assert.deepEqual(Array.from(out.subarray(at(1, 1, 1) * 3, at(1, 1, 1) * 3 + 3)), [0, prob[at(1, 1, 1) * 3 + 1]!, 0]);
  // minVoxels (the published evaluation's 10): the 9-voxel class-1 component is dropped too.
  const strict = largestComponentPerClass(labels, shape, 3, 26, 10);
  assert.equal(strict.reduce((a, b) => a + b, 0), 0);
});

test('bad shapes, lengths, labels and connectivities are named TracocoErrors', () => {
  const prob = new Float32Array(2 * 3 * 3 * 3);
  assert.throws(() => largestComponentPseudoLabels(prob, [2, 3, 3]), isError(/field 'shape'/));
  assert.throws(() => largestComponentPseudoLabels(prob, [2, 3, 4, 3]), isError(/field 'prob'/));
  assert.throws(() => largestComponentPseudoLabels(prob, [2, 3, 3, 3], { connectivity: 26 }), isError(/field 'connectivity'.*2D/));
  assert.throws(() => largestComponentPseudoLabels(prob, [2, 3, 3, 1, 3], { connectivity: 8 }), isError(/field 'connectivity'.*3D/));
  assert.throws(() => largestComponentPseudoLabels(new Float32Array(9), [1, 3, 3, 1]), isError(/field 'classes'/));
  assert.throws(() => largestComponentPerClass([0, 1, 3, 0], [1, 2, 2], 3), isError(/field 'labels'.*label value 3/));
  assert.throws(() => largestComponentPerClass([0, 1, 2], [1, 2, 2], 3), isError(/field 'labels'/));
  assert.throws(() => largestComponentPerClass([0, 1, 1, 0], [1, 2, 2], 3, 26, -1), isError(/field 'minVoxels'/));
});
