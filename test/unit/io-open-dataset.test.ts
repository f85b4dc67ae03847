import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, writeHdf5Case, writeMsdDatasetJson, writeNifti } from '../../src/shared/io/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { spacingAffine, type Shape3, type Vec3 } from '../../src/shared/volume.js';
import { tempDir } from '../support/env.js';

const SHAPE: Shape3 = [5, 4, 3];
const COUNT = 60;

function isTracocoErrorNaming(file: string, reason: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TracocoError, `expected a TracocoError, got ${String(err)}`);
    assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
    assert.match(err.message, reason);
    return true;
  };
}

function ramp(offset: number): Float32Array {
  return Float32Array.from({ length: COUNT }, (_, i) => i * 0.25 + offset);
}

function labels(max: number): Uint8Array {
  return Uint8Array.from({ length: COUNT }, (_, i) => i % (max + 1));
}

test('reference HDF5 layout: splits from the lists, Left Atrium and Pancreas file names', async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'caseA'));
    await writeHdf5Case(join(dir.path, 'caseA', 'mri_norm2.h5'), { image: ramp(0), label: labels(1), shape: SHAPE });
    await writeHdf5Case(join(dir.path, 'caseB_norm.h5'), { image: ramp(1), label: labels(1), shape: SHAPE });
    writeFileSync(join(dir.path, 'train.list'), 'caseA\ncaseB\n');
    writeFileSync(join(dir.path, 'test.list'), 'caseB\n');
    const ds = openDataset(dir.path);
    assert.equal(ds.layout, 'hdf5');
    assert.deepEqual(ds.ids('train'), ['caseA', 'caseB']);
    assert.deepEqual(ds.ids('test'), ['caseB']);
    assert.equal(ds.hasSplit('eval'), false);
    assert.throws(() => ds.ids('eval'), isTracocoErrorNaming(join(dir.path, 'eval.list'), /not found/));
    const b = await ds.load('caseB', { classes: 2 });
    assert.deepEqual(b.shape, SHAPE);
    assert.deepEqual(b.image, ramp(1));
    assert.deepEqual(b.label, labels(1));
    assert.deepEqual(b.spacing, [1, 1, 1]);
    await assert.rejects(ds.load('caseA', { classes: 1 }), isTracocoErrorNaming(join(dir.path, 'caseA', 'mri_norm2.h5'), /outside 0\.\.0/));
    await assert.rejects(ds.load('nobody'), isTracocoErrorNaming(dir.path, /unknown case id 'nobody'/));
  } finally {
    dir.cleanup();
  }
});

test('HDF5 layout errors name the file: missing case file, empty list, missing root, no layout', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'train.list'), 'ghost\n');
    assert.throws(() => openDataset(dir.path), isTracocoErrorNaming(join(dir.path, 'ghost', 'mri_norm2.h5'), /case 'ghost' listed in .*train\.list has no file/));
    writeFileSync(join(dir.path, 'train.list'), '\n\n');
    assert.throws(() => openDataset(dir.path), isTracocoErrorNaming(join(dir.path, 'train.list'), /empty/));
    const missingRoot = join(dir.path, 'nowhere');
    assert.throws(() => openDataset(missingRoot), isTracocoErrorNaming(missingRoot, /not found/));
    const bare = join(dir.path, 'bare');
    mkdirSync(bare);
    assert.throws(() => openDataset(bare), isTracocoErrorNaming(bare, /no dataset\.json and no case list/));
  } finally {
    dir.cleanup();
  }
});

/** An MSD dataset of NIfTI files; `image`/`label` override a case's volumes. */
async function msdDataset(root: string, override: { image?: Float32Array; label?: Uint8Array; labelShape?: number[]; validation?: boolean } = {}): Promise<void> {
  for (const sub of ['imagesTr', 'labelsTr', 'imagesTs']) mkdirSync(join(root, sub));
  const spacing: Vec3 = [0.5, 0.75, 2];
  const geometry = { shape: SHAPE, spacing, affine: spacingAffine(spacing) };
  await writeNifti(join(root, 'imagesTr', 'm_000.nii.gz'), { data: override.image ?? ramp(0), ...geometry });
  const labelShape = override.labelShape ?? SHAPE;
  const labelData = override.label ?? new Uint8Array(labelShape.reduce((a, b) => a * b));
  await writeNifti(join(root, 'labelsTr', 'm_000.nii.gz'), { ...geometry, data: labelData, shape: labelShape });
  await writeNifti(join(root, 'imagesTr', 'm_001.nii.gz'), { data: ramp(2), ...geometry });
  await writeNifti(join(root, 'labelsTr', 'm_001.nii.gz'), { data: labels(1), ...geometry });
  await writeNifti(join(root, 'imagesTs', 'm_002.nii.gz'), { data: Int16Array.from({ length: COUNT }, (_, i) => i), ...geometry });
  await writeMsdDatasetJson(root, {
    name: 'm',
    labels: { '0': 'background', '1': 'organ' },
    training: ['m_000', 'm_001'].map((id) => ({ image: `./imagesTr/${id}.nii.gz`, label: `./labelsTr/${id}.nii.gz` })),
    test: ['./imagesTs/m_002.nii.gz'],
    validation: override.validation ? [{ image: './imagesTr/m_001.nii.gz', label: './labelsTr/m_001.nii.gz' }] : [],
  });
}

