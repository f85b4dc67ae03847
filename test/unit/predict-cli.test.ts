/**
 * `tracoco import-torch` and `tracoco predict` through the built CLI: the golden `.pth` imported,
 * then predicted on the golden eval input written as NIfTI, reproduces softmax of the golden
 * logits; bad flags and files fail with a message naming them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { runCli } from '../support/cli.js';
import { goldenDir, tempDir } from '../support/env.js';
import { goldenFilesOfKind, skipUnlessGolden, type GoldenTensor } from '../support/golden.js';
import { readNifti, writeNifti } from '../../src/shared/io/index.js';
import { spacingAffine } from '../../src/shared/volume.js';

interface ForwardFile {
  checkpoint: string;
  model: { n_classes: number; n_filters: number };
  inputs: { x: GoldenTensor };
  expected: { logits: GoldenTensor };
}

const dir = tempDir('tracoco-predict-');
after(() => dir.cleanup());

/** Softmax over classes of NCDHW logits (N = 1), as [x, y, z, class]. */
function softmaxXyzc(logits: GoldenTensor): Float32Array {
  const [, classes, ...spatial] = logits.shape as [number, number, number, number, number];
  const voxels = spatial[0] * spatial[1] * spatial[2];
  const out = new Float32Array(voxels * classes);
  for (let v = 0; v < voxels; v++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits.data[c * voxels + v]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits.data[c * voxels + v]! - max);
    for (let c = 0; c < classes; c++) out[v * classes + c] = Math.exp(logits.data[c * voxels + v]! - max) / sum;
  }
  return out;
}

