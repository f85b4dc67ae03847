/** Per-class metrics of multi-class label volumes: a hand-built case with known scores, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseMetrics, perClassMetrics } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { Shape3 } from '../../src/shared/volume.js';

const shape: Shape3 = [4, 5, 3];
const at = (x: number, y: number, z: number) => (x * 5 + y) * 3 + z;

/** Class 1 predicted exactly; class 2: 2 of 4 label voxels predicted plus 2 wrong ones; class 3 never predicted. */
function handBuilt(): { pred: Uint8Array; label: Uint8Array } {
  const pred = new Uint8Array(60);
  const label = new Uint8Array(60);
  for (const [x, y] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    pred[at(x!, y!, 0)] = 1;
    label[at(x!, y!, 0)] = 1;
  }
  for (const z of [0, 1, 2]) label[at(3, 4, z)] = 2;
  label[at(2, 4, 2)] = 2;
  pred[at(3, 4, 0)] = 2;
  pred[at(3, 4, 1)] = 2;
  pred[at(3, 0, 0)] = 2;
  pred[at(3, 0, 1)] = 2;
  label[at(0, 4, 0)] = 3;
  label[at(0, 4, 1)] = 3;
  return { pred, label };
}

test('Dice, Jaccard, 95HD and ASD per class 1…C−1 and their mean', () => {
  const { pred, label } = handBuilt();
  const r = perClassMetrics(pred, label, shape, 4);
  assert.deepEqual(r.classes.map((m) => m.class), [1, 2, 3]);
  const [one, two, three] = r.classes;
  assert.deepEqual({ ...one }, { class: 1, dice: 1, jaccard: 1, hd95: 0, asd: 0 });
  // |P| = 4, |L| = 4, |P ∩ L| = 2: Dice 4/8, Jaccard 2/6.
  assert.equal(two!.dice, 0.5);
  assert.ok(Math.abs(two!.jaccard - 1 / 3) < 1e-12);
  const binary2 = caseMetrics(Uint8Array.from(pred, (v) => Number(v === 2)), Uint8Array.from(label, (v) => Number(v === 2)), shape);
  assert.equal(two!.hd95, binary2.hd95);
  assert.equal(two!.asd, binary2.asd);
  assert.ok(two!.hd95 > 0 && two!.asd > 0);
  // An empty prediction scores 0 on all four (the published protocol).
  assert.deepEqual({ ...three }, { class: 3, dice: 0, jaccard: 0, hd95: 0, asd: 0 });
  assert.equal(r.mean.dice, 0.5);
  assert.ok(Math.abs(r.mean.jaccard - (1 + 1 / 3) / 3) < 1e-12);
  assert.ok(Math.abs(r.mean.hd95 - binary2.hd95 / 3) < 1e-12);
  assert.ok(Math.abs(r.mean.asd - binary2.asd / 3) < 1e-12);
});

test('per-class metrics accept any integer array type and honour the spacing', () => {
  const { pred, label } = handBuilt();
  const a = perClassMetrics(Int32Array.from(pred), Float32Array.from(label), shape, 4, [2, 2, 2]);
  const b = perClassMetrics(pred, label, shape, 4);
  assert.equal(a.classes[1]!.dice, b.classes[1]!.dice);
  assert.ok(Math.abs(a.classes[1]!.asd - 2 * b.classes[1]!.asd) < 1e-12);
});

test('label values ≥ classes, non-integers and shape mismatches are named TracocoErrors', () => {
  const { pred, label } = handBuilt();
  const isError = (re: RegExp) => (e: unknown) => e instanceof TracocoError && re.test(e.message);
  assert.throws(() => perClassMetrics(pred, label, shape, 3), isError(/field 'label'.*label value 3/));
  const badPred = Uint8Array.from(pred);
  badPred[7] = 5;
  assert.throws(() => perClassMetrics(badPred, label, shape, 4), isError(/field 'pred'.*label value 5 at voxel 7/));
  assert.throws(() => perClassMetrics(Float32Array.from(pred, (v) => v + 0.5), label, shape, 4), isError(/field 'pred'/));
  assert.throws(() => perClassMetrics(pred, label.subarray(1), shape, 4), isError(/field 'label'/));
  assert.throws(() => perClassMetrics(pred, label, [4, 5, 4], 4), isError(/field 'pred'/));
  assert.throws(() => perClassMetrics(pred, label, shape, 1), isError(/field 'classes'/));
});
