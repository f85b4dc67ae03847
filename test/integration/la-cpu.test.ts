/**
 * The `la-cpu` preset on real Left Atrium volumes (the 3-case sample in ../shared, skipped when
 * absent): cases are resampled by data.scale at load, and a few TraCoCo iterations train at the
 * preset's patch and width.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { loadConfig } from '../../src/shared/config/index.js';
import { scaledShape } from '../../src/shared/data/resample.js';
import { openDataset } from '../../src/shared/io/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { loadTrainingData } from '../../src/coordinator/training-data.js';
import { runLocal } from '../../src/local/run-local.js';
import { laSampleDir, skipUnlessExists, tempDir } from '../support/env.js';

const skip = skipUnlessExists(join(laSampleDir, 'train.list'), 'Left Atrium sample');

test('la-cpu resamples real LA volumes at load and trains TraCoCo on them', { skip, timeout: 300_000 }, async () => {
  const backend = await initBackend();
  const tmp = tempDir('tracoco-la-cpu-');
  try {
    const config = loadConfig({ configArg: 'la-cpu', flags: { data: { root: laSampleDir, labeled: 2 }, train: { max_iterations: 2 } }, set: ['eval.slices=false'] });
    assert.equal(config.data.scale, 0.4);
    assert.equal(config.train.pairing, 'intra');
    assert.equal(config.train.kl, 'reference');
    const dataset = openDataset(laSampleDir);
    const data = await loadTrainingData(dataset, config, silentLogger);
    assert.deepEqual(data.labeled.length + data.unlabeled.length, 3);
    for (const id of dataset.ids('train')) {
      const stored = await dataset.load(id, { classes: 2 });
      const c = data.cases.get(id)!;
      assert.deepEqual(c.shape, scaledShape(stored.shape, 0.4), id);
      assert.equal(c.image.length, c.shape[0] * c.shape[1] * c.shape[2]);
      const labels = new Set(c.label ?? []);
      assert.ok([...labels].every((v) => v === 0 || v === 1), `${id}: labels stay binary`);
      assert.ok(labels.has(1), `${id}: the atrium survives the resampling`);
    }
    const summary = await runLocal({ config, out: tmp.path, logger: silentLogger, backend: backend.name });
    assert.equal(summary.iteration, 2);
    assert.ok(existsSync(join(tmp.path, 'model1.safetensors')) && existsSync(join(tmp.path, 'model2.safetensors')));
    assert.match(readFileSync(join(tmp.path, 'config.yaml'), 'utf8'), /scale: 0.4/);
  } finally {
    tmp.cleanup();
  }
});
