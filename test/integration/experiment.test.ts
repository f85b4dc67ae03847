/**
 * `tracoco experiment` end to end on a tiny phantom: methods × seeds as resumable runs, killed
 * once mid-run and restarted, then experiment.json (GUIDE §10 shape) and dice.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { cliPath, tempDir } from '../support/env.js';

const tmp = tempDir('tracoco-experiment-');
let data = '';

before(async () => {
  data = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 8, testCases: 2, shape: [24, 24, 20], seed: 3 })).root;
});
after(() => tmp.cleanup());

const ARGS = (out: string) => [
  cliPath, 'experiment', '--config', 'phantom', '--data', data, '--methods', 'supervised,tracoco', '--seeds', '2', '--out', out, '--json',
  '--max-iterations', '8', '--backend', 'cpu',
  '--set', 'data.patch=[16,16,16]', '--set', 'eval.patch=[16,16,16]', '--set', 'eval.stride_xy=8', '--set', 'eval.stride_z=8',
  '--set', 'eval.every=4', '--set', 'checkpoint.every=2', '--set', 'eval.slices=false', '--set', 'train.rampup_length=2', '--set', 'model.filters=4',
];

/** Runs the CLI; with `killWhen`, SIGKILLs it as soon as the predicate holds (polled, bounded). */
function run(out: string, killWhen?: () => boolean): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ARGS(out), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const deadline = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const poll = killWhen ? setInterval(() => killWhen() && child.kill('SIGKILL'), 50) : null;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (poll) clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('an experiment killed mid-run continues where it stopped and reports every method × seed', { timeout: 600_000 }, async () => {
  const out = join(tmp.path, 'exp');
  const tracocoRun = join(out, 'tracoco', 'seed-0');
  // Killed once the TraCoCo run of seed 0 has its first checkpoint (the supervised run is done by then).
  const first = await run(out, () => existsSync(join(tracocoRun, 'model2.safetensors')));
  assert.equal(first.signal, 'SIGKILL', `the first run should have been killed:\n${first.stderr.slice(-2000)}`);
  assert.ok(existsSync(join(out, 'supervised', 'seed-0', 'state.json')), 'the supervised run finished before the kill');
  assert.ok(!existsSync(join(out, 'experiment.json')));

  const second = await run(out);
  assert.equal(second.code, 0, second.stderr.slice(-3000));
  assert.match(second.stderr, /"event":"experiment.run.done_before"[^\n]*"method":"supervised"[^\n]*"seed":0/, 'the finished run is not trained again');
  assert.match(second.stderr, /"event":"run.resume"[^\n]*"iteration":[1-9]/, 'the interrupted run resumes from its checkpoint, not from 0');

  const report = JSON.parse(second.stdout);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')), report, '--json prints experiment.json');
  assert.deepEqual(report.seeds, [0, 1]);
  assert.deepEqual(Object.keys(report.methods), ['supervised', 'tracoco']);
  assert.equal(report.config.train.max_iterations, 8);
  for (const [name, m] of Object.entries<any>(report.methods)) {
    for (const metric of ['dice', 'jaccard', 'hd95', 'asd']) {
      assert.equal(m[metric].runs.length, 2, `${name}.${metric}`);
    }
    assert.ok(m.dice.mean >= 0 && m.dice.mean <= 1);
    assert.equal(m.runs.length, 2);
    for (const r of m.runs) {
      assert.equal(r.final.iteration, 8);
      assert.ok([4, 8].includes(r.best.iteration));
      assert.ok(r.best.dice >= r.final.dice - 1e-12, 'the best evaluation is at least the final one');
      const models = name === 'tracoco' ? [1, 2] : [1];
      assert.deepEqual(Object.keys(r.models).map(Number), models);
      // Per-case metrics of the best and the final checkpoints, every model, both test cases.
      for (const checkpoint of ['final', 'best']) {
        for (const model of models) assert.equal(r.cases.filter((c: any) => c.checkpoint === checkpoint && c.model === model).length, 2);
      }
      assert.ok(r.train_seconds > 0);
    }
    assert.equal(m.gap_closed, null, 'no supervised-all ceiling in this experiment');
  }
  // The two seeds are different runs.
  assert.notDeepEqual(report.methods.tracoco.runs[0].curve, report.methods.tracoco.runs[1].curve);
  const png = PNG.sync.read(readFileSync(join(out, 'dice.png')));
  assert.ok(png.width >= 200 && png.height >= 150);
});

test('unknown methods are refused naming the flag', async () => {
  const { runCli } = await import('../support/cli.js');
  const r = runCli(['experiment', '--config', 'phantom', '--data', data, '--methods', 'supervised,magic']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--methods/);
  assert.match(r.stderr, /magic/);
});
