/** Golden `schedules` (GUIDE §8): the sigmoid ramp and poly learning rate at the fixture's points. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { polyLearningRate, sigmoidRampup } from '../../src/shared/losses/schedules.js';
import { compareArrays, goldenFilesOfKind, reportChecked, skipUnlessGolden } from '../support/golden.js';

interface SchedulesFile {
  sigmoid_rampup: { length: number; points: [number, number][] };
  poly_lr: { base: number; total: number; power: number; points: [number, number][] };
  tolerance: { abs: number; rel?: number };
}

test('schedules golden points', { skip: skipUnlessGolden }, (t) => {
  const files = goldenFilesOfKind<SchedulesFile>('schedules');
  assert.ok(files.length > 0, 'no schedules golden files');
  let cases = 0;
  for (const { file, doc } of files) {
    const ramp = doc.sigmoid_rampup;
    const rampActual = ramp.points.map(([it]) => sigmoidRampup(it, ramp.length));
    const rampCmp = compareArrays(rampActual, ramp.points.map(([, v]) => v), doc.tolerance);
    assert.ok(rampCmp.ok, `${file} sigmoid_rampup at iteration ${ramp.points[rampCmp.worstIndex]?.[0]}: got ${rampActual[rampCmp.worstIndex]}`);

    const poly = doc.poly_lr;
    const polyActual = poly.points.map(([it]) => polyLearningRate(poly.base, it, poly.total, poly.power));
    const polyCmp = compareArrays(polyActual, poly.points.map(([, v]) => v), doc.tolerance);
    assert.ok(polyCmp.ok, `${file} poly_lr at iteration ${poly.points[polyCmp.worstIndex]?.[0]}: got ${polyActual[polyCmp.worstIndex]}`);
    cases += ramp.points.length + poly.points.length;
  }
  reportChecked(t, 'schedules', files.length, cases);
});
