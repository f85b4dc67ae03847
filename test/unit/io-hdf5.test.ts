import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { guessChunks, readHdf5Case, writeHdf5Case } from '../../src/shared/io/index.js';

import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';
import { tempDir } from '../support/env.js';
import { rejectsNaming } from '../support/assertions.js';
import { rawH5 } from '../support/volumes.js';

const SHAPE: Shape3 = [7, 6, 5];

function randomCase(seed: number): { image: Float32Array; label: Uint8Array } {
  const rng = new Random(seed);
  const image = new Float32Array(7 * 6 * 5).map(() => rng.range(-2, 6));
  const label = new Uint8Array(image.length).map(() => rng.int(0, 2));
  return { image, label };
}

test('writeHdf5Case / readHdf5Case round trip image and label exactly', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'case.h5');
    const { image, label } = randomCase(3);
    await writeHdf5Case(file, { image, label, shape: SHAPE });
    const back = await readHdf5Case(file);
    assert.deepEqual(back.shape, SHAPE);
    assert.deepEqual(back.image, image);
    assert.deepEqual(back.label, label);

    const unlabelled = join(dir.path, 'unlabelled.h5');
    await writeHdf5Case(unlabelled, { image, label: null, shape: SHAPE });
    assert.equal((await readHdf5Case(unlabelled)).label, null);
  } finally {
    dir.cleanup();
  }
});

test('written datasets are gzip-compressed float32 and uint8', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'case.h5');
    await writeHdf5Case(file, { ...randomCase(4), shape: SHAPE });
    await h5wasm.ready;
    const f = new h5wasm.File(file, 'r');
    try {
      const image = f.get('image') as InstanceType<typeof h5wasm.Dataset>;
      const label = f.get('label') as InstanceType<typeof h5wasm.Dataset>;
      assert.equal(image.dtype, '<f');
      assert.equal(label.dtype, '<B');
      assert.deepEqual(image.filters.map((x) => x.name), ['deflate']);
      assert.deepEqual(label.filters.map((x) => x.name), ['deflate']);
    } finally {
      f.close();
    }
  } finally {
    dir.cleanup();
  }
});

test('other numeric dtypes are converted: float64 image, int16 label', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'f64.h5');
    await rawH5(file, [
      { name: 'image', data: Float64Array.from([0.5, -1.25, 3, 4, 5, 6]), shape: [1, 2, 3], dtype: '<d' },
      { name: 'label', data: Int16Array.from([0, 1, 1, 0, 2, 0]), shape: [1, 2, 3], dtype: '<h' },
    ]);
    const c = await readHdf5Case(file);
    assert.deepEqual(c.image, Float32Array.from([0.5, -1.25, 3, 4, 5, 6]));
    assert.deepEqual(c.label, Uint8Array.from([0, 1, 1, 0, 2, 0]));
  } finally {
    dir.cleanup();
  }
});

test('label/image shape mismatch, a missing image dataset, non-HDF5, truncated and missing files are errors naming the file', async () => {
  const dir = tempDir();
  try {
    const mismatch = join(dir.path, 'mismatch.h5');
    await rawH5(mismatch, [
      { name: 'image', data: new Float32Array(6), shape: [1, 2, 3], dtype: '<f' },
      { name: 'label', data: new Uint8Array(4), shape: [1, 2, 2], dtype: '<B' },
    ]);
    await rejectsNaming(readHdf5Case(mismatch), mismatch, /label shape 1x2x2 does not match image shape 1x2x3/);

    const noImage = join(dir.path, 'no-image.h5');
    await rawH5(noImage, [{ name: 'data', data: new Float32Array(6), shape: [1, 2, 3], dtype: '<f' }]);
    await rejectsNaming(readHdf5Case(noImage), noImage, /no 'image' dataset \(found: data\)/);

    const flat = join(dir.path, 'flat.h5');
    await rawH5(flat, [{ name: 'image', data: new Float32Array(6), shape: [6], dtype: '<f' }]);
    await rejectsNaming(readHdf5Case(flat), flat, /expected \[X, Y, Z\]/);

    const text = join(dir.path, 'text.h5');
    writeFileSync(text, 'this is not an HDF5 file at all, just some text');
    await rejectsNaming(readHdf5Case(text), text, /not an HDF5 file/);

    const truncated = join(dir.path, 'truncated.h5');
    await writeHdf5Case(join(dir.path, 'whole.h5'), { ...randomCase(9), shape: SHAPE });
    writeFileSync(truncated, readFileSync(join(dir.path, 'whole.h5')).subarray(0, 1500));
    await rejectsNaming(readHdf5Case(truncated), truncated, /truncated HDF5 file/);

    const missing = join(dir.path, 'missing.h5');
    await rejectsNaming(readHdf5Case(missing), missing, /not found/);
  } finally {
    dir.cleanup();
  }
});

test('writing checks voxel counts against the shape', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'bad.h5');
    await rejectsNaming(writeHdf5Case(file, { image: new Float32Array(5), label: null, shape: SHAPE }), file, /image has 5 voxels/);
    await rejectsNaming(
      writeHdf5Case(file, { image: new Float32Array(210), label: new Uint8Array(3), shape: SHAPE }),
      file,
      /label has 3 voxels/,
    );
  } finally {
    dir.cleanup();
  }
});

test('chunks follow h5py: the reference Left Atrium chunking', () => {
  // h5py chose these for the reference LA files (183x140x88 float32 image, uint8 label).
  assert.deepEqual(guessChunks([183, 140, 88], 4), [23, 18, 22]);
  assert.deepEqual(guessChunks([183, 140, 88], 1), [23, 35, 22]);
  assert.deepEqual(guessChunks([2, 2, 2], 4), [2, 2, 2]);
});
