import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAtomicPath, writeFileAtomic } from '../../src/shared/io/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { tempDir } from '../support/env.js';

test('writeFileAtomic replaces the file and leaves no temporary files', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'out.json');
    writeFileSync(file, 'old');
    await writeFileAtomic(file, '{"new": true}');
    assert.equal(readFileSync(file, 'utf8'), '{"new": true}');
    await writeFileAtomic(file, Uint8Array.from([1, 2, 3]));
    assert.deepEqual([...readFileSync(file)], [1, 2, 3]);
    assert.deepEqual(readdirSync(dir.path), ['out.json']);
  } finally {
    dir.cleanup();
  }
});

test('a failed write keeps the old file and removes the temporary one', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'keep.txt');
    writeFileSync(file, 'original');
    await assert.rejects(
      withAtomicPath(file, (temp) => {
        writeFileSync(temp, 'partial');
        throw new Error('disk full');
      }),
      (err: unknown) => err instanceof TracocoError && err.message.includes(file) && err.message.includes('disk full'),
    );
    assert.equal(readFileSync(file, 'utf8'), 'original');
    assert.deepEqual(readdirSync(dir.path), ['keep.txt']);
  } finally {
    dir.cleanup();
  }
});

test('writing into a missing directory is an error naming the file', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'no', 'such', 'dir.txt');
    await assert.rejects(writeFileAtomic(file, 'x'), (err: unknown) => err instanceof TracocoError && err.message.includes(file));
  } finally {
    dir.cleanup();
  }
});
