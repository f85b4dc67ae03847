/** Confident predictions judged as pseudo-labels: counts per class, their sums over cases, the shares. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceCounts, confidenceShares, sumConfidenceCounts } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

const isError = (field: string) => (e: unknown) => e instanceof TracocoError && e.context.field === field;

test('two classes: confident organ voxels, their precision, coverage and the argmax errors', () => {
  // Organ probabilities of 6 voxels (classes last: [p0, p1] each) and their labels.
  const p1 = [0.9, 0.7, 0.6, 0.95, 0.2, 0.4];
  const label = Uint8Array.from([1, 0, 1, 0, 0, 1]);
  const probabilities = Float32Array.from(p1.flatMap((p) => [1 - p, p]));
  const [organ] = confidenceCounts(probabilities, label, [1, 2, 3], 2, 0.65);
  // argmax organ: voxels 0, 1, 2, 3; confident (≥ 0.65): 0, 1, 3, of which voxel 0 is organ.
  assert.deepEqual(organ, { class: 1, confident: 3, confidentRight: 1, labelled: 3, labelledConfident: 1, falsePositive: 2, falseNegative: 1 });
  const shares = confidenceShares(organ!);
  assert.equal(shares.confident_right, 1 / 3);
  assert.equal(shares.coverage, 1 / 3);
  assert.equal(shares.false_positives, 2 / 3);
  assert.equal(shares.false_negatives, 1 / 3);
});

test('three classes: a background-confident voxel counts for no class; ties go to the lower class', () => {
  const probabilities = Float32Array.from([
    0.8, 0.1, 0.1, // background, labelled 2: a false negative of class 2
    0.1, 0.45, 0.45, // tie between 1 and 2: argmax 1, below γ; labelled 2
    0.05, 0.05, 0.9, // class 2, confident, right
    0.1, 0.7, 0.2, // class 1, confident, labelled 0
  ]);
  const label = Uint8Array.from([2, 2, 2, 0]);
  const [one, two] = confidenceCounts(probabilities, label, [2, 2, 1], 3, 0.65);
  assert.deepEqual(one, { class: 1, confident: 1, confidentRight: 0, labelled: 0, labelledConfident: 0, falsePositive: 2, falseNegative: 0 });
  assert.deepEqual(two, { class: 2, confident: 1, confidentRight: 1, labelled: 3, labelledConfident: 1, falsePositive: 0, falseNegative: 2 });
  assert.ok(Number.isNaN(confidenceShares(one!).coverage), 'no class-1 voxel: no coverage');
});

test('at threshold 0.5 with two classes every organ prediction is confident: coverage + misses = 1', () => {
  const rng = new Random(7);
  const shape: Shape3 = [6, 5, 4];
  const n = 120;
  const label = Uint8Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0));
  const probabilities = Float32Array.from({ length: n }, () => rng.uniform()).reduce<number[]>((a, p) => [...a, 1 - p, p], []);
  const [c] = confidenceCounts(Float32Array.from(probabilities), label, shape, 2, 0.5);
  const s = confidenceShares(c!);
  assert.ok(Math.abs(s.coverage + s.false_negatives - 1) < 1e-12);
  assert.equal(c!.confident, c!.confidentRight + c!.falsePositive);
});

test('sums add every count class by class; mismatched classes are refused', () => {
  const a = confidenceCounts(Float32Array.from([0.2, 0.8, 0.9, 0.1]), Uint8Array.from([1, 1]), [1, 1, 2], 2, 0.65);
  const b = confidenceCounts(Float32Array.from([0.3, 0.7, 0.3, 0.7]), Uint8Array.from([0, 1]), [1, 1, 2], 2, 0.65);
  assert.deepEqual(sumConfidenceCounts([a, b]), [{ class: 1, confident: 3, confidentRight: 2, labelled: 3, labelledConfident: 2, falsePositive: 1, falseNegative: 1 }]);
  assert.deepEqual(sumConfidenceCounts([]), []);
  const three = confidenceCounts(Float32Array.from([1, 0, 0]), Uint8Array.from([0]), [1, 1, 1], 3, 0.65);
  assert.throws(() => sumConfidenceCounts([a, three]), isError('counts'));
});

test('bad shapes, labels and thresholds are named errors', () => {
  const probabilities = Float32Array.from([0.5, 0.5, 0.5, 0.5]);
  assert.throws(() => confidenceCounts(probabilities, Uint8Array.from([0, 1, 0]), [1, 1, 2], 2, 0.65), isError('label'));
  assert.throws(() => confidenceCounts(probabilities, Uint8Array.from([0, 1]), [1, 1, 2], 3, 0.65), isError('probabilities'));
  assert.throws(() => confidenceCounts(probabilities, Uint8Array.from([0, 2]), [1, 1, 2], 2, 0.65), isError('label'));
  assert.throws(() => confidenceCounts(probabilities, Uint8Array.from([0, 1]), [1, 1, 2], 2, 1.5), isError('threshold'));
  assert.throws(() => confidenceCounts(probabilities, Uint8Array.from([0, 1]), [1, 1, 2], 1, 0.65), isError('classes'));
});
