import { test } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readNifti, writeNifti } from '../../src/shared/io/index.js';

import { spacingAffine } from '../../src/shared/volume.js';
import { tempDir } from '../support/env.js';
import { rejectsNaming } from '../support/assertions.js';

const geometry = { shape: [6, 5, 4], spacing: [1, 1, 1] as const, affine: spacingAffine([1, 1, 1]) };

/** Writes a valid .nii, lets `corrupt` change its bytes, and returns the path. */
async function corruptedNifti(dir: string, name: string, corrupt: (bytes: Buffer) => Buffer | Uint8Array): Promise<string> {
  const file = join(dir, name);
  await writeNifti(join(dir, 'valid.nii'), { data: new Float32Array(120).fill(1), ...geometry });
  writeFileSync(file, corrupt(readFileSync(join(dir, 'valid.nii'))));
  return file;
}

test('truncated gzip data is an error naming the file', async () => {
  const dir = tempDir();
  try {
    const file = await corruptedNifti(dir.path, 'truncated.nii.gz', (b) => {
      const gz = gzipSync(b);
      return gz.subarray(0, Math.floor(gz.length / 2));
    });
    await rejectsNaming(readNifti(file), file, /gzip/);
  } finally {
    dir.cleanup();
  }
});

test('a wrong sizeof_hdr is an error naming the file', async () => {
  const dir = tempDir();
  try {
    const file = await corruptedNifti(dir.path, 'sizeof.nii', (b) => {
      b.writeInt32LE(350, 0);
      return b;
    });
    await rejectsNaming(readNifti(file), file, /sizeof_hdr is 350/);
  } finally {
    dir.cleanup();
  }
});

test('a wrong magic string is an error naming the file', async () => {
  const dir = tempDir();
  try {
    const file = await corruptedNifti(dir.path, 'magic.nii', (b) => {
      b.write('xyz', 344, 'latin1');
      return b;
    });
    await rejectsNaming(readNifti(file), file, /magic/);
  } finally {
    dir.cleanup();
  }
});

test('a file shorter than its header says is an error naming the file (.nii and .nii.gz)', async () => {
  const dir = tempDir();
  try {
    const short = await corruptedNifti(dir.path, 'short.nii', (b) => b.subarray(0, b.length - 10));
    await rejectsNaming(readNifti(short), short, /shorter than its header says/);
    const shortGz = await corruptedNifti(dir.path, 'short.nii.gz', (b) => gzipSync(b.subarray(0, 400)));
    await rejectsNaming(readNifti(shortGz), shortGz, /shorter than its header says/);
  } finally {
    dir.cleanup();
  }
});

test('a file shorter than a header, an unsupported datatype and NIfTI-2 are errors naming the file', async () => {
  const dir = tempDir();
  try {
    const tiny = await corruptedNifti(dir.path, 'tiny.nii', (b) => b.subarray(0, 100));
    await rejectsNaming(readNifti(tiny), tiny, /header/);
    const int64 = await corruptedNifti(dir.path, 'int64.nii', (b) => {
      b.writeInt16LE(1024, 70);
      return b;
    });
    await rejectsNaming(readNifti(int64), int64, /datatype code 1024/);
    const nifti2 = await corruptedNifti(dir.path, 'v2.nii', (b) => {
      b.writeInt32LE(540, 0);
      return b;
    });
    await rejectsNaming(readNifti(nifti2), nifti2, /NIfTI-2/);
  } finally {
    dir.cleanup();
  }
});

test('a missing file is an error naming it', async () => {
  const dir = tempDir();
  try {
    const missing = join(dir.path, 'nope.nii.gz');
    await rejectsNaming(readNifti(missing), missing, /not found/);
  } finally {
    dir.cleanup();
  }
});

test('writing fails with an error naming the file for bad volumes and missing directories', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'out.nii');
    await rejectsNaming(writeNifti(file, { data: new Float32Array(10), ...geometry }), file, /120 voxels/);
    await rejectsNaming(writeNifti(file, { ...geometry, data: new Float32Array(6), shape: [6] }), file, /1D/);
    const nowhere = join(dir.path, 'missing-dir', 'out.nii');
    await rejectsNaming(writeNifti(nowhere, { data: new Float32Array(120), ...geometry }), nowhere, /does not exist/);
  } finally {
    dir.cleanup();
  }
});
