import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NIFTI_DATATYPES, readNifti, writeNifti, type NiftiDatatype } from '../../src/shared/io/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Affine, VoxelArray } from '../../src/shared/volume.js';
import { tempDir } from '../support/env.js';

const ARRAYS: Record<NiftiDatatype, { new (n: number): VoxelArray }> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};
const RANGES: Partial<Record<NiftiDatatype, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** A rotation about z by 0.3 rad with voxel sizes 0.8 x 1.2 x 2.5 mm and an offset. */
function rotatedAffine(flipX = false): Affine {
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  const fx = flipX ? -1 : 1;
  return [
    [fx * c * 0.8, -s * 1.2, 0, 10.5],
    [fx * s * 0.8, c * 1.2, 0, -20.25],
    [0, 0, 2.5, 5],
    [0, 0, 0, 1],
  ];
}

/** Values covering the datatype: its extremes, zero, and random values (fractional for floats). */
function sampleData(datatype: NiftiDatatype, count: number, seed: number): VoxelArray {
  const rng = new Random(seed);
  const data = new ARRAYS[datatype](count);
  const range = RANGES[datatype];
  for (let i = 0; i < count; i++) {
    data[i] = range ? rng.int(range[0], range[1] + 1) : rng.range(-1000, 1000);
  }
  if (range) {
    data[0] = range[0];
    data[1] = range[1];
  }
  data[2] = 0;
  return data;
}

function assertAffineClose(actual: Affine, expected: Affine, tol: number): void {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      const a = actual[r]![c]!;
      const e = expected[r]![c]!;
      assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `affine[${r}][${c}] = ${a}, expected ${e}`);
    }
  }
}

const columnNorm = (a: Affine, j: number) => Math.hypot(a[0]![j]!, a[1]![j]!, a[2]![j]!);

for (const datatype of NIFTI_DATATYPES) {
  for (const shape of [[5, 4, 3], [5, 4, 3, 2]]) {
    for (const ext of ['.nii', '.nii.gz']) {
      test(`round trip ${datatype} ${shape.length}D ${ext}`, async () => {
        const dir = tempDir();
        try {
          const file = join(dir.path, `v${ext}`);
          const affine = rotatedAffine();
          const data = sampleData(datatype, shape.reduce((a, b) => a * b), 7);
          await writeNifti(file, { data, shape, spacing: [0.8, 1.2, 2.5], affine }, { description: 'round trip' });
          const back = await readNifti(file);
          assert.deepEqual(back.shape, shape);
          assert.equal(back.datatype, datatype);
          assert.equal(back.data.constructor, data.constructor);
          assert.deepEqual(back.data, data);
          assertAffineClose(back.affine, affine, 1e-6);
          for (let j = 0; j < 3; j++) {
            assert.ok(Math.abs(back.spacing[j]! - columnNorm(affine, j)) < 1e-6, `spacing[${j}] = ${back.spacing[j]}`);
            assert.ok(Math.abs(back.header.pixdim[j + 1]! - columnNorm(affine, j)) < 1e-6, `pixdim[${j + 1}]`);
          }
          assert.equal(back.header.description, 'round trip');
          assert.equal(back.header.xyztUnits, 2);
          assert.ok(back.header.qformCode > 0 && back.header.sformCode > 0);
        } finally {
          dir.cleanup();
        }
      });
    }
  }
}

/** Bytes of a NIfTI-1 file built field by field (independently of writeNifti). */
function craftNifti(o: {
  dims: number[];
  datatype: number;
  bitpix: number;
  voxels: (view: DataView, offset: number) => void;
  littleEndian?: boolean;
  pixdim?: number[];
  slope?: number;
  inter?: number;
}): Uint8Array {
  const le = o.littleEndian ?? true;
  const count = o.dims.slice(1, o.dims[0]! + 1).reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(352 + (count * o.bitpix) / 8);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 348, le);
  [...o.dims, 1, 1, 1, 1, 1, 1, 1].slice(0, 8).forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  v.setInt16(70, o.datatype, le);
  v.setInt16(72, o.bitpix, le);
  (o.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1]).forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, 352, le);
  v.setFloat32(112, o.slope ?? 0, le);
  v.setFloat32(116, o.inter ?? 0, le);
  bytes.set([0x6e, 0x2b, 0x31, 0], 344);
  o.voxels(v, 352);
  return bytes;
}

