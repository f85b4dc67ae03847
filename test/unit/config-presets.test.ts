/** Published defaults, preset rows picked by the labelled count, and the evaluation cadence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, presets, presetRow, validateConfig } from '../../src/shared/config/index.js';
import { periodicEvalDue } from '../../src/shared/evaluation/settings.js';

test('schema defaults are the published method: intra pairing, reference KL, no noise clamp, scale 1', () => {
  const c = validateConfig({}, 'defaults');
  assert.equal(c.train.pairing, 'intra');
  assert.equal(c.train.kl, 'reference');
  assert.equal(c.train.input_noise, 0.2);
  assert.equal(c.train.input_noise_clamp, false);
  assert.equal(c.data.scale, 1);
  assert.deepEqual([c.eval.every_epochs, c.eval.start], [null, 0], 'iteration cadence unless a preset says otherwise');
  const la = loadConfig({ configArg: 'la' });
  assert.deepEqual([la.eval.every_epochs, la.eval.start], [25, 800], 'la: the published cadence');
});

test('la picks the published row by data.labeled: 8 → 0.3 / 9000, 16 → 1.0 / 9000, 32 → 1.0 / 12000', () => {
  const row = (labeled: number) => {
    const c = loadConfig({ configArg: 'la', flags: { data: { labeled } } });
    return [c.train.unsup_weight, c.train.max_iterations];
  };
  assert.deepEqual(row(8), [0.3, 9000]);
  assert.deepEqual(row(16), [1.0, 9000]);
  assert.deepEqual(row(32), [1.0, 12000]);
  // Without --labeled the schema default (16) picks its row.
  assert.deepEqual([loadConfig({ configArg: 'la' }).train.unsup_weight, loadConfig({ configArg: 'la' }).data.labeled], [1.0, 16]);
  // Other counts take the nearest published row (ties: the smaller).
  assert.deepEqual(row(10), [0.3, 9000]);
  assert.deepEqual(row(12), [0.3, 9000]);
  assert.deepEqual(row(40), [1.0, 12000]);
});

test('explicit settings win over the row: flags, --set and YAML files above the preset', () => {
  const c = loadConfig({ configArg: 'la', flags: { data: { labeled: 8 }, train: { max_iterations: 50 } }, set: ['train.unsup_weight=0.7'] });
  assert.equal(c.train.max_iterations, 50);
  assert.equal(c.train.unsup_weight, 0.7);
  const dir = mkdtempSync(join(tmpdir(), 'tracoco-config-'));
  const file = join(dir, 'run.yaml');
  writeFileSync(file, 'preset: la\ndata:\n  labeled: 32\n');
  const fromFile = loadConfig({ configArg: file });
  assert.deepEqual([fromFile.train.unsup_weight, fromFile.train.max_iterations], [1.0, 12000], 'the file’s labelled count picks the row');
  writeFileSync(file, 'preset: la\ndata:\n  labeled: 8\ntrain:\n  unsup_weight: 0.5\n');
  assert.equal(loadConfig({ configArg: file }).train.unsup_weight, 0.5, 'the file overrides the row');
});

test('pancreas: noise U(-0.05, 0.05) clamped to [0, 1], offset sampler, final-checkpoint evaluation, published rows', () => {
  const c = loadConfig({ configArg: 'pancreas' });
  assert.equal(c.train.input_noise, 0.05);
  assert.equal(c.train.input_noise_clamp, true);
  assert.equal(c.data.translation, 'offset');
  assert.equal(c.data.translation_offset, 48);
  assert.equal(c.train.lr, 0.025);
  assert.deepEqual([c.eval.every, c.eval.every_epochs], [0, null]);
  const row = (labeled: number) => {
    const r = loadConfig({ configArg: 'pancreas', flags: { data: { labeled } } });
    return [r.train.unsup_weight, r.train.max_iterations];
  };
  assert.deepEqual(row(6), [0.3, 10000]);
  assert.deepEqual(row(12), [1.0, 10000]);
  assert.deepEqual(row(24), [1.0, 15000]);
});

test('presetRow returns null for presets without rows; every preset validates', () => {
  assert.equal(presetRow(presets.phantom!, 2), null);
  for (const name of Object.keys(presets)) assert.doesNotThrow(() => loadConfig({ configArg: name }), name);
  assert.throws(() => loadConfig({ configArg: 'la', set: ['train.pairing=sideways'] }), /train\.pairing/);
});

test('evaluation cadence: every 25 epochs past iteration 800 (LA), or every N iterations', () => {
  const la = loadConfig({ configArg: 'la', flags: { data: { labeled: 8 } } }).eval;
  // 8 labels, batch 4 → 4 iterations per epoch → every 100 iterations, after 800.
  const due = Array.from({ length: 1200 }, (_, i) => i + 1).filter((k) => periodicEvalDue(la, 4, k));
  assert.equal(due[0], 900);
  assert.ok(due.every((k) => k % 100 === 0 && k > 800));
  assert.deepEqual(due, [900, 1000, 1100, 1200]);
  const plain = { ...la, every_epochs: null, every: 100, start: 0 };
  assert.deepEqual([100, 150, 200].map((k) => periodicEvalDue(plain, 4, k)), [true, false, true]);
  assert.equal(periodicEvalDue({ ...plain, every: 0 }, 4, 100), false, 'every 0: only the final evaluation');
});

test('acdc is the published 2D setting (GUIDE §5b): unet2d on 256×256 slices, 4 classes, batch 24, 50000 iterations for 3/7/14', () => {
  for (const labeled of [3, 7, 14]) {
    const c = loadConfig({ configArg: 'acdc', flags: { data: { labeled } } });
    assert.deepEqual([c.model.architecture, c.model.filters, c.data.classes, c.data.labeled], ['unet2d', 16, 4, labeled]);
    assert.deepEqual([c.data.slice_size, c.data.patch], [[256, 256], [256, 256, 1]]);
    assert.deepEqual([c.train.batch_size, c.train.lr, c.train.spatial_weight, c.train.entropy_weight], [24, 0.065, 0.1, 0.01]);
    assert.deepEqual([c.train.input_noise, c.train.input_noise_clamp, c.train.max_iterations], [0.05, false, 50000]);
  }
  assert.deepEqual(presetRow(presets['acdc']!, 7)?.labeled, 7);
});
