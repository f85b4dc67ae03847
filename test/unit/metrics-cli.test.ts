/** `tracoco metrics`: scoring of label maps in process, and the built CLI end to end on NIfTI files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scoreLabelMaps, type LabelMap, type MetricsOptions } from '../../src/cli/commands/metrics.js';
import { TracocoError } from '../../src/shared/errors.js';
import { writeNifti } from '../../src/shared/io/index.js';
import { caseMetrics } from '../../src/shared/metrics/index.js';
import { spacingAffine, type Shape3, type Vec3, type VoxelArray } from '../../src/shared/volume.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/env.js';

const SHAPE: Shape3 = [14, 12, 10];

/** A label map with class 1 in a ball and class 2 in a box, both placed by `shift`. */
function twoClassMap(shift: number): Uint8Array {
  const [X, Y, Z] = SHAPE;
  const map = new Uint8Array(X * Y * Z);
  for (let x = 0, i = 0; x < X; x++)
    for (let y = 0; y < Y; y++)
      for (let z = 0; z < Z; z++, i++) {
        if ((x - 5 - shift) ** 2 + (y - 5) ** 2 + (z - 5) ** 2 <= 12) map[i] = 1;
        else if (x >= 9 && y >= 8 + (shift > 0 ? 1 : 0) && z >= 6) map[i] = 2;
      }
  return map;
}

function labelMap(data: VoxelArray, shape: readonly number[] = SHAPE, spacing: Vec3 = [1, 1, 1]): LabelMap {
  return { data, shape, spacing };
}

const options = (extra: Partial<MetricsOptions> = {}): MetricsOptions => ({ pred: 'p.nii', label: 'l.nii', spacing: 'voxel', ...extra });
const binary = (map: Uint8Array, keep: (v: number) => boolean) => map.map((v) => (keep(v) ? 1 : 0));

test('without --class every value > 0 is foreground; --class N scores value == N', () => {
  const pred = twoClassMap(1);
  const label = twoClassMap(0);
  const any = scoreLabelMaps(labelMap(pred), labelMap(label), options());
  assert.deepEqual(any, caseMetrics(binary(pred, (v) => v > 0), binary(label, (v) => v > 0), SHAPE));
  const two = scoreLabelMaps(labelMap(pred), labelMap(label), options({ class: 2 }));
  assert.deepEqual(two, caseMetrics(binary(pred, (v) => v === 2), binary(label, (v) => v === 2), SHAPE));
  assert.notEqual(two.dice, any.dice);
});

test('--spacing header takes the label header voxel size; voxel ignores it', () => {
  const pred = labelMap(twoClassMap(1), SHAPE, [3, 3, 3]);
  const label = labelMap(twoClassMap(0), SHAPE, [2, 2, 2]);
  const voxel = scoreLabelMaps(pred, label, options());
  const header = scoreLabelMaps(pred, label, options({ spacing: 'header' }));
  assert.ok(Math.abs(header.asd - 2 * voxel.asd) < 1e-9);
  assert.ok(Math.abs(header.hd95 - 2 * voxel.hd95) < 1e-9);
  assert.equal(header.dice, voxel.dice);
});

test('bad label maps are errors naming the file', () => {
  const good = labelMap(twoClassMap(0));
  const mismatch = labelMap(new Uint8Array(14 * 12 * 11), [14, 12, 11]);
  assert.throws(
    () => scoreLabelMaps(mismatch, good, options()),
    (e: unknown) => e instanceof TracocoError && e.message.includes('p.nii') && e.message.includes('l.nii') && e.message.includes('14x12x11'),
  );
  const fourD = labelMap(new Uint8Array(14 * 12 * 10 * 2), [14, 12, 10, 2]);
  assert.throws(() => scoreLabelMaps(good, fourD, options()), (e: unknown) => e instanceof TracocoError && /l\.nii.*3D/.test(e.message));
  const probabilities = labelMap(new Float32Array(14 * 12 * 10).fill(0.25));
  assert.throws(() => scoreLabelMaps(probabilities, good, options()), (e: unknown) => e instanceof TracocoError && /p\.nii.*integer/.test(e.message));
  const noSpacing = labelMap(twoClassMap(0), SHAPE, [1, 0, 1]);
  assert.throws(() => scoreLabelMaps(good, noSpacing, options({ spacing: 'header' })), (e: unknown) => e instanceof TracocoError && /l\.nii/.test(e.message));
});

test('tracoco metrics reads NIfTI files and prints JSON or an aligned table', async () => {
  const dir = tempDir();
  try {
    const predFile = join(dir.path, 'pred.nii.gz');
    const labelFile = join(dir.path, 'label.nii');
    const emptyFile = join(dir.path, 'empty.nii');
    const spacing: Vec3 = [0.5, 0.5, 2];
    const pred = twoClassMap(1);
    const label = twoClassMap(0);
    await writeNifti(predFile, { data: pred, shape: SHAPE, spacing, affine: spacingAffine(spacing) });
    await writeNifti(labelFile, { data: label, shape: SHAPE, spacing, affine: spacingAffine(spacing) });
    await writeNifti(emptyFile, { data: new Uint8Array(pred.length), shape: SHAPE, spacing, affine: spacingAffine(spacing) });

    const json = runCli(['metrics', '--pred', predFile, '--label', labelFile, '--json']);
    assert.equal(json.status, 0, json.stderr);
    const expected = caseMetrics(binary(pred, (v) => v > 0), binary(label, (v) => v > 0), SHAPE);
    assert.deepEqual(JSON.parse(json.stdout), { pred: predFile, label: labelFile, ...expected });

    const header = runCli(['metrics', '--pred', predFile, '--label', labelFile, '--json', '--spacing', 'header', '--class', '1']);
    assert.equal(header.status, 0, header.stderr);
    const scaled = caseMetrics(binary(pred, (v) => v === 1), binary(label, (v) => v === 1), SHAPE, spacing);
    assert.ok(Math.abs(JSON.parse(header.stdout).asd - scaled.asd) < 1e-12);

    const text = runCli(['metrics', '--pred', predFile, '--label', labelFile]);
    assert.equal(text.status, 0, text.stderr);
    const rows = text.stdout.trimEnd().split('\n');
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ['pred', 'label', 'dice', 'jaccard', 'hd95', 'asd']);
    assert.equal(new Set(rows.map((r) => r.search(/(?<=\s)\S/))).size, 1, 'values start in one column');
    assert.ok(rows[2]!.endsWith(expected.dice.toFixed(4)));

    const noLabel = runCli(['metrics', '--pred', predFile, '--label', emptyFile, '--json']);
    assert.equal(noLabel.status, 0, noLabel.stderr);
    assert.deepEqual(JSON.parse(noLabel.stdout), { pred: predFile, label: emptyFile, dice: 0, jaccard: 0, hd95: null, asd: null });

    const missing = runCli(['metrics', '--pred', join(dir.path, 'nope.nii'), '--label', labelFile]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /nope\.nii/);
    const badFlag = runCli(['metrics', '--pred', predFile, '--label', labelFile, '--spacing', 'mm']);
    assert.notEqual(badFlag.status, 0);
    assert.match(badFlag.stderr, /--spacing/);
    const help = runCli(['metrics', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--class/);
  } finally {
    dir.cleanup();
  }
});