test('reads NIfTI order (x fastest) into row-major [X, Y, Z, C]', async () => {
  const dir = tempDir();
  try {
    // Sizes that are not multiples of the transpose tile, and more than one channel.
    const [X, Y, Z, C] = [37, 3, 19, 2];
    const code = (x: number, y: number, z: number, c: number) => x + 40 * (y + 5 * (z + 20 * c));
    const file = join(dir.path, 'order.nii');
    writeFileSync(
      file,
      craftNifti({
        dims: [4, X, Y, Z, C],
        datatype: 4,
        bitpix: 16,
        voxels: (v, at) => {
          for (let c = 0; c < C; c++)
            for (let z = 0; z < Z; z++)
              for (let y = 0; y < Y; y++)
                for (let x = 0; x < X; x++) v.setInt16(at + 2 * (x + X * (y + Y * (z + Z * c))), code(x, y, z, c), true);
        },
      }),
    );
    const vol = await readNifti(file);
    assert.deepEqual(vol.shape, [X, Y, Z, C]);
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++)
        for (let z = 0; z < Z; z++)
          for (let c = 0; c < C; c++) assert.equal(vol.data[((x * Y + y) * Z + z) * C + c], code(x, y, z, c));
  } finally {
    dir.cleanup();
  }
});

test('writes row-major voxels in NIfTI order after a 352-byte header', async () => {
  const dir = tempDir();
  try {
    const [X, Y, Z] = [35, 4, 18];
    const data = new Float32Array(X * Y * Z);
    for (let x = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++) data[(x * Y + y) * Z + z] = x + 10 * y + 100 * z;
    const file = join(dir.path, 'order.nii.gz');
    await writeNifti(file, { data, shape: [X, Y, Z], spacing: [1, 1, 1], affine: rotatedAffine() });
    const bytes = gunzipSync(readFileSync(file));
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(v.getInt32(0, true), 348);
    assert.equal(v.getFloat32(108, true), 352);
    assert.equal(bytes.length, 352 + 4 * X * Y * Z);
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++)
        for (let z = 0; z < Z; z++) assert.equal(v.getFloat32(352 + 4 * (x + X * (y + Y * z)), true), x + 10 * y + 100 * z);
  } finally {
    dir.cleanup();
  }
});

test('reads big-endian files', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'be.nii');
    writeFileSync(
      file,
      craftNifti({
        dims: [3, 2, 2, 2],
        datatype: 16,
        bitpix: 32,
        littleEndian: false,
        pixdim: [1, 2, 3, 4, 1, 1, 1, 1],
        voxels: (v, at) => {
          for (let i = 0; i < 8; i++) v.setFloat32(at + 4 * i, i + 0.5, false);
        },
      }),
    );
    const vol = await readNifti(file);
    assert.equal(vol.header.littleEndian, false);
    assert.deepEqual(vol.spacing, [2, 3, 4]);
    // NIfTI index i = x + 2y + 4z holds i + 0.5.
    for (let x = 0; x < 2; x++) for (let y = 0; y < 2; y++) for (let z = 0; z < 2; z++) assert.equal(vol.data[(x * 2 + y) * 2 + z], x + 2 * y + 4 * z + 0.5);
  } finally {
    dir.cleanup();
  }
});

