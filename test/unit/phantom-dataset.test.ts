import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePhantomCase } from '../../src/shared/data/phantom.js';
import { generateCardiacCase } from '../../src/shared/data/phantom-cardiac.js';
import { generateTumourCase } from '../../src/shared/data/phantom-tumour.js';
import { defaultTestCases, writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { openDataset, readNifti } from '../../src/shared/io/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { Shape3 } from '../../src/shared/volume.js';
import { tempDir } from '../support/env.js';
import { readTree } from '../support/assertions.js';

const SHAPE: Shape3 = [24, 20, 16];

test('the default test split is 25% of the cases, at least 1', () => {
  assert.equal(defaultTestCases(20), 5);
  assert.equal(defaultTestCases(2), 1);
  assert.equal(defaultTestCases(3), 1);
  assert.equal(defaultTestCases(10), 3);
});

test('writes an MSD dataset whose volumes are the generated cases', async () => {
  const dir = tempDir();
  try {
    const progress: [number, number][] = [];
    const result = await writePhantomDataset({
      out: join(dir.path, 'phantom'),
      cases: 4,
      shape: SHAPE,
      seed: 13,
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.deepEqual(result.training, ['phantom_000', 'phantom_001', 'phantom_002']);
    assert.deepEqual(result.test, ['phantom_003']);
    assert.equal(result.kind, 'organ');
    assert.equal(result.classes, 2);
    assert.equal(result.root, join(dir.path, 'phantom'));
    assert.deepEqual(progress, [[1, 4], [2, 4], [3, 4], [4, 4]]);

    const json = JSON.parse(readFileSync(join(result.root, 'dataset.json'), 'utf8'));
    assert.equal(json.name, 'phantom');
    assert.equal(json.tensorImageSize, '3D');
    assert.deepEqual(json.modality, { '0': 'MRI' });
    assert.deepEqual(json.labels, { '0': 'background', '1': 'organ' });
    assert.equal(json.numTraining, 3);
    assert.equal(json.numTest, 1);
    assert.deepEqual(json.training[1], { image: './imagesTr/phantom_001.nii.gz', label: './labelsTr/phantom_001.nii.gz' });
    assert.deepEqual(json.test, [{ image: './imagesTs/phantom_003.nii.gz', label: './labelsTs/phantom_003.nii.gz' }]);

    // stored types: float32 images, uint8 labels
    const image = await readNifti(join(result.root, json.test[0].image));
    const label = await readNifti(join(result.root, json.test[0].label));
    assert.ok(image.data instanceof Float32Array, 'images are float32');
    assert.ok(label.data instanceof Uint8Array, 'labels are uint8');

    // the project's dataset reader sees both splits, labelled, with the generated content
    const dataset = openDataset(result.root);
    assert.equal(dataset.layout, 'msd');
    assert.deepEqual(dataset.ids('train'), result.training);
    assert.deepEqual(dataset.ids('test'), result.test);
    for (const [index, id] of [...result.training, ...result.test].entries()) {
      const expected = generatePhantomCase({ seed: 13, index, shape: SHAPE });
      const c = await dataset.load(id, { classes: 2 });
      assert.deepEqual([...c.shape], [...SHAPE]);
      assert.deepEqual([...c.spacing], [1, 1, 1]);
      assert.deepEqual(c.image, expected.image);
      assert.deepEqual(c.label, expected.label);
    }
  } finally {
    dir.cleanup();
  }
});

test('the same options write byte-identical files; another seed does not', async () => {
  const dir = tempDir();
  try {
    const write = (name: string, seed: number) =>
      writePhantomDataset({ out: join(dir.path, name), cases: 3, testCases: 2, shape: SHAPE, seed });
    await write('a', 21);
    await write('b', 21);
    await write('c', 22);
    const a = readTree(join(dir.path, 'a'));
    const b = readTree(join(dir.path, 'b'));
    const c = readTree(join(dir.path, 'c'));
    assert.equal(a.size, 7, [...a.keys()].join(', ')); // 3 cases x (image + label) + dataset.json
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [path, bytes] of a) assert.ok(bytes.equals(b.get(path)!), `${path} differs between identical runs`);
    assert.ok(!a.get('imagesTr/phantom_000.nii.gz')!.equals(c.get('imagesTr/phantom_000.nii.gz')!));
  } finally {
    dir.cleanup();
  }
});

test('the cardiac and tumour kinds write their own classes as labels and their generators\' cases', async () => {
  const dir = tempDir();
  try {
    const kinds = [
      { kind: 'cardiac', generate: generateCardiacCase, classes: 4, labels: { '0': 'background', '1': 'right ventricle', '2': 'myocardium', '3': 'left ventricle' } },
      { kind: 'tumour', generate: generateTumourCase, classes: 2, labels: { '0': 'background', '1': 'tumour' } },
    ] as const;
    for (const { kind, generate, classes, labels } of kinds) {
      const result = await writePhantomDataset({ out: join(dir.path, kind), cases: 2, shape: SHAPE, seed: 3, kind });
      assert.equal(result.kind, kind);
      assert.equal(result.classes, classes);
      const json = JSON.parse(readFileSync(join(result.root, 'dataset.json'), 'utf8'));
      assert.equal(json.name, `phantom-${kind}`);
      assert.deepEqual(json.labels, labels);
      assert.match(json.description, new RegExp(`${kind} phantom, seed 3`));
      const dataset = openDataset(result.root);
      assert.equal(dataset.classes, classes, 'the class count is read back from the labels');
      for (const [index, id] of [...result.training, ...result.test].entries()) {
        const expected = generate({ seed: 3, index, shape: SHAPE });
        const c = await dataset.load(id);
        assert.deepEqual(c.image, expected.image);
        assert.deepEqual(c.label, expected.label);
      }
    }
    // the same seed and kind: byte-identical files
    await writePhantomDataset({ out: join(dir.path, 'again'), cases: 2, shape: SHAPE, seed: 3, kind: 'cardiac' });
    const a = readTree(join(dir.path, 'cardiac'));
    const b = readTree(join(dir.path, 'again'));
    assert.equal(a.size, 5);
    for (const [path, bytes] of a) assert.ok(bytes.equals(b.get(path)!), `${path} differs between identical runs`);
  } finally {
    dir.cleanup();
  }
});

test('bad options and an unusable output path throw TracocoErrors naming them', async () => {
  const dir = tempDir();
  try {
    const base = { out: join(dir.path, 'x'), shape: SHAPE, seed: 0 };
    const fieldOf = async (options: Parameters<typeof writePhantomDataset>[0]) => {
      const err = await writePhantomDataset(options).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof TracocoError, `expected a TracocoError, got ${err}`);
      return err.context;
    };
    assert.equal((await fieldOf({ ...base, cases: 1 })).field, 'cases');
    assert.equal((await fieldOf({ ...base, cases: 4, testCases: 4 })).field, 'testCases');
    assert.equal((await fieldOf({ ...base, cases: 4, seed: -1 })).field, 'seed');
    assert.equal((await fieldOf({ ...base, cases: 4, shape: [8, 8, 8] })).field, 'shape');
    assert.equal((await fieldOf({ ...base, cases: 4, kind: 'brain' as 'organ' })).field, 'kind');

    const file = join(dir.path, 'not-a-dir');
    writeFileSync(file, 'x');
    const context = await fieldOf({ ...base, out: file, cases: 2 });
    assert.ok(context.file?.startsWith(file), `error names ${context.file}`);
  } finally {
    dir.cleanup();
  }
});
