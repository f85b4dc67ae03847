/**
 * Local mode with each worker in a thread of its own: the same run as with the workers on the main
 * thread (bitwise, at one native thread per worker), and a thread that fails fails the run with its
 * name instead of leaving the coordinator waiting.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { setThreadCount, threadCount } from '../../src/shared/backend/threads.js';
import type { TracocoConfig } from '../../src/shared/config/index.js';
import { CHECKSUM_KEY, readCheckpoint } from '../../src/shared/checkpoint/checkpoint.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { silentLogger } from '../../src/shared/log.js';
import { runLocal } from '../../src/local/run-local.js';
import { tempDir } from '../support/env.js';
import { tinyLocalConfig } from '../support/local-run.js';

const tmp = tempDir('tracoco-threads-');
let dataRoot = '';
let backend = 'cpu';

function tinyConfig(): TracocoConfig {
  return tinyLocalConfig(dataRoot, { name: 'threads', seed: 4, model: { filters: 4, normalization: 'instancenorm', dropout: false } });
}

async function checksums(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of ['model1.safetensors', 'model2.safetensors']) out.push((await readCheckpoint(join(dir, f))).metadata[CHECKSUM_KEY] ?? '');
  return out;
}

describe('local mode: workers in threads', () => {
  before(async () => {
    backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND)).name;
    dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 7, testCases: 2, shape: [24, 24, 20], seed: 6 })).root;
  });
  after(() => tmp.cleanup());

  test('trains the same weights and evaluations as workers on the main thread', async () => {
    const saved = threadCount();
    const threaded = join(tmp.path, 'threaded');
    const inline = join(tmp.path, 'inline');
    const steps: number[] = [];
    try {
      // Two workers on two threads get one native thread each; the inline run uses one too.
      setThreadCount(2);
      const a = await runLocal({ config: tinyConfig(), out: threaded, logger: silentLogger, backend, workerThreads: true, observer: { onStep: (r) => steps.push(r.iteration) } });
      setThreadCount(1);
      const b = await runLocal({ config: tinyConfig(), out: inline, logger: silentLogger, backend, workerThreads: false });
      assert.equal(a.iteration, 4);
      assert.equal(b.iteration, 4);
    } finally {
      setThreadCount(saved);
    }
    assert.deepEqual(steps, [1, 2, 3, 4]);
    const [t1, t2] = await checksums(threaded);
    assert.ok(t1 && t2 && t1 !== t2, 'two different trained models');
    assert.deepEqual(await checksums(inline), [t1, t2]);
    const evals = (dir: string) => readFileSync(join(dir, 'evals.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).mean);
    assert.equal(evals(threaded).length, 4);
    assert.deepEqual(evals(threaded), evals(inline));
  });

  test('TRACOCO_WORKER_THREADS must be 0 or 1, naming the variable', async () => {
    process.env.TRACOCO_WORKER_THREADS = 'yes';
    try {
      await assert.rejects(runLocal({ config: tinyConfig(), out: join(tmp.path, 'env'), logger: silentLogger, backend }), /environment variable TRACOCO_WORKER_THREADS.*expected 0 or 1, got 'yes'|expected 0 or 1, got 'yes'/);
    } finally {
      delete process.env.TRACOCO_WORKER_THREADS;
    }
  });

  test('a worker thread that cannot start fails the run, naming it', async () => {
    await assert.rejects(
      runLocal({ config: tinyConfig(), out: join(tmp.path, 'broken'), logger: silentLogger, backend: 'no-such-backend', workerThreads: true }),
      /worker thread local-[01] failed: .*no-such-backend/,
    );
  });
});