test('applies scl_slope/scl_inter when set and not identity', async () => {
  const dir = tempDir();
  try {
    const voxels = (v: DataView, at: number) => {
      for (let i = 0; i < 8; i++) v.setInt16(at + 2 * i, i * 3, true);
    };
    const scaledFile = join(dir.path, 'scaled.nii');
    writeFileSync(scaledFile, craftNifti({ dims: [3, 8, 1, 1], datatype: 4, bitpix: 16, slope: 0.5, inter: -2, voxels }));
    const scaled = await readNifti(scaledFile);
    assert.equal(scaled.datatype, 'int16');
    assert.ok(scaled.data instanceof Float32Array);
    assert.deepEqual(Array.from(scaled.data), [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i * 3 * 0.5 - 2));

    for (const [slope, inter] of [[1, 0], [0, 5]] as const) {
      const file = join(dir.path, `plain-${slope}.nii`);
      writeFileSync(file, craftNifti({ dims: [3, 8, 1, 1], datatype: 4, bitpix: 16, slope, inter, voxels }));
      const plain = await readNifti(file);
      assert.ok(plain.data instanceof Int16Array, `slope ${slope} inter ${inter} leaves data unscaled`);
      assert.deepEqual(Array.from(plain.data), [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i * 3));
    }
  } finally {
    dir.cleanup();
  }
});

/** Rewrites a header field of an uncompressed file in place. */
function patchInt16(file: string, offset: number, value: number): void {
  const bytes = readFileSync(file);
  bytes.writeInt16LE(value, offset);
  writeFileSync(file, bytes);
}

test('uses the qform when sform_code is 0 (right- and left-handed affines)', async () => {
  const dir = tempDir();
  try {
    for (const flipX of [false, true]) {
      const file = join(dir.path, `q${flipX}.nii`);
      const affine = rotatedAffine(flipX);
      await writeNifti(file, { data: new Float32Array(24), shape: [4, 3, 2], spacing: [0.8, 1.2, 2.5], affine });
      patchInt16(file, 254, 0);
      const vol = await readNifti(file);
      assert.equal(vol.header.sformCode, 0);
      assert.equal(vol.header.pixdim[0], flipX ? -1 : 1);
      assertAffineClose(vol.affine, affine, 1e-5);
    }
  } finally {
    dir.cleanup();
  }
});

test('falls back to pixdim scaling when neither sform nor qform is set', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'none.nii');
    await writeNifti(file, { data: new Uint8Array(24), shape: [4, 3, 2], spacing: [0.8, 1.2, 2.5], affine: rotatedAffine() });
    patchInt16(file, 252, 0);
    patchInt16(file, 254, 0);
    const vol = await readNifti(file);
    assertAffineClose(vol.affine, [[0.8, 0, 0, 0], [0, 1.2, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 1]], 1e-6);
  } finally {
    dir.cleanup();
  }
});

test('a 4D file with a single volume reads as 3D', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'single.nii');
    writeFileSync(
      file,
      craftNifti({ dims: [4, 2, 3, 4, 1], datatype: 2, bitpix: 8, voxels: (v, at) => Array.from({ length: 24 }, (_, i) => v.setUint8(at + i, i)) }),
    );
    const vol = await readNifti(file);
    assert.deepEqual(vol.shape, [2, 3, 4]);
    assert.equal(vol.data[(1 * 3 + 2) * 4 + 3], 1 + 2 * 2 + 3 * 6);
  } finally {
    dir.cleanup();
  }
});

test('writes another datatype when the values fit, and refuses when they do not', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'label.nii.gz');
    const geometry = { shape: [3, 1, 1], spacing: [1, 1, 1] as const, affine: rotatedAffine() };
    await writeNifti(file, { data: Float32Array.from([0, 1, 2]), ...geometry }, { datatype: 'uint8' });
    const back = await readNifti(file);
    assert.equal(back.datatype, 'uint8');
    assert.deepEqual(back.data, Uint8Array.from([0, 1, 2]));

    for (const bad of [[0, 0.5, 1], [0, 1, 256], [-1, 0, 1]]) {
      await assert.rejects(
        writeNifti(join(dir.path, 'bad.nii'), { data: Float32Array.from(bad), ...geometry }, { datatype: 'uint8' }),
        (err: unknown) => err instanceof TracocoError && err.message.includes(join(dir.path, 'bad.nii')) && /uint8/.test(err.message),
      );
    }
  } finally {
    dir.cleanup();
  }
});
