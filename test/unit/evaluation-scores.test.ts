/** `scoreLabels`: per-class scores of classes 1…C−1 and their mean; two classes score as the binary metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreLabels } from '../../src/shared/evaluation/index.js';
import { caseMetrics, meanClassScores, meanMetrics } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { Shape3 } from '../../src/shared/volume.js';

const SHAPE: Shape3 = [8, 8, 4];

/** Class k in the box x ∈ [x0, x0 + 3), y ∈ [y0, y0 + 3), all z. */
function labelMap(boxes: [number, number, number][]): Uint8Array {
  const out = new Uint8Array(SHAPE[0] * SHAPE[1] * SHAPE[2]);
  for (const [k, x0, y0] of boxes)
    for (let x = x0; x < x0 + 3; x++) for (let y = y0; y < y0 + 3; y++) for (let z = 0; z < SHAPE[2]; z++) out[(x * SHAPE[1] + y) * SHAPE[2] + z] = k;
  return out;
}

const mask = (labels: Uint8Array, k: number) => Uint8Array.from(labels, (v) => (v === k ? 1 : 0));

test('three classes: each foreground class scored, the mean over them at the top level', () => {
  const label = labelMap([[1, 0, 0], [2, 4, 4]]);
  const pred = labelMap([[1, 1, 0], [2, 4, 4]]);
  const s = scoreLabels(pred, label, SHAPE, 3);
  assert.deepEqual(s.classes.map((c) => c.class), [1, 2]);
  for (const c of s.classes) assert.deepEqual({ ...c }, { class: c.class, ...caseMetrics(mask(pred, c.class), mask(label, c.class), SHAPE) });
  assert.equal(s.classes[1]!.dice, 1);
  assert.ok(s.classes[0]!.dice < 1);
  const { classes: _classes, ...mean } = s;
  assert.deepEqual(mean, meanMetrics(s.classes));
});

test('two classes: the top level is class 1 exactly, as the binary metrics', () => {
  const label = labelMap([[1, 0, 0]]);
  const pred = labelMap([[1, 1, 1]]);
  const s = scoreLabels(pred, label, SHAPE, 2);
  const binary = caseMetrics(mask(pred, 1), mask(label, 1), SHAPE);
  assert.deepEqual({ dice: s.dice, jaccard: s.jaccard, hd95: s.hd95, asd: s.asd }, binary);
  assert.deepEqual(s.classes, [{ class: 1, ...binary }]);
});

test('meanClassScores averages each class over cases, NaN left out', () => {
  const m = (dice: number) => ({ dice, jaccard: dice, hd95: 1, asd: 1 });
  const means = meanClassScores([
    { classes: [{ class: 1, ...m(0.5) }, { class: 2, ...m(Number.NaN) }] },
    { classes: [{ class: 1, ...m(1) }, { class: 2, ...m(0.25) }] },
  ]);
  assert.deepEqual(means.map((c) => [c.class, c.dice]), [[1, 0.75], [2, 0.25]]);
});

test('a label value outside the classes is a TracocoError naming the label', () => {
  const label = labelMap([[3, 0, 0]]);
  assert.throws(() => scoreLabels(labelMap([[1, 0, 0]]), label, SHAPE, 3), (e: unknown) => e instanceof TracocoError && /label/.test(e.message) && /0…2/.test(e.message));
});
