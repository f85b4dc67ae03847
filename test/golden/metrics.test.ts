/**
 * Golden metrics (GUIDE §8): every file of kind `metrics` in the golden directory; each case is
 * a flat row-major prediction/label pair with its shape, scored at spacing 1 and compared with
 * the independent medpy values within the file's absolute tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseMetrics, METRIC_NAMES } from '../../src/shared/metrics/index.js';
import { shape3 } from '../../src/shared/volume.js';
import { goldenFilesOfKind, reportChecked, skipUnlessGolden, type GoldenTensor } from '../support/golden.js';

interface MetricsCase {
  inputs: { pred: GoldenTensor; label: GoldenTensor };
  expected: Record<(typeof METRIC_NAMES)[number], number | null>;
  tolerance?: { abs: number };
}

interface MetricsFile {
  cases: MetricsCase[];
  tolerance: { abs: number };
}

function mask(t: GoldenTensor): Uint8Array {
  return Uint8Array.from(t.data, (v) => (v !== 0 ? 1 : 0));
}

test('golden metrics match the reference implementation', { skip: skipUnlessGolden }, (t) => {
  const files = goldenFilesOfKind<MetricsFile>('metrics');
  assert.ok(files.length > 0, 'no golden file of kind metrics');
  let cases = 0;
  for (const { file, doc } of files) {
    doc.cases.forEach((c, index) => {
      const where = `${file} case ${index}`;
      assert.deepEqual(c.inputs.pred.shape, c.inputs.label.shape, `${where}: pred/label shapes differ`);
      const actual = caseMetrics(mask(c.inputs.pred), mask(c.inputs.label), shape3(c.inputs.pred.shape));
      const abs = c.tolerance?.abs ?? doc.tolerance.abs;
      for (const name of METRIC_NAMES) {
        const expected = c.expected[name];
        // A missing distance (null / NaN in the fixture) must be NaN here too.
        if (expected === null || Number.isNaN(expected)) {
          assert.ok(Number.isNaN(actual[name]), `${where}: ${name} = ${actual[name]}, expected NaN`);
          continue;
        }
        const diff = Math.abs(actual[name] - expected);
        assert.ok(diff <= abs, `${where}: ${name} = ${actual[name]}, expected ${expected} (|diff| ${diff} > ${abs})`);
      }
      cases++;
    });
  }
  reportChecked(t, 'metrics', files.length, cases);
});