test('predict --help lists its flags', () => {
  const r = runCli(['predict', '--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const flag of ['--checkpoint', '--input', '--output', '--probabilities', '--patch', '--stride-xy', '--stride-z', '--normalize', '--backend', '--batch']) {
    assert.match(r.stdout, new RegExp(flag));
  }
});

test('import-torch --help lists its flags', () => {
  const r = runCli(['import-torch', '--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const flag of ['--input', '--output', '--n-filters', '--classes', '--normalization', '--in-channels']) assert.match(r.stdout, new RegExp(flag));
});

test('predict rejects a patch that is not a multiple of 16, naming the flag', () => {
  const r = runCli(['predict', '--checkpoint', 'm.safetensors', '--input', 'x.nii.gz', '--output', 'y.nii.gz', '--patch', '30x32x16']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /flag --patch.*multiple of 16/);
});

test('predict rejects a bad --normalize value and a non-NIfTI output name', () => {
  const bad = runCli(['predict', '--checkpoint', 'm', '--input', 'x', '--output', 'y.nii.gz', '--normalize', 'zscore']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--normalize/);
  const out = runCli(['predict', '--checkpoint', 'm', '--input', 'x', '--output', 'y.png']);
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /flag --output/);
});

test('predict names a missing or corrupt checkpoint file', () => {
  const missing = join(dir.path, 'missing.safetensors');
  const r = runCli(['predict', '--checkpoint', missing, '--input', 'x.nii.gz', '--output', join(dir.path, 'y.nii.gz'), '--backend', 'cpu']);
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.includes(missing), r.stderr);
  const corrupt = join(dir.path, 'corrupt.safetensors');
  writeFileSync(corrupt, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
  const c = runCli(['predict', '--checkpoint', corrupt, '--input', 'x.nii.gz', '--output', join(dir.path, 'y.nii.gz'), '--backend', 'cpu']);
  assert.notEqual(c.status, 0);
  assert.match(c.stderr, /corrupt\.safetensors: truncated/);
});

test('import-torch names a file that is not a PyTorch checkpoint', () => {
  const bogus = join(dir.path, 'bogus.pth');
  writeFileSync(bogus, 'not a zip');
  const r = runCli(['import-torch', '--input', bogus, '--output', join(dir.path, 'b.safetensors')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bogus\.pth: not a PyTorch checkpoint/);
});

let golden: { file: string; doc: ForwardFile } | undefined;
before(() => {
  golden = goldenFilesOfKind<ForwardFile>('vnet_forward')[0];
});

test('import-torch + predict --probabilities reproduce softmax of the golden logits', { skip: skipUnlessGolden }, async () => {
  assert.ok(golden, 'no vnet_forward golden file');
  const { doc } = golden;
  const checkpoint = join(dir.path, 'golden.safetensors');
  const imported = runCli(['import-torch', '--input', join(goldenDir, doc.checkpoint), '--output', checkpoint, '--json']);
  assert.equal(imported.status, 0, imported.stderr);
  const report = JSON.parse(imported.stdout) as { n_filters: number; n_classes: number; normalization: string };
  assert.deepEqual([report.n_filters, report.n_classes, report.normalization], [doc.model.n_filters, doc.model.n_classes, 'batchnorm']);

  const [n, c, x, y, z] = doc.inputs.x.shape as [number, number, number, number, number];
  assert.equal(n * c, 1, 'golden eval input is one single-channel volume');
  const input = join(dir.path, 'input.nii.gz');
  const affine = [
    [0.5, 0, 0, -3],
    [0, 0.75, 0, 2],
    [0, 0, 2, 1],
    [0, 0, 0, 1],
  ];
  await writeNifti(input, { data: Float32Array.from(doc.inputs.x.data), shape: [x, y, z], spacing: [0.5, 0.75, 2], affine });

  const output = join(dir.path, 'probs.nii.gz');
  const args = ['predict', '--checkpoint', checkpoint, '--input', input, '--output', output, '--probabilities', '--normalize', 'none', '--patch', `${x}x${y}x${z}`, '--backend', 'cpu', '--json'];
  const r = runCli(args);
  assert.equal(r.status, 0, r.stderr);
  const probs = await readNifti(output);
  assert.deepEqual(probs.shape, [x, y, z, doc.model.n_classes]);
  assert.deepEqual(probs.affine.map((row) => row.map((v) => Math.round(v * 1e4) / 1e4)), affine);
  const expected = softmaxXyzc(doc.expected.logits);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((probs.data[i] as number) - expected[i]!));
  assert.ok(worst <= 1e-4, `max |probability - softmax(golden logits)| = ${worst}`);

  // Labels: argmax of the same probabilities, uint8, same geometry.
  const labelsOut = join(dir.path, 'labels.nii.gz');
  const l = runCli(['predict', '--checkpoint', checkpoint, '--input', input, '--output', labelsOut, '--normalize', 'none', '--patch', `${x}x${y}x${z}`, '--backend', 'cpu']);
  assert.equal(l.status, 0, l.stderr);
  const labels = await readNifti(labelsOut);
  assert.equal(labels.datatype, 'uint8');
  assert.deepEqual(labels.shape, [x, y, z]);
  const classes = doc.model.n_classes;
  let mismatches = 0;
  for (let v = 0; v < labels.data.length; v++) {
    const p = expected.subarray(v * classes, (v + 1) * classes);
    const best = p.indexOf(Math.max(...p));
    // Ties within the tolerance may go either way.
    if (labels.data[v] !== best && Math.abs(p[best]! - p[labels.data[v] as number]!) > 1e-4) mismatches++;
  }
  assert.equal(mismatches, 0);
  assert.ok(existsSync(labelsOut));

  // --scale 0.5: the model sees the image at half size, the output stays on the stored grid.
  const scaledOut = join(dir.path, 'scaled.nii.gz');
  const sc = runCli(['predict', '--checkpoint', checkpoint, '--input', input, '--output', scaledOut, '--probabilities', '--normalize', 'none', '--patch', '16x16x16', '--scale', '0.5', '--backend', 'cpu']);
  assert.equal(sc.status, 0, sc.stderr);
  const scaled = await readNifti(scaledOut);
  assert.deepEqual(scaled.shape, [x, y, z, classes]);
  for (let v = 0; v < x * y * z; v++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += scaled.data[v * classes + k] as number;
    assert.ok(Math.abs(sum - 1) < 1e-4, 'resampled probabilities still sum to one');
  }
  assert.notDeepEqual(Array.from(scaled.data.slice(0, 64)), Array.from(probs.data.slice(0, 64)), 'a different (half-size) input');
});

test('import-torch with an architecture flag that contradicts the weights names the first mismatching key', { skip: skipUnlessGolden }, () => {
  assert.ok(golden, 'no vnet_forward golden file');
  const r = runCli(['import-torch', '--input', join(goldenDir, golden.doc.checkpoint), '--output', join(dir.path, 'x.safetensors'), '--n-filters', '8']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /vnet4_bn_seed20261126\.pth, field 'block_one\.conv\.0\.weight': shape \[4, 1, 3, 3, 3\] does not match the model's \[8, 1, 3, 3, 3\]/);
  const norm = runCli(['import-torch', '--input', join(goldenDir, golden.doc.checkpoint), '--output', join(dir.path, 'x.safetensors'), '--normalization', 'groupnorm']);
  assert.notEqual(norm.status, 0);
  assert.match(norm.stderr, /field 'filters': groupnorm uses 16 groups|unexpected key/);
  assert.ok(!existsSync(join(dir.path, 'x.safetensors')), 'nothing written on failure');
});

test('predict pads a volume smaller than the patch and keeps its shape', { skip: skipUnlessGolden }, async () => {
  const checkpoint = join(dir.path, 'golden.safetensors');
  assert.ok(existsSync(checkpoint), 'runs after the import test');
  const input = join(dir.path, 'small.nii');
  const shape: [number, number, number] = [20, 9, 7];
  const data = Float32Array.from({ length: 20 * 9 * 7 }, (_, i) => Math.sin(i / 5) * 100 + 50);
  await writeNifti(input, { data, shape, spacing: [1, 1, 1], affine: spacingAffine([1, 1, 1]) });
  const output = join(dir.path, 'small-labels.nii.gz');
  const r = runCli(['predict', '--checkpoint', checkpoint, '--input', input, '--output', output, '--patch', '32x16x16', '--stride-xy', '8', '--stride-z', '4', '--batch', '2', '--backend', 'cpu', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { shape: number[]; voxels: number[] };
  assert.deepEqual(report.shape, shape);
  assert.equal(report.voxels.reduce((a, b) => a + b, 0), 20 * 9 * 7);
  const labels = await readNifti(output);
  assert.deepEqual(labels.shape, shape);
});
