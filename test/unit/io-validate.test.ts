import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFinite, checkLabelRange, checkSameShape, formatVoxel, toImageArray, toLabelArray } from '../../src/shared/io/index.js';

import { throwsNaming } from '../support/assertions.js';

const SHAPE = [4, 3, 2];
const FILE = '/data/case_007.nii.gz';

const index = (x: number, y: number, z: number) => (x * 3 + y) * 2 + z;

test('formatVoxel inverts the row-major index', () => {
  assert.equal(formatVoxel(index(3, 1, 1), SHAPE), '(3, 1, 1)');
  assert.equal(formatVoxel(0, SHAPE), '(0, 0, 0)');
  assert.equal(formatVoxel(((2 * 3 + 1) * 2 + 1) * 5 + 4, [4, 3, 2, 5]), '(2, 1, 1, 4)');
});

test('NaN and Inf image voxels are errors naming the file, the first voxel and the count', () => {
  const image = new Float32Array(24).fill(0.5);
  checkFinite(image, SHAPE, FILE);
  image[index(2, 1, 0)] = NaN;
  image[index(3, 2, 1)] = Infinity;
  throwsNaming(() => checkFinite(image, SHAPE, FILE), FILE, /voxel \(2, 1, 0\) is NaN \(2 non-finite voxels in all\)/);
  throwsNaming(() => toImageArray(Float64Array.from(image), SHAPE, FILE), FILE, /NaN/);
  // float64 values beyond float32 range become Inf when converted.
  throwsNaming(() => toImageArray(new Float64Array(24).fill(1e300), SHAPE, FILE), FILE, /Infinity/);
});

test('toImageArray converts integer images to float32', () => {
  const image = toImageArray(Int16Array.from({ length: 24 }, (_, i) => i - 12), SHAPE, FILE);
  assert.ok(image instanceof Float32Array);
  assert.equal(image[0], -12);
  assert.equal(image[23], 11);
});

test('label values outside 0..classes-1 are errors naming the file and the voxel', () => {
  const label = new Uint8Array(24);
  label[index(1, 2, 1)] = 2;
  checkLabelRange(label, SHAPE, FILE, 3);
  throwsNaming(() => checkLabelRange(label, SHAPE, FILE, 2), FILE, /voxel \(1, 2, 1\) is 2, outside 0\.\.1 \(2 classes\)/);
  throwsNaming(() => toLabelArray(Int32Array.from(label), SHAPE, FILE, 2), FILE, /outside 0\.\.1/);
  throwsNaming(() => toLabelArray(Int16Array.from({ length: 24 }, () => -1), SHAPE, FILE), FILE, /-1, outside 0\.\.255/);
});

test('fractional label values are errors; integral ones in any datatype convert to uint8', () => {
  const label = new Float32Array(24);
  label[5] = 1;
  assert.deepEqual(toLabelArray(label, SHAPE, FILE, 2), Uint8Array.from(label));
  label[index(0, 1, 0)] = 0.5;
  throwsNaming(() => toLabelArray(label, SHAPE, FILE, 2), FILE, /voxel \(0, 1, 0\) is 0\.5: label values must be integers/);
});

test('image/label shape mismatch is an error naming the label file and the image', () => {
  checkSameShape([4, 3, 2], [4, 3, 2], { image: 'img.nii', label: FILE });
  throwsNaming(() => checkSameShape([4, 3, 2], [4, 3, 3], { image: 'img.nii', label: FILE }), FILE, /label shape 4x3x3 does not match image shape 4x3x2 \(img\.nii\)/);
});
