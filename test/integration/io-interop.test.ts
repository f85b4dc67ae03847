/**
 * Other tools read our files identically and we read theirs: NIfTI against nibabel, the reference
 * HDF5 layout against h5py (test/support/nibabel_interop.py, run with /usr/bin/python3).
 * Skipped when nibabel or h5py is missing, except in CI, which installs them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHdf5Case, readNifti, writeHdf5Case, writeNifti, type NiftiDatatype } from '../../src/shared/io/index.js';
import { Random } from '../../src/shared/random.js';
import type { Affine, VoxelArray } from '../../src/shared/volume.js';
import { repoRoot, tempDir } from '../support/env.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'test', 'support', 'nibabel_interop.py');

function skipUnlessPython(module: string): string | false {
  try {
    execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI) throw new Error(`${PYTHON} cannot import ${module}, which CI installs`);
    return `${PYTHON} cannot import ${module}`;
  }
}

const skipNibabel = skipUnlessPython('nibabel');
const skipH5py = skipUnlessPython('h5py');

function python(...args: string[]): any {
  const out = execFileSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.trim() ? JSON.parse(out) : null;
}

/** Rotation of 0.4 rad about an oblique axis, voxel sizes 0.7 x 1.3 x 2.2 mm, an offset; optionally left-handed. */
function obliqueAffine(leftHanded = false): Affine {
  const [a, b] = [Math.cos(0.4), Math.sin(0.4)];
  // rotation about z then about x by the same angle
  const rz = [[a, -b, 0], [b, a, 0], [0, 0, 1]];
  const rx = [[1, 0, 0], [0, a, -b], [0, b, a]];
  const r = rx.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * rz[k]![j]!, 0)));
  const zoom = [leftHanded ? -0.7 : 0.7, 1.3, 2.2];
  const offset = [-90.5, 12.25, 40];
  return [0, 1, 2].map((i) => [...[0, 1, 2].map((j) => r[i]![j]! * zoom[j]!), offset[i]!]).concat([[0, 0, 0, 1]]);
}

function assertClose(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[], tol: number, what: string): void {
  actual.forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - expected[i]![j]!) <= tol, `${what}[${i}][${j}] = ${v}, expected ${expected[i]![j]}`)),
  );
}

interface Sample {
  name: string;
  shape: number[];
  datatype: NiftiDatatype;
  data: VoxelArray;
  affine: Affine;
}

function samples(): Sample[] {
  const rng = new Random(11);
  const label = Uint8Array.from({ length: 7 * 6 * 5 }, () => rng.int(0, 3));
  const image = Float32Array.from({ length: 7 * 6 * 5 }, () => rng.range(-500, 1500));
  const probs = Float32Array.from({ length: 5 * 4 * 3 * 2 }, () => rng.uniform());
  const ct = Int16Array.from({ length: 4 * 5 * 6 }, () => rng.int(-1024, 3000));
  return [
    { name: 'label.nii.gz', shape: [7, 6, 5], datatype: 'uint8', data: label, affine: obliqueAffine() },
    { name: 'image.nii', shape: [7, 6, 5], datatype: 'float32', data: image, affine: obliqueAffine(true) },
    { name: 'probabilities.nii.gz', shape: [5, 4, 3, 2], datatype: 'float32', data: probs, affine: obliqueAffine() },
    { name: 'ct.nii.gz', shape: [4, 5, 6], datatype: 'int16', data: ct, affine: obliqueAffine(true) },
  ];
}

test('nibabel reads our NIfTI files identically', { skip: skipNibabel }, async () => {
  const dir = tempDir();
  try {
    for (const s of samples()) {
      const file = join(dir.path, s.name);
      await writeNifti(file, { data: s.data, shape: s.shape, spacing: [1, 1, 1], affine: s.affine });
      const nib = python('describe-nifti', file);
      assert.deepEqual(nib.shape, s.shape, s.name);
      assert.equal(nib.dtype, s.datatype, s.name);
      assertClose(nib.affine, s.affine, 1e-5, `${s.name} affine`);
      assertClose(nib.qform, s.affine, 1e-5, `${s.name} qform`);
      assert.ok(nib.sform_code > 0 && nib.qform_code > 0, `${s.name} sets both transforms`);
      assert.equal(nib.units[0], 'mm');
      nib.zooms.slice(0, 3).forEach((z: number, j: number) => {
        const norm = Math.hypot(s.affine[0]![j]!, s.affine[1]![j]!, s.affine[2]![j]!);
        assert.ok(Math.abs(z - norm) < 1e-5, `${s.name} zoom ${j}`);
      });
      assert.deepEqual(nib.data, Array.from(s.data), `${s.name} voxels in C order`);
    }
  } finally {
    dir.cleanup();
  }
});

test('we read nibabel NIfTI files identically (sform and qform-only)', { skip: skipNibabel }, async () => {
  const dir = tempDir();
  try {
    for (const s of samples()) {
      for (const qformOnly of [false, true]) {
        const spec = join(dir.path, 'spec.json');
        const file = join(dir.path, `${qformOnly ? 'q-' : ''}${s.name}`);
        writeFileSync(spec, JSON.stringify({ shape: s.shape, dtype: s.datatype, affine: s.affine, data: Array.from(s.data), qform_only: qformOnly }));
        python('write-nifti', spec, file);
        const vol = await readNifti(file);
        assert.deepEqual(vol.shape, s.shape, file);
        assert.equal(vol.datatype, s.datatype, file);
        assert.equal(vol.header.sformCode > 0, !qformOnly, file);
        assertClose(vol.affine, s.affine, 1e-5, `${file} affine`);
        assert.deepEqual(Array.from(vol.data), Array.from(s.data), `${file} voxels`);
      }
    }
  } finally {
    dir.cleanup();
  }
});

test('h5py reads our HDF5 cases and we read h5py files', { skip: skipH5py }, async () => {
  const dir = tempDir();
  try {
    const rng = new Random(5);
    const shape = [6, 7, 3] as const;
    const image = Float32Array.from({ length: 126 }, () => rng.range(-1, 5));
    const label = Uint8Array.from({ length: 126 }, () => rng.int(0, 2));
    const ours = join(dir.path, 'ours.h5');
    await writeHdf5Case(ours, { image, label, shape });
    const h5 = python('describe-h5', ours);
    assert.deepEqual(h5.image.shape, [...shape]);
    assert.equal(h5.image.dtype, 'float32');
    assert.equal(h5.label.dtype, 'uint8');
    assert.equal(h5.image.compression, 'gzip');
    assert.equal(h5.label.compression, 'gzip');
    assert.deepEqual(h5.image.data, Array.from(image));
    assert.deepEqual(h5.label.data, Array.from(label));

    const spec = join(dir.path, 'spec.json');
    writeFileSync(spec, JSON.stringify({
      image: { shape, dtype: 'float32', data: Array.from(image) },
      label: { shape, dtype: 'uint8', data: Array.from(label) },
    }));
    const theirs = join(dir.path, 'theirs.h5');
    python('write-h5', spec, theirs);
    const c = await readHdf5Case(theirs);
    assert.deepEqual(c.shape, shape);
    assert.deepEqual(c.image, image);
    assert.deepEqual(c.label, label);
  } finally {
    dir.cleanup();
  }
});
