import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { validateConfig, type TracocoConfig } from '../../src/shared/config/index.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { silentLogger } from '../../src/shared/log.js';
import { runLocal } from '../../src/local/run-local.js';
import { readCheckpoint } from '../../src/shared/checkpoint/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/env.js';
import { tinyLocalConfig } from '../support/local-run.js';

const tmp = tempDir('tracoco-train-');
let dataRoot = '';
let backend = 'cpu';

/** The tiny CI run (test/support/local-run.ts) on this file's phantoms. */
function tinyConfig(overrides: Record<string, unknown> = {}): TracocoConfig {
  return tinyLocalConfig(dataRoot, overrides);
}

describe('local training (coordinator + workers in one process)', () => {
  before(async () => {
    backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND)).name;
    dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 7, testCases: 2, shape: [24, 24, 20], seed: 2 })).root;
  });
  after(() => tmp.cleanup());

  test('writes model1/model2/best checkpoints, the run state, evaluations and slices', async () => {
    const out = join(tmp.path, 'run-a');
    const steps: number[] = [];
    const summary = await runLocal({ config: tinyConfig(), out, logger: silentLogger, backend, observer: { onStep: (r) => steps.push(r.iteration) } });
    assert.deepEqual(steps, [1, 2, 3, 4]);
    assert.equal(summary.iteration, 4);
    for (const f of ['model1.safetensors', 'model2.safetensors', 'best.safetensors', 'state.json', 'config.yaml', 'evals.jsonl']) {
      assert.ok(existsSync(join(out, f)), `${f} exists`);
    }
    const state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
    assert.equal(state.iteration, 4);
    assert.equal(state.finished, true);
    const evals = readFileSync(join(out, 'evals.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(evals.map((e) => [e.iteration, e.model]), [[2, 1], [2, 2], [4, 1], [4, 2]]);
    for (const e of evals) assert.equal(e.cases.length, 2);
    const pngs = readdirSync(join(out, 'eval')).filter((f) => f.endsWith('.png'));
    assert.equal(pngs.length, 4, `one PNG per test case and model: ${pngs.join(', ')}`);
    const best = await readCheckpoint(join(out, 'best.safetensors'));
    assert.equal(best.metadata.n_filters, '4');
    assert.ok(['2', '4'].includes(best.metadata.iteration!), 'best is one of the evaluated checkpoints');
    best.model.dispose();
    const m1 = await readCheckpoint(join(out, 'model1.safetensors'));
    assert.equal(m1.metadata.iteration, '4');
    m1.model.dispose();
  });

  test('tracoco eval scores a checkpoint with the reference protocol and writes slices', () => {
    const slices = join(tmp.path, 'eval-slices');
    const args = ['eval', '--checkpoint', join(tmp.path, 'run-a', 'best.safetensors'), '--data', dataRoot, '--split', 'test'];
    const window = ['--patch', '16x16x16', '--stride-xy', '8', '--stride-z', '8', '--batch', '4'];
    const r = runCli([...args, ...window, '--slices', slices, '--json'], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    for (const k of ['dice', 'jaccard', 'hd95', 'asd']) assert.equal(typeof report[k], 'number', k);
    assert.equal(report.cases.length, 2);
    const mean = report.cases.reduce((s: number, c: { dice: number }) => s + c.dice, 0) / 2;
    assert.ok(Math.abs(mean - report.dice) < 1e-12, 'the reported Dice is the mean over cases');
    // Two classes: the one foreground class's scores are the case's and the report's numbers exactly.
    assert.deepEqual(report.classes.map((c: { class: number }) => c.class), [1]);
    for (const k of ['dice', 'jaccard', 'hd95', 'asd']) {
      assert.equal(report.classes[0][k], report[k], k);
      for (const c of report.cases) assert.equal(c.classes[0][k], c[k], `${c.id} ${k}`);
    }
    assert.equal(readdirSync(slices).filter((f) => f.endsWith('.png')).length, 2);

    const post = runCli([...args, ...window, '--post-process', '--json'], { timeoutMs: 120_000 });
    assert.equal(post.status, 0, post.stderr);
    // 16x16x16-scale organs are far below 8000 voxels: post-processing removes every prediction.
    assert.ok(JSON.parse(post.stdout).cases.every((c: { dice: number }) => c.dice === 0));
    // The largest component is a subset of the prediction: a case whose prediction misses the organ
    // still scores 0 (what the mode keeps is the unit test's).
    const largest = runCli([...args, ...window, '--post-process', 'largest-component', '--json'], { timeoutMs: 120_000 });
    assert.equal(largest.status, 0, largest.stderr);
    const kept = JSON.parse(largest.stdout).cases as { id: string; dice: number }[];
    assert.deepEqual(kept.map((c) => c.id), report.cases.map((c: { id: string }) => c.id));
    kept.forEach((c, i) => {
      assert.ok(c.dice >= 0 && c.dice <= 1, JSON.stringify(c));
      if (report.cases[i].dice === 0) assert.equal(c.dice, 0, c.id);
    });
    const unknown = runCli([...args, ...window, '--post-process', 'biggest']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /--post-process.*none, small-components, largest-component/);

    // The predictions judged as pseudo-labels: at γ = 0.5 with two classes every organ prediction
    // is confident, so the covered share and the missed share of the organ add up to one.
    const judged = runCli([...args, ...window, '--confidence', '0.5', '--skip', '1', '--json'], { timeoutMs: 120_000 });
    assert.equal(judged.status, 0, judged.stderr);
    const j = JSON.parse(judged.stdout);
    assert.equal(j.cases.length, 1, '--skip 1 leaves one of the two test cases');
    assert.equal(j.cases[0].id, report.cases[1].id);
    assert.equal(j.confidence.threshold, 0.5);
    const [organ] = j.confidence.classes;
    assert.equal(organ.class, 1);
    assert.ok(Math.abs(organ.coverage + organ.false_negatives - 1) < 1e-9, JSON.stringify(organ));
    const skipAll = runCli([...args, ...window, '--skip', '2']);
    assert.notEqual(skipAll.status, 0);
    assert.match(skipAll.stderr, /--skip/);
    // --exclude names the cases to leave out (e.g. a run's data.labeled_ids), wherever they stand.
    const firstId = report.cases[0].id as string;
    const excluded = runCli([...args, ...window, '--exclude', firstId, '--json'], { timeoutMs: 120_000 });
    assert.equal(excluded.status, 0, excluded.stderr);
    const e = JSON.parse(excluded.stdout);
    assert.deepEqual(e.cases.map((c: { id: string }) => c.id), [report.cases[1].id]);
    assert.equal(e.cases[0].dice, report.cases[1].dice, 'the kept case scores as before');
    const unknownId = runCli([...args, ...window, '--exclude', `${firstId},no-such-case`]);
    assert.notEqual(unknownId.status, 0);
    assert.match(unknownId.stderr, /no-such-case.*--exclude|--exclude.*no-such-case/);
    const excludeAll = runCli([...args, ...window, '--exclude', report.cases.map((c: { id: string }) => c.id).join(',')]);
    assert.notEqual(excludeAll.status, 0);
    assert.match(excludeAll.stderr, /--exclude/);

    const bad = runCli(['eval', '--checkpoint', join(tmp.path, 'nope.safetensors'), '--data', dataRoot]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /nope\.safetensors/);
  });

  test('a run interrupted after a checkpoint resumes to the same weights as an uninterrupted one', async () => {
    const straight = join(tmp.path, 'run-straight');
    await runLocal({ config: tinyConfig(), out: straight, logger: silentLogger, backend });

    const resumed = join(tmp.path, 'run-resumed');
    const crash = {
      onStep: (r: { iteration: number }) => {
        if (r.iteration === 3) throw new Error('simulated crash');
      },
    };
    await assert.rejects(runLocal({ config: tinyConfig(), out: resumed, logger: silentLogger, backend, observer: crash }), /simulated crash/);
    const starts: number[] = [];
    const summary = await runLocal({ config: tinyConfig(), out: resumed, logger: silentLogger, backend, observer: { onStart: (s) => starts.push(s.iteration) } });
    assert.deepEqual(starts, [2], 'resumed from the checkpoint at iteration 2');
    assert.equal(summary.iteration, 4);
    for (const f of ['model1.safetensors', 'model2.safetensors']) {
      assert.deepEqual(readFileSync(join(resumed, f)), readFileSync(join(straight, f)), `${f} identical`);
    }
  });

  test('resuming with a different config is refused, naming the field', async () => {
    const out = join(tmp.path, 'run-a');
    await assert.rejects(
      runLocal({ config: tinyConfig({ seed: 12 }), out, logger: silentLogger, backend }),
      (err: unknown) => err instanceof TracocoError && /seed/.test(err.message),
    );
  });

  test('the supervised-only baseline trains one model', async () => {
    const out = join(tmp.path, 'run-base');
    const config = tinyConfig();
    const summary = await runLocal({ config: validateConfig({ ...config, train: { ...config.train, semi_supervised: false } }, 'test'), out, logger: silentLogger, backend });
    assert.equal(summary.iteration, 4);
    assert.ok(existsSync(join(out, 'model1.safetensors')));
    assert.ok(!existsSync(join(out, 'model2.safetensors')));
    assert.ok(summary.evals.every((e) => e.role === 1));
  });

  test('tracoco train runs from the command line and names bad config fields', () => {
    const out = join(tmp.path, 'run-cli');
    const common = ['train', '--config', 'phantom', '--data', dataRoot, '--out', out, '--max-iterations', '2', '--labeled', '2', '--set', 'model.filters=2'];
    const patch = ['--set', 'data.patch=[16,16,16]', '--set', 'eval.patch=[16,16,16]', '--set', 'eval.stride_xy=8', '--set', 'eval.stride_z=8'];
    const ok = runCli([...common, ...patch, '--json'], { timeoutMs: 300_000 });
    assert.equal(ok.status, 0, ok.stderr);
    const summary = JSON.parse(ok.stdout);
    assert.equal(summary.iteration, 2);
    assert.ok(existsSync(join(out, 'model1.safetensors')));

    const bad = runCli([...common, '--set', 'train.bogus=1', '--out', join(tmp.path, 'run-bad')]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /train\.bogus/);
    assert.match(bad.stderr, /unknown config field/);

    const printed = runCli(['train', '--config', 'la', '--print-config']);
    assert.equal(printed.status, 0, printed.stderr);
    assert.match(printed.stdout, /max_iterations: 9000/);
  });
});
