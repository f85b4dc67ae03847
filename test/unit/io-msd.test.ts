import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caseIdOfImage, readMsdDatasetJson, writeMsdDatasetJson } from '../../src/shared/io/index.js';

import { tempDir } from '../support/env.js';
import { throwsNaming } from '../support/assertions.js';

/** Empty placeholder files: dataset.json parsing only checks that they exist. */
function touch(root: string, ...paths: string[]): void {
  for (const p of paths) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), '');
  }
}

test('writeMsdDatasetJson writes the MSD fields and readMsdDatasetJson resolves paths and ids', async () => {
  const dir = tempDir();
  try {
    touch(dir.path, 'imagesTr/a_000.nii.gz', 'labelsTr/a_000.nii.gz', 'imagesTs/a_001.nii.gz', 'labelsTs/a_001.nii.gz', 'imagesTs/a_002.nii');
    await writeMsdDatasetJson(dir.path, {
      name: 'toy',
      description: 'two cases',
      labels: { '0': 'background', '1': 'organ' },
      training: [{ image: './imagesTr/a_000.nii.gz', label: './labelsTr/a_000.nii.gz' }],
      test: [{ image: './imagesTs/a_001.nii.gz', label: './labelsTs/a_001.nii.gz' }, './imagesTs/a_002.nii'],
    });
    const doc = JSON.parse(readFileSync(join(dir.path, 'dataset.json'), 'utf8'));
    assert.equal(doc.numTraining, 1);
    assert.equal(doc.numTest, 2);
    assert.equal(doc.tensorImageSize, '3D');

    const msd = readMsdDatasetJson(join(dir.path, 'dataset.json'));
    assert.equal(msd.name, 'toy');
    assert.deepEqual(msd.labels, { '0': 'background', '1': 'organ' });
    assert.deepEqual(msd.training, [{ id: 'a_000', image: join(dir.path, 'imagesTr/a_000.nii.gz'), label: join(dir.path, 'labelsTr/a_000.nii.gz') }]);
    assert.deepEqual(
      msd.test.map((c) => [c.id, c.label !== null]),
      [['a_001', true], ['a_002', false]],
    );
    assert.equal(msd.validation, null);
  } finally {
    dir.cleanup();
  }
});

test('a dataset.json entry whose file is missing is an error naming that file and the field', async () => {
  const dir = tempDir();
  try {
    touch(dir.path, 'imagesTr/a.nii.gz');
    await writeMsdDatasetJson(dir.path, {
      name: 'broken',
      labels: { '0': 'background', '1': 'organ' },
      training: [{ image: './imagesTr/a.nii.gz', label: './labelsTr/a.nii.gz' }],
      test: [],
    });
    throwsNaming(() => readMsdDatasetJson(join(dir.path, 'dataset.json')), join(dir.path, 'labelsTr/a.nii.gz'), /field 'training\[0\]\.label'/);
  } finally {
    dir.cleanup();
  }
});

test('malformed dataset.json contents are errors naming the file and field', () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'dataset.json');
    touch(dir.path, 'x/a.nii.gz', 'x/b.nii.gz', 'y/a.nii.gz');
    const cases: [unknown, RegExp][] = [
      ['{ not json', /invalid JSON/],
      [[1, 2], /expected a JSON object/],
      [{ test: [] }, /field 'training'/],
      [{ training: {} }, /field 'training'.*list/],
      [{ training: ['x/a.nii.gz'] }, /field 'training\[0\]'/],
      [{ training: [{ image: 'x/a.nii.gz' }] }, /field 'training\[0\]\.label'/],
      [{ training: [{ image: 'x/a.nii.gz', label: 'x/b.nii.gz' }], test: [{ image: 'y/a.nii.gz' }] }, /'a'.*also used by training\[0\] for another file/],
      [{ training: [], labels: ['background'] }, /field 'labels'/],
    ];
    for (const [doc, reason] of cases) {
      writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
      throwsNaming(() => readMsdDatasetJson(file), file, reason);
    }
    throwsNaming(() => readMsdDatasetJson(join(dir.path, 'none.json')), join(dir.path, 'none.json'), /not found/);
  } finally {
    dir.cleanup();
  }
});

test('case ids are image file names without the NIfTI extension', () => {
  assert.equal(caseIdOfImage('./imagesTr/la_003.nii.gz'), 'la_003');
  assert.equal(caseIdOfImage('b.nii'), 'b');
  assert.equal(caseIdOfImage('dir/c.h5'), 'c');
});
