/**
 * A full disk under a run (issue 14): the run directory on a small tmpfs that fills up after the
 * first checkpoint. The next checkpoint fails with an error naming the path; the previous
 * checkpoint and run state stay loadable; once space is back the run resumes and finishes.
 * Needs to mount a tmpfs (root, or CAP_SYS_ADMIN): skipped with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { readCheckpoint } from '../../src/shared/checkpoint/index.js';
import { validateConfig } from '../../src/shared/config/index.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { silentLogger } from '../../src/shared/log.js';
import { runLocal } from '../../src/local/run-local.js';
import { tempDir } from '../support/env.js';

const tmp = tempDir('tracoco-storage-');
const disk = join(tmp.path, 'disk');

function mountTmpfs(): string | false {
  mkdirSync(disk, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk], { stdio: 'pipe' });
    return false;
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
}
const skip = mountTmpfs();
let backend = 'cpu';
let dataRoot = '';

before(async () => {
  backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND)).name;
  dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 6, testCases: 2, shape: [24, 24, 20], seed: 9 })).root;
});
after(() => {
  if (!skip) execFileSync('umount', [disk]);
  tmp.cleanup();
});

/** Fills the filesystem of `dir` until it reports ENOSPC (bounded by its size); returns the filler. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(256 * 1024, 1);
  try {
    for (let i = 0; i < 1024; i++) writeSync(fd, chunk);
    assert.fail('the 16 MB tmpfs never filled');
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  return filler;
}

test('a full disk fails the next checkpoint naming the path; the last one stays loadable and the run resumes', { skip }, async (t) => {
  const out = join(disk, 'run');
  const config = validateConfig(
    {
      name: 'disk',
      seed: 5,
      data: { root: dataRoot, labeled: 2, patch: [16, 16, 16] },
      model: { filters: 2 },
      train: { batch_size: 4, max_iterations: 4, rampup_length: 1 },
      eval: { every: 1000, split: 'test', patch: [16, 16, 16], stride_xy: 8, stride_z: 8 },
      checkpoint: { every: 2 },
    },
    'test',
  );
  let filler = '';
  const observer = { onCheckpoint: ({ iteration }: { iteration: number }) => void (iteration === 2 && (filler = fill(disk))) };
  await assert.rejects(runLocal({ config, out, logger: silentLogger, backend, observer }), (err: Error) => {
    assert.match(err.message, new RegExp(`${disk}/run/\\S+`), 'the error names the path');
    assert.match(err.message, /ENOSPC|no space/i);
    t.diagnostic(`refused with: ${err.message}`);
    return true;
  });
  // The checkpoint of iteration 2 and the run state are intact.
  const kept = await readCheckpoint(join(out, 'model1.safetensors'));
  assert.equal(kept.metadata.iteration, '2');
  kept.model.dispose();
  assert.equal(JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')).iteration, 2);
  // Space back: the same command resumes from iteration 2 and finishes.
  rmSync(filler);
  const summary = await runLocal({ config, out, logger: silentLogger, backend });
  assert.equal(summary.iteration, 4);
  const last = await readCheckpoint(join(out, 'model1.safetensors'));
  assert.equal(last.metadata.iteration, '4');
  last.model.dispose();
});
