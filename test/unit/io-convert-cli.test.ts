/** `tracoco convert` through the built CLI (run `npx tsc -p .` first): outputs, flags and bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHdf5Case, readNifti, writeHdf5Case, writeNifti } from '../../src/shared/io/index.js';
import { spacingAffine } from '../../src/shared/volume.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/env.js';

const SHAPE = [6, 5, 4] as const;
const image = Float32Array.from({ length: 120 }, (_, i) => Math.sin(i) * 3);
const label = Uint8Array.from({ length: 120 }, (_, i) => (i % 7 === 0 ? 1 : 0));
const affine = [[0, -1.5, 0, 3], [0.7, 0, 0, -4], [0, 0, 2, 1], [0, 0, 0, 1]];

function assertFailsNaming(args: string[], file: string, reason: RegExp): void {
  const r = runCli(args);
  assert.notEqual(r.status, 0, `expected failure for ${args.join(' ')}`);
  assert.ok(r.stderr.includes(file), `stderr names ${file}: ${r.stderr}`);
  assert.match(r.stderr, reason);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('convert --help exits 0 and lists the flags', () => {
  const r = runCli(['convert', '--help']);
  assert.equal(r.status, 0);
  for (const flag of ['--input', '--output', '--label', '--output-label', '--json']) assert.ok(r.stdout.includes(flag), flag);
});

test('NIfTI image + label -> .h5 and back, with a custom --output-label', async () => {
  const dir = tempDir();
  try {
    const img = join(dir.path, 'img.nii');
    const lab = join(dir.path, 'lab.nii.gz');
    await writeNifti(img, { data: Int16Array.from(image, (v) => Math.round(v * 100)), shape: SHAPE, spacing: [1, 1, 1], affine });
    await writeNifti(lab, { data: label, shape: SHAPE, spacing: [1, 1, 1], affine });
    const h5 = join(dir.path, 'case.h5');
    const r = runCli(['convert', '--input', img, '--label', lab, '--output', h5, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { input: img, label: lab, output: h5, shape: [...SHAPE], datatype: 'int16' });
    const c = await readHdf5Case(h5);
    assert.deepEqual(c.image, Float32Array.from(image, (v) => Math.round(v * 100)));
    assert.deepEqual(c.label, label);

    const out = join(dir.path, 'out.nii');
    const outLabel = join(dir.path, 'seg.nii.gz');
    const back = runCli(['convert', '--input', h5, '--output', out, '--output-label', outLabel]);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stdout, /converted/);
    const vol = await readNifti(out);
    assert.deepEqual(vol.affine, spacingAffine([1, 1, 1]), 'HDF5 has no geometry: identity affine');
    assert.deepEqual(vol.data, c.image);
    assert.deepEqual((await readNifti(outLabel)).data, label);
  } finally {
    dir.cleanup();
  }
});

test('an .h5 without label writes only the image', async () => {
  const dir = tempDir();
  try {
    const h5 = join(dir.path, 'nolabel.h5');
    await writeHdf5Case(h5, { image, label: null, shape: SHAPE });
    const out = join(dir.path, 'img.nii.gz');
    const r = runCli(['convert', '--input', h5, '--output', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).outputLabel, undefined);
    assert.ok(existsSync(out));
    assert.ok(!existsSync(join(dir.path, 'img_label.nii.gz')));
    assertFailsNaming(['convert', '--input', h5, '--output', out, '--output-label', join(dir.path, 'l.nii')], h5, /no 'label' dataset/);
  } finally {
    dir.cleanup();
  }
});

test('bad input: unknown extensions, missing files, mismatched shapes, same-format pairs, 4D images', async () => {
  const dir = tempDir();
  try {
    const img = join(dir.path, 'img.nii.gz');
    await writeNifti(img, { data: image, shape: SHAPE, spacing: [1, 1, 1], affine });
    const small = join(dir.path, 'small.nii.gz');
    await writeNifti(small, { data: new Uint8Array(60), shape: [6, 5, 2], spacing: [1, 1, 1], affine });
    const prob = join(dir.path, 'prob.nii.gz');
    await writeNifti(prob, { data: new Float32Array(240), shape: [...SHAPE, 2], spacing: [1, 1, 1], affine });
    const h5 = join(dir.path, 'case.h5');
    const text = join(dir.path, 'case.txt');
    writeFileSync(text, 'x');

    assertFailsNaming(['convert', '--input', text, '--output', h5], text, /unknown file type/);
    assertFailsNaming(['convert', '--input', img, '--output', join(dir.path, 'x.mha')], join(dir.path, 'x.mha'), /unknown file type/);
    assertFailsNaming(['convert', '--input', join(dir.path, 'missing.h5'), '--output', img], join(dir.path, 'missing.h5'), /not found/);
    assertFailsNaming(['convert', '--input', join(dir.path, 'missing.nii'), '--output', h5], join(dir.path, 'missing.nii'), /not found/);
    assertFailsNaming(['convert', '--input', img, '--label', small, '--output', h5], small, /label shape 6x5x2 does not match image shape 6x5x4/);
    assertFailsNaming(['convert', '--input', img, '--output', join(dir.path, 'copy.nii')], join(dir.path, 'copy.nii'), /both files are NIfTI/);
    assertFailsNaming(['convert', '--input', prob, '--output', h5], prob, /expected a 3D image/);
    assert.ok(!existsSync(h5), 'failed conversions write nothing');
    const missingFlag = runCli(['convert', '--input', img]);
    assert.notEqual(missingFlag.status, 0);
    assert.match(missingFlag.stderr, /--output/);
  } finally {
    dir.cleanup();
  }
});
