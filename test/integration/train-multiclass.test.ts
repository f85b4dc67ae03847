/**
 * Multi-class training end to end (GUIDE §5b): a VNet co-trains locally on the 4-class cardiac
 * phantom with the ACDC options (CutMix on both models, largest-component pseudo-labels, CRC +
 * pseudo-label Dice, the reference CRC form), evaluates per class 1…3, and `tracoco eval` reports
 * the classes; a label value outside data.classes stops training naming the file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '../../src/shared/checkpoint/index.js';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { validateConfig, type TracocoConfig } from '../../src/shared/config/index.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { silentLogger } from '../../src/shared/log.js';
import { runLocal } from '../../src/local/run-local.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { LossTerms } from '../../src/shared/training/step.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/env.js';

const tmp = tempDir('tracoco-multiclass-');
let dataRoot = '';
let backend = 'cpu';

const METRICS = ['dice', 'jaccard', 'hd95', 'asd'] as const;

function acdcLikeConfig(data: Record<string, unknown> = {}, train: Record<string, unknown> = {}, model: Record<string, unknown> = {}): TracocoConfig {
  return validateConfig(
    {
      name: 'cardiac',
      seed: 3,
      data: { root: dataRoot, labeled: 2, classes: 4, patch: [16, 16, 16], ...data },
      model: { architecture: 'vnet', filters: 4, ...model },
      train: { batch_size: 4, max_iterations: 2, rampup_length: 1, cutmix_both: true, pseudo_label_lcc: true, pseudo_dice: true, crc: 'reference', ...train },
      eval: { every: 0, split: 'test', patch: [16, 16, 16], stride_xy: 8, stride_z: 8, batch: 4, slices: false },
      checkpoint: { every: 2 },
    },
    'test',
  );
}

describe('multi-class training (4-class cardiac phantom)', () => {
  before(async () => {
    backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND)).name;
    dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), kind: 'cardiac', cases: 6, testCases: 2, shape: [24, 24, 20], seed: 5 })).root;
  });
  after(() => tmp.cleanup());

  test('a VNet trains 2 iterations with the ACDC options and evaluates classes 1…3', async () => {
    const out = join(tmp.path, 'run');
    const terms: LossTerms[] = [];
    await runLocal({ config: acdcLikeConfig(), out, logger: silentLogger, backend, observer: { onStep: (r) => terms.push(r.terms[1]!, r.terms[2]!) } });
    assert.equal(terms.length, 4);
    for (const t of terms) {
      for (const [name, v] of Object.entries(t)) assert.ok(Number.isFinite(v), `${name} = ${v} is finite`);
      assert.ok(t.crc > 0, 'the unsupervised term is active');
    }
    const evals = readFileSync(join(out, 'evals.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(evals.map((e) => [e.iteration, e.model]), [[2, 1], [2, 2]]);
    for (const e of evals) {
      assert.deepEqual(e.classes.map((c: { class: number }) => c.class), [1, 2, 3]);
      assert.equal(e.cases.length, 2);
      for (const c of e.cases) {
        assert.deepEqual(c.classes.map((k: { class: number }) => k.class), [1, 2, 3]);
        for (const m of METRICS) {
          const finite = c.classes.filter((k: Record<string, number>) => !Number.isNaN(k[m]));
          const mean = finite.reduce((s: number, k: Record<string, number>) => s + k[m]!, 0) / finite.length;
          assert.ok(finite.length === 0 || Math.abs(mean - c[m]) < 1e-12, `case ${c.id}: ${m} is the mean over its classes`);
        }
      }
    }

    const r = runCli(
      ['eval', '--checkpoint', join(out, 'model1.safetensors'), '--data', dataRoot, '--split', 'test', '--patch', '16x16x16', '--stride-xy', '8', '--stride-z', '8', '--batch', '4', '--json'],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.classes.map((c: { class: number }) => c.class), [1, 2, 3]);
    for (const c of report.classes) for (const m of METRICS) assert.equal(typeof c[m], 'number', `class ${c.class} ${m}`);
    assert.equal(report.cases.length, 2);
    assert.ok(Math.abs((report.cases[0].dice + report.cases[1].dice) / 2 - report.dice) < 1e-12, 'the top-level Dice is the mean over cases');
    // The same checkpoint scores the same in training's evaluation and in `tracoco eval`.
    assert.deepEqual(report.cases.map((c: { dice: number }) => c.dice), evals[0].cases.map((c: { dice: number }) => c.dice));
  });

  // The workers all-reduce the per-class Dice sums (supervised and pseudo-label) between replicas.
  test('2 pairs with batch 2 each give the weights of 1 pair with batch 4', async () => {
    // Instance normalisation: no batch statistics, so a replica's half batch is normalised as in the whole.
    const run = async (name: string, pairs: number, batch: number) => {
      const out = join(tmp.path, name);
      const config = acdcLikeConfig({}, { batch_size: batch, shards: 2, exchange_dtype: 'float32', max_iterations: 3 }, { normalization: 'instancenorm' });
      await runLocal({ config, out, logger: silentLogger, backend, pairs });
      return out;
    };
    const [two, one] = [await run('pairs-2', 2, 2), await run('pairs-1', 1, 4)];
    for (const f of ['model1.safetensors', 'model2.safetensors']) {
      const [a, b] = [two, one].map((dir) => decodeSafetensors(new Uint8Array(readFileSync(join(dir, f))), f).tensors);
      let worst = 0;
      for (const [k, t] of a!) {
        if (t.dtype !== 'float32') continue;
        const [x, y] = [t.data as Float32Array, b!.get(k)!.data as Float32Array];
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      }
      assert.ok(worst <= 1e-5, `${f}: max |2 pairs − 1 pair| = ${worst}`);
    }
  });

  test('a label value outside data.classes stops training with a TracocoError naming the file', async () => {
    // The cardiac labels hold 0…3: with 3 classes, label value 3 is out of range.
    await assert.rejects(
      runLocal({ config: acdcLikeConfig({ classes: 3 }), out: join(tmp.path, 'bad'), logger: silentLogger, backend }),
      (e: unknown) => e instanceof TracocoError && /label/.test(e.message) && /\.nii/.test(e.message) && /0\.\.2|0…2|classes/.test(e.message),
    );
  });
});
