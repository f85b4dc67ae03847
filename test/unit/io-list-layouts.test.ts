/**
 * The list-based layouts beyond Left Atrium and Pancreas: BraTS19 (`ROOT/<id>.h5`, `val.list` as
 * the eval split) and ACDC (NIfTI pairs in patient folders or HDF5 volumes stored [Z, Y, X]),
 * written here with the project's own writers (h5wasm directly for malformed files), and one ACDC
 * case as the reference preprocessing leaves it (nibabel NIfTI, h5py [Z, Y, X]) through
 * /usr/bin/python3, skipped when it lacks h5py or nibabel except in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawH5 } from '../support/volumes.js';
import { openDataset, reverseAxes, writeHdf5Case, writeNifti } from '../../src/shared/io/index.js';
import { spacingAffine, type Shape3, type Vec3 } from '../../src/shared/volume.js';
import { rejectsNaming, throwsNaming } from '../support/assertions.js';
import { tempDir } from '../support/env.js';

function ramp(shape: Shape3, offset = 0): Float32Array {
  return Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => i * 0.5 + offset);
}

function classes(shape: Shape3, n: number): Uint8Array {
  return Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => (i * 7) % n);
}

test('BraTS: ROOT/<id>.h5 with train/val/test lists, read as stored', async () => {
  const dir = tempDir();
  try {
    const shape: Shape3 = [3, 5, 4]; // smallest first axis: not an ACDC stack, so not reordered
    await writeHdf5Case(join(dir.path, 'BraTS19_2013_0_1.h5'), { image: ramp(shape), label: classes(shape, 2), shape });
    await writeHdf5Case(join(dir.path, 'BraTS19_CBICA_AAB_1.h5'), { image: ramp(shape, 1), label: classes(shape, 2), shape });
    writeFileSync(join(dir.path, 'train.list'), 'BraTS19_2013_0_1\n');
    writeFileSync(join(dir.path, 'val.list'), 'BraTS19_CBICA_AAB_1\n');
    writeFileSync(join(dir.path, 'test.list'), 'BraTS19_CBICA_AAB_1\r\n');
    const ds = openDataset(dir.path);
    assert.equal(ds.layout, 'hdf5');
    assert.equal(ds.classes, null);
    assert.deepEqual(ds.ids('train'), ['BraTS19_2013_0_1']);
    assert.deepEqual(ds.ids('eval'), ['BraTS19_CBICA_AAB_1'], 'val.list is the eval split');
    const c = await ds.load('BraTS19_CBICA_AAB_1', { classes: 2 });
    assert.deepEqual(c.shape, shape);
    assert.deepEqual(c.image, ramp(shape, 1));
    assert.deepEqual(c.label, classes(shape, 2));
  } finally {
    dir.cleanup();
  }
});

test('BraTS errors name the file: no case file, no image dataset, label >= classes, image/label shapes', async () => {
  const dir = tempDir();
  try {
    const shape: Shape3 = [4, 4, 3];
    writeFileSync(join(dir.path, 'train.list'), 'ghost\n');
    throwsNaming(() => openDataset(dir.path), join(dir.path, 'ghost', 'mri_norm2.h5'), /ghost\.h5/);

    await rawH5(join(dir.path, 'noimage.h5'), [{ name: 'label', data: classes(shape, 2), shape: [...shape], dtype: '<B' }]);
    await writeHdf5Case(join(dir.path, 'three.h5'), { image: ramp(shape), label: classes(shape, 3), shape });
    await rawH5(join(dir.path, 'mismatch.h5'), [
      { name: 'image', data: ramp(shape), shape: [...shape], dtype: '<f' },
      { name: 'label', data: classes([4, 4, 2], 2), shape: [4, 4, 2], dtype: '<B' },
    ]);
    writeFileSync(join(dir.path, 'train.list'), 'noimage\nthree\nmismatch\n');
    const ds = openDataset(dir.path);
    await rejectsNaming(ds.load('noimage'), join(dir.path, 'noimage.h5'), /no 'image' dataset \(found: label\)/);
    await rejectsNaming(ds.load('three', { classes: 2 }), join(dir.path, 'three.h5'), /dataset 'label'.*is 2, outside 0\.\.1/);
    await rejectsNaming(ds.load('mismatch'), join(dir.path, 'mismatch.h5'), /label shape 4x4x2 does not match image shape 4x4x3/);
  } finally {
    dir.cleanup();
  }
});

test('ACDC HDF5: [Z, Y, X] volumes come out [X, Y, Z] with 4 declared classes; [X, Y, Z] ones as stored', async () => {
  const dir = tempDir();
  try {
    const stored: Shape3 = [3, 6, 5]; // 3 short-axis slices first, as SimpleITK writes them
    const image = ramp(stored);
    const label = classes(stored, 4);
    await writeHdf5Case(join(dir.path, 'patient001_frame01.h5'), { image, label, shape: stored });
    const xyz: Shape3 = [5, 6, 3];
    await writeHdf5Case(join(dir.path, 'patient001_frame12.h5'), { image: ramp(xyz, 2), label: classes(xyz, 4), shape: xyz });
    writeFileSync(join(dir.path, 'train.list'), 'patient001\n');
    writeFileSync(join(dir.path, 'test.list'), 'patient001_frame12\n');
    const ds = openDataset(dir.path);
    assert.equal(ds.layout, 'acdc');
    assert.equal(ds.classes, 4);
    assert.deepEqual(ds.ids('train'), ['patient001_frame01', 'patient001_frame12'], 'a patient id lists its frames');
    const c = await ds.load('patient001_frame01');
    assert.deepEqual(c.shape, [5, 6, 3]);
    for (let x = 0; x < 5; x++) for (let y = 0; y < 6; y++) for (let z = 0; z < 3; z++) {
      assert.equal(c.image[(x * 6 + y) * 3 + z], image[(z * 6 + y) * 5 + x]);
      assert.equal(c.label![(x * 6 + y) * 3 + z], label[(z * 6 + y) * 5 + x]);
    }
    assert.deepEqual(reverseAxes(c.image, c.shape), image, 'reversing twice is the identity');
    const kept = await ds.load('patient001_frame12');
    assert.deepEqual(kept.shape, xyz);
    assert.deepEqual(kept.image, ramp(xyz, 2));
  } finally {
    dir.cleanup();
  }
});

test('ACDC HDF5 errors name the file: label value 4, no label dataset, slices on the middle axis', async () => {
  const dir = tempDir();
  try {
    const shape: Shape3 = [3, 6, 5];
    const label = classes(shape, 4);
    label[17] = 4;
    await writeHdf5Case(join(dir.path, 'patient002_frame01.h5'), { image: ramp(shape), label, shape });
    await writeHdf5Case(join(dir.path, 'patient003_frame01.h5'), { image: ramp(shape), label: null, shape });
    const middle: Shape3 = [6, 3, 5];
    await writeHdf5Case(join(dir.path, 'patient004_frame01.h5'), { image: ramp(middle), label: classes(middle, 4), shape: middle });
    writeFileSync(join(dir.path, 'train.list'), 'patient002_frame01\npatient003_frame01\npatient004_frame01\n');
    const ds = openDataset(dir.path);
    const file = (p: string) => join(dir.path, `${p}_frame01.h5`);
    await rejectsNaming(ds.load('patient002_frame01'), file('patient002'), /dataset 'label'.*is 4, outside 0\.\.3 \(4 classes\)/);
    await rejectsNaming(ds.load('patient003_frame01'), file('patient003'), /no 'label' dataset/);
    await rejectsNaming(ds.load('patient004_frame01'), file('patient004'), /fewest voxels on the first or last axis, got shape 6x3x5/);
  } finally {
    dir.cleanup();
  }
});

/** An ACDC patient folder: `<patient>_frameNN.nii.gz` + `_gt`, plus the files ACDC ships beside them. */
async function acdcPatient(root: string, patient: string, frames: string[], shape: Shape3, override: { label?: Uint8Array; labelShape?: Shape3 } = {}) {
  const dir = join(root, patient);
  mkdirSync(dir, { recursive: true });
  const spacing: Vec3 = [1.5, 1.5, 10];
  const geometry = { shape, spacing, affine: spacingAffine(spacing) };
  writeFileSync(join(dir, 'Info.cfg'), 'ED: 1\nES: 12\n');
  await writeNifti(join(dir, `${patient}_4d.nii.gz`), { data: ramp(shape), ...geometry });
  for (const [k, frame] of frames.entries()) {
    await writeNifti(join(dir, `${patient}_${frame}.nii.gz`), { data: ramp(shape, k), ...geometry });
    const labelShape = override.labelShape ?? shape;
    const label = override.label ?? classes(labelShape, 4);
    await writeNifti(join(dir, `${patient}_${frame}_gt.nii.gz`), { ...geometry, shape: labelShape, data: label });
  }
}

