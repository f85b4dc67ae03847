/**
 * The other networks through the same training loop (issue 11): the `brats` preset's unet3d trains
 * locally on the tumour phantom, checkpoints as a unet3d and is scored by `tracoco eval`; the
 * `acdc` preset's unet2d trains on axial slices of the cardiac phantom (4 classes) the same way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { loadConfig } from '../../src/shared/config/index.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { silentLogger } from '../../src/shared/log.js';
import { runLocal } from '../../src/local/run-local.js';
import { readCheckpoint } from '../../src/shared/checkpoint/index.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/env.js';

const tmp = tempDir('tracoco-arch-');
let dataRoot = '';
let cardiacRoot = '';
let backend = 'cpu';

before(async () => {
  backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND)).name;
  dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), kind: 'tumour', cases: 6, testCases: 2, shape: [32, 32, 32], seed: 3 })).root;
  cardiacRoot = (await writePhantomDataset({ out: join(tmp.path, 'cardiac'), kind: 'cardiac', cases: 6, testCases: 2, shape: [24, 24, 16], seed: 3 })).root;
});
after(() => tmp.cleanup());

/** The brats preset scaled to a test: 16³ patches, 2 first-level channels, 2 iterations. */
function bratsTiny(extra: string[] = []) {
  return loadConfig({
    configArg: 'brats',
    flags: { data: { root: dataRoot, labeled: 2 }, train: { max_iterations: 2 } },
    set: ['data.patch=[16,16,16]', 'model.filters=2', 'train.rampup_length=1', 'eval.split=test', 'eval.every=2', 'eval.patch=[16,16,16]', 'eval.stride_xy=8', 'eval.stride_z=8', 'checkpoint.every=2', ...extra],
  });
}

test('brats: a unet3d co-trains locally on the tumour phantom, checkpoints as a unet3d and evaluates', async () => {
  const config = bratsTiny();
  assert.equal(config.model.architecture, 'unet3d');
  const out = join(tmp.path, 'brats');
  const summary = await runLocal({ config, out, logger: silentLogger, backend });
  assert.equal(summary.iteration, 2);
  assert.equal(summary.evals.length, 2, 'both models evaluated at the end');
  for (const e of summary.evals) assert.ok(Number.isFinite(e.mean.dice));
  const m2 = await readCheckpoint(join(out, 'model2.safetensors'));
  assert.equal(m2.model.architecture, 'unet3d');
  assert.deepEqual([m2.metadata.architecture, m2.metadata.n_filters], ['unet3d', '2']);
  m2.model.dispose();
  const r = runCli(['eval', '--checkpoint', join(out, 'best.safetensors'), '--data', dataRoot, '--split', 'test', '--patch', '16x16x16', '--stride-xy', '8', '--stride-z', '8', '--json'], { timeoutMs: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { cases: unknown[]; dice: number };
  assert.equal(report.cases.length, 2);
  assert.ok(report.dice >= 0 && report.dice <= 1);
});

/** The acdc preset scaled to a test: slices resized to 32×32, 2 first-level channels, 2 iterations. */
function acdcTiny(extra: string[] = []) {
  return loadConfig({
    configArg: 'acdc',
    flags: { data: { root: cardiacRoot, labeled: 2 }, train: { max_iterations: 2 } },
    set: ['data.slice_size=[32,32]', 'data.patch=[32,32,1]', 'train.batch_size=4', 'model.filters=2', 'train.rampup_length=1', 'eval.split=test', 'eval.every=2', 'eval.patch=[32,32,1]', 'eval.stride_xy=16', 'eval.stride_z=1', 'eval.batch=8', 'checkpoint.every=2', ...extra],
  });
}

test('acdc: a unet2d co-trains locally on slices of the cardiac phantom, checkpoints as a unet2d and evaluates', async () => {
  const config = acdcTiny();
  assert.deepEqual([config.model.architecture, config.data.classes, config.data.patch], ['unet2d', 4, [32, 32, 1]]);
  const out = join(tmp.path, 'acdc');
  const summary = await runLocal({ config, out, logger: silentLogger, backend });
  assert.equal(summary.iteration, 2);
  assert.equal(summary.evals.length, 2, 'both models evaluated at the end');
  for (const e of summary.evals) assert.ok(Number.isFinite(e.mean.dice));
  const m1 = await readCheckpoint(join(out, 'model1.safetensors'));
  assert.equal(m1.model.architecture, 'unet2d');
  assert.equal(m1.metadata.architecture, 'unet2d');
  m1.model.dispose();
  const r = runCli(['eval', '--checkpoint', join(out, 'best.safetensors'), '--data', cardiacRoot, '--split', 'test', '--patch', '32x32x1', '--stride-xy', '16', '--stride-z', '1', '--json'], { timeoutMs: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { cases: unknown[]; dice: number };
  assert.equal(report.cases.length, 2);
  assert.ok(report.dice >= 0 && report.dice <= 1);
});

test('a unet2d run on 3D patches is refused naming data.patch; a unet3d patch must be a multiple of 16', async () => {
  const config = acdcTiny(['data.patch=[32,32,8]']);
  await assert.rejects(runLocal({ config, out: join(tmp.path, 'unet2d-3d'), logger: silentLogger, backend }), /data\.patch.*unet2d trains on axial slices/);
  const r = runCli(['eval', '--checkpoint', join(tmp.path, 'brats', 'best.safetensors'), '--data', dataRoot, '--split', 'test', '--patch', '16x16x8'], { timeoutMs: 60_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /flag --patch.*every axis must be a multiple of 16 for a unet3d/);
});
