/**
 * The real Left Atrium sample (GUIDE §4, ../shared/data/la-sample): listing, loading, and a
 * lossless `tracoco convert` round trip .h5 -> .nii.gz -> .h5 through the built CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, readHdf5Case, readNifti } from '../../src/shared/io/index.js';
import { laSampleDir, skipUnlessExists, tempDir } from '../support/env.js';
import { runCli } from '../support/cli.js';

const skip = skipUnlessExists(laSampleDir, 'Left Atrium sample');

function bytesEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

test('openDataset lists the cases of train.list and loads them', { skip }, async () => {
  const listed = readFileSync(join(laSampleDir, 'train.list'), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  const ds = openDataset(laSampleDir);
  assert.equal(ds.layout, 'hdf5');
  assert.equal(listed.length, 3);
  assert.deepEqual(ds.ids('train'), listed);
  for (const id of ds.ids('train')) {
    const c = await ds.load(id, { classes: 2 });
    assert.equal(c.id, id);
    assert.equal(c.image.length, c.shape[0] * c.shape[1] * c.shape[2]);
    assert.ok(c.label, `${id} has a label`);
    const foreground = c.label.reduce((n, v) => n + v, 0);
    assert.ok(foreground > 0 && foreground < c.label.length, `${id} has foreground and background`);
  }
});

test('tracoco convert .h5 -> .nii.gz -> .h5 keeps every voxel', { skip }, async () => {
  const dir = tempDir();
  try {
    const id = readFileSync(join(laSampleDir, 'train.list'), 'utf8').split('\n')[0]!.trim();
    const source = join(laSampleDir, id, 'mri_norm2.h5');
    const nii = join(dir.path, `${id}.nii.gz`);
    const toNifti = runCli(['convert', '--input', source, '--output', nii, '--json']);
    assert.equal(toNifti.status, 0, toNifti.stderr);
    const report = JSON.parse(toNifti.stdout);
    const original = await readHdf5Case(source);
    assert.deepEqual(report, { input: source, output: nii, outputLabel: join(dir.path, `${id}_label.nii.gz`), shape: [...original.shape], datatype: 'float32' });

    const image = await readNifti(nii);
    assert.deepEqual(image.shape, [...original.shape]);
    assert.ok(image.data instanceof Float32Array && bytesEqual(image.data, original.image), 'NIfTI image equals the h5 image');
    const label = await readNifti(report.outputLabel);
    assert.equal(label.datatype, 'uint8');
    assert.ok(bytesEqual(label.data, original.label!), 'NIfTI label equals the h5 label');

    const back = join(dir.path, 'back.h5');
    const toHdf5 = runCli(['convert', '--input', nii, '--label', report.outputLabel, '--output', back]);
    assert.equal(toHdf5.status, 0, toHdf5.stderr);
    const roundTrip = await readHdf5Case(back);
    assert.deepEqual(roundTrip.shape, original.shape);
    assert.ok(bytesEqual(roundTrip.image, original.image), 'every image voxel survives');
    assert.ok(bytesEqual(roundTrip.label!, original.label!), 'every label voxel survives');
  } finally {
    dir.cleanup();
  }
});

test('a truncated copy of a reference (h5py-written) case is an error naming it', { skip }, async () => {
  const dir = tempDir();
  try {
    const id = readFileSync(join(laSampleDir, 'train.list'), 'utf8').split('\n')[0]!.trim();
    const truncated = join(dir.path, 'truncated.h5');
    const whole = readFileSync(join(laSampleDir, id, 'mri_norm2.h5'));
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(readHdf5Case(truncated), (err: unknown) => err instanceof Error && err.message.startsWith(`${truncated}: truncated HDF5 file`));
  } finally {
    dir.cleanup();
  }
});