test('ACDC NIfTI: patient folders with _gt pairs, patient ids expand to their labelled frames, spacing kept', async () => {
  const dir = tempDir();
  try {
    const shape: Shape3 = [6, 5, 3];
    await acdcPatient(dir.path, 'patient010', ['frame01', 'frame13'], shape);
    await acdcPatient(dir.path, 'patient011', ['frame01'], shape);
    writeFileSync(join(dir.path, 'train.list'), 'patient010\n');
    writeFileSync(join(dir.path, 'eval.list'), 'patient011_frame01\n');
    const ds = openDataset(dir.path);
    assert.equal(ds.layout, 'acdc');
    assert.deepEqual(ds.ids('train'), ['patient010_frame01', 'patient010_frame13']);
    assert.deepEqual(ds.ids('eval'), ['patient011_frame01']);
    const c = await ds.load('patient010_frame13');
    assert.deepEqual(c.shape, shape);
    assert.deepEqual(c.spacing, [1.5, 1.5, 10]);
    assert.deepEqual(c.image, ramp(shape, 1));
    assert.deepEqual(c.label, classes(shape, 4));
  } finally {
    dir.cleanup();
  }
});

test('ACDC NIfTI errors name the file: missing _gt, label shape, label value, empty patient, mixed and repeated ids', async () => {
  const dir = tempDir();
  try {
    const shape: Shape3 = [6, 5, 3];
    await acdcPatient(dir.path, 'patient020', ['frame01'], shape, { labelShape: [6, 5, 2] });
    const bad = classes(shape, 4);
    bad[5] = 7;
    await acdcPatient(dir.path, 'patient021', ['frame01'], shape, { label: bad });
    mkdirSync(join(dir.path, 'patient022'));
    await writeNifti(join(dir.path, 'patient022', 'patient022_frame01.nii.gz'), { data: ramp(shape), shape, spacing: [1, 1, 1], affine: spacingAffine([1, 1, 1]) });
    const list = join(dir.path, 'train.list');

    writeFileSync(list, 'patient022_frame01\n');
    throwsNaming(() => openDataset(dir.path), join(dir.path, 'patient022', 'patient022_frame01.nii.gz'), /no label file \(looked for .*patient022_frame01_gt\.nii\.gz/);
    writeFileSync(list, 'patient022\n');
    throwsNaming(() => openDataset(dir.path), join(dir.path, 'patient022'), /patient 'patient022' listed in .*train\.list has no labelled frame/);
    writeFileSync(list, 'patient020\npatient020_frame01\n');
    throwsNaming(() => openDataset(dir.path), list, /case 'patient020_frame01' is listed twice/);
    writeFileSync(list, 'patient020\nBraTS19_2013_0_1\n');
    throwsNaming(() => openDataset(dir.path), list, /'BraTS19_2013_0_1' does not have the ACDC naming/);

    writeFileSync(list, 'patient020\npatient021\n');
    const ds = openDataset(dir.path);
    await rejectsNaming(ds.load('patient020_frame01'), join(dir.path, 'patient020', 'patient020_frame01_gt.nii.gz'), /label shape 6x5x2 does not match image shape 6x5x3/);
    await rejectsNaming(ds.load('patient021_frame01'), join(dir.path, 'patient021', 'patient021_frame01_gt.nii.gz'), /is 7, outside 0\.\.3/);
  } finally {
    dir.cleanup();
  }
});

const PYTHON = '/usr/bin/python3';

function skipUnlessPython(): string | false {
  try {
    execFileSync(PYTHON, ['-c', 'import h5py, nibabel, numpy'], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI) throw new Error(`${PYTHON} cannot import h5py, nibabel and numpy, which CI installs`);
    return `${PYTHON} cannot import h5py, nibabel and numpy`;
  }
}

// The same frame as the challenge's NIfTI pair and as the reference preprocessing's HDF5 volume
// (SimpleITK's GetArrayFromImage reverses the axes, which numpy's .T does too).
const ACDC_BY_PYTHON = `
import sys, h5py, nibabel as nib, numpy as np
root = sys.argv[1]
image = np.arange(7 * 6 * 4, dtype=np.float32).reshape(7, 6, 4) * 0.25
label = (np.arange(7 * 6 * 4).reshape(7, 6, 4) % 4).astype(np.uint8)
affine = np.diag([1.25, 1.25, 8.0, 1.0])
nib.save(nib.Nifti1Image(image, affine), f'{root}/nifti/patient005/patient005_frame01.nii.gz')
nib.save(nib.Nifti1Image(label, affine), f'{root}/nifti/patient005/patient005_frame01_gt.nii.gz')
with h5py.File(f'{root}/h5/patient005_frame01.h5', 'w') as f:
    f.create_dataset('image', data=image.T, compression='gzip')
    f.create_dataset('label', data=label.T, compression='gzip')
`;

test('ACDC by the reference tools: the NIfTI pair and the SimpleITK-ordered HDF5 volume load as the same case', { skip: skipUnlessPython() }, async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'nifti', 'patient005'), { recursive: true });
    mkdirSync(join(dir.path, 'h5'));
    execFileSync(PYTHON, ['-c', ACDC_BY_PYTHON, dir.path]);
    for (const sub of ['nifti', 'h5']) writeFileSync(join(dir.path, sub, 'test.list'), 'patient005\n');
    const fromNifti = await openDataset(join(dir.path, 'nifti')).load('patient005_frame01');
    const fromH5 = await openDataset(join(dir.path, 'h5')).load('patient005_frame01');
    assert.deepEqual(fromNifti.shape, [7, 6, 4]);
    assert.deepEqual(fromH5.shape, [7, 6, 4]);
    assert.deepEqual(fromH5.image, fromNifti.image);
    assert.deepEqual(fromH5.label, fromNifti.label);
    assert.equal(fromNifti.image[(2 * 6 + 3) * 4 + 1], ((2 * 6 + 3) * 4 + 1) * 0.25, 'voxel (2, 3, 1) as numpy wrote it');
    assert.deepEqual(fromNifti.spacing, [1.25, 1.25, 8]);
  } finally {
    dir.cleanup();
  }
});