test('MSD layout: training -> train, test -> test, geometry from the image, unlabelled test cases', async () => {
  const dir = tempDir();
  try {
    await msdDataset(dir.path);
    for (const root of [dir.path, join(dir.path, 'dataset.json')]) {
      const ds = openDataset(root);
      assert.equal(ds.layout, 'msd');
      assert.deepEqual(ds.ids('train'), ['m_000', 'm_001']);
      assert.deepEqual(ds.ids('test'), ['m_002']);
      assert.equal(ds.hasSplit('eval'), false, 'an empty validation list is no split');
      assert.throws(() => ds.ids('eval'), isTracocoErrorNaming(join(dir.path, 'dataset.json'), /validation/));
    }
    const ds = openDataset(dir.path);
    const c = await ds.load('m_001', { classes: 2 });
    assert.deepEqual(c.image, ramp(2));
    assert.deepEqual(c.label, labels(1));
    assert.deepEqual(c.spacing, [0.5, 0.75, 2]);
    assert.equal(c.affine[2]![2], 2);
    const t = await ds.load('m_002');
    assert.equal(t.label, null);
    assert.ok(t.image instanceof Float32Array, 'int16 images load as float32');
    assert.equal(t.image[59], 59);
  } finally {
    dir.cleanup();
  }
});

test('MSD layout: a validation list is the eval split', async () => {
  const dir = tempDir();
  try {
    await msdDataset(dir.path, { validation: true });
    const ds = openDataset(dir.path);
    assert.deepEqual(ds.ids('eval'), ['m_001']);
    assert.deepEqual((await ds.load('m_001')).image, ramp(2));
  } finally {
    dir.cleanup();
  }
});

test('MSD load validates: NaN image, label out of range, label shape mismatch name the file', async () => {
  const nan = tempDir();
  const range = tempDir();
  const mismatch = tempDir();
  try {
    const image = ramp(0);
    image[7] = NaN;
    await msdDataset(nan.path, { image });
    await assert.rejects(openDataset(nan.path).load('m_000'), isTracocoErrorNaming(join(nan.path, 'imagesTr', 'm_000.nii.gz'), /NaN/));

    await msdDataset(range.path, { label: labels(2) });
    const ds = openDataset(range.path);
    await assert.rejects(ds.load('m_000', { classes: 2 }), isTracocoErrorNaming(join(range.path, 'labelsTr', 'm_000.nii.gz'), /is 2, outside 0\.\.1/));
    assert.equal((await ds.load('m_000', { classes: 3 })).label![2], 2);

    await msdDataset(mismatch.path, { labelShape: [5, 4, 2] });
    await assert.rejects(
      openDataset(mismatch.path).load('m_000'),
      isTracocoErrorNaming(join(mismatch.path, 'labelsTr', 'm_000.nii.gz'), /label shape 5x4x2 does not match image shape 5x4x3/),
    );
  } finally {
    nan.cleanup();
    range.cleanup();
    mismatch.cleanup();
  }
});

test('MSD labels declare the classes: load checks against them unless told otherwise', async () => {
  const dir = tempDir();
  const loose = tempDir();
  try {
    await msdDataset(dir.path, { label: labels(2) });
    const ds = openDataset(dir.path);
    assert.equal(ds.classes, 2, 'labels {0, 1}: 2 classes');
    await assert.rejects(ds.load('m_000'), isTracocoErrorNaming(join(dir.path, 'labelsTr', 'm_000.nii.gz'), /is 2, outside 0\.\.1 \(2 classes\)/));
    assert.equal((await ds.load('m_000', { classes: 3 })).label![2], 2, 'an explicit class count wins');

    // labels that are not 0..n-1 declare no class count
    await msdDataset(loose.path, { label: labels(2) });
    const json = JSON.parse(readFileSync(join(loose.path, 'dataset.json'), 'utf8'));
    json.labels = { '0': 'background', '2': 'tumour' };
    writeFileSync(join(loose.path, 'dataset.json'), JSON.stringify(json));
    const other = openDataset(loose.path);
    assert.equal(other.classes, null);
    assert.equal((await other.load('m_000')).label![2], 2);
  } finally {
    dir.cleanup();
    loose.cleanup();
  }
});
