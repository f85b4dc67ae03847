/**
 * `tracoco demo` end to end at a tiny size: the three methods' table as JSON, finished runs kept
 * when the demo is run again with the same phantom, and retrained when the phantom changes (their
 * configs are the same, so only the recorded phantom settings can tell them apart).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, tempDir } from '../support/env.js';
import { DEMO_APPEARANCE } from '../../src/cli/commands/demo.js';
import { appearanceOf } from '../../src/shared/data/phantom.js';

const tmp = tempDir('tracoco-demo-');
after(() => tmp.cleanup());

const out = join(tmp.path, 'demo');
const ARGS = [
  cliPath, 'demo', '--out', out, '--cases', '6', '--test-cases', '2', '--size', '24x24x20', '--max-iterations', '4', '--backend', 'cpu', '--json',
  '--set', 'data.patch=[16,16,16]', '--set', 'eval.patch=[16,16,16]', '--set', 'eval.stride_xy=8', '--set', 'eval.stride_z=8',
  '--set', 'eval.every=2', '--set', 'checkpoint.every=2', '--set', 'train.rampup_length=2', '--set', 'model.filters=4',
];

function demo(...extra: string[]) {
  const r = spawnSync(process.execPath, [...ARGS, ...extra], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  return { report: JSON.parse(r.stdout), stderr: r.stderr };
}

const doneBefore = (stderr: string) => stderr.split('\n').filter((l) => l.includes('"event":"experiment.run.done_before"')).length;

test('demo: the three methods as experiment.json; the same phantom keeps its runs, another one retrains them', { timeout: 900_000 }, () => {
  const first = demo();
  assert.deepEqual(Object.keys(first.report.methods), ['supervised', 'tracoco', 'supervised-all']);
  assert.deepEqual(first.report.seeds, [0]);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')), first.report, '--json prints experiment.json');
  for (const m of Object.values<any>(first.report.methods)) assert.ok(m.dice.mean >= 0 && m.dice.mean <= 1);
  const settings = JSON.parse(readFileSync(join(out, 'demo-dataset.json'), 'utf8'));
  assert.deepEqual(appearanceOf(settings), DEMO_APPEARANCE, 'the demo records the phantom settings it trained on');
  assert.equal(doneBefore(first.stderr), 0);

  const again = demo();
  assert.equal(doneBefore(again.stderr), 3, 'every finished run is reused for the same phantom');
  assert.deepEqual(again.report.methods.tracoco.dice, first.report.methods.tracoco.dice);

  // A file the demo does not own survives a replacement.
  writeFileSync(join(out, 'notes.txt'), 'mine');
  const brighter = demo('--vessel', 'brighter');
  assert.equal(doneBefore(brighter.stderr), 0, 'runs trained on the other phantom are not reused');
  assert.match(brighter.stderr, /"event":"demo.replaced"/);
  assert.equal(JSON.parse(readFileSync(join(out, 'demo-dataset.json'), 'utf8')).vessel, 'brighter');
  assert.ok(existsSync(join(out, 'notes.txt')));
});
