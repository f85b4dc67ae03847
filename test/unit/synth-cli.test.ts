import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNifti } from '../../src/shared/io/index.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/env.js';
import { readTree } from '../support/assertions.js';

const ARGS = ['--cases', '4', '--size', '24x20x16', '--seed', '5'];

test('tracoco synth --json writes a readable MSD dataset and reports it', async () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'data');
    const r = runCli(['synth', '--out', out, ...ARGS, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.deepEqual(result, {
      out,
      training: ['phantom_000', 'phantom_001', 'phantom_002'],
      test: ['phantom_003'],
      shape: [24, 20, 16],
      seed: 5,
      kind: 'organ',
      classes: 2,
    });
    // stderr is not a TTY here: one structured log line per case
    const events = r.stderr.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(
      events.filter((e) => e.event === 'synth.case').map((e) => [e.done, e.total]),
      [[1, 4], [2, 4], [3, 4], [4, 4]],
    );

    const json = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'));
    assert.equal(json.numTraining, 3);
    assert.equal(json.numTest, 1);
    for (const entry of [...json.training, ...json.test]) {
      const image = await readNifti(join(out, entry.image));
      const label = await readNifti(join(out, entry.label));
      assert.deepEqual([...image.shape], [24, 20, 16]);
      assert.deepEqual([...label.shape], [24, 20, 16]);
      assert.ok(label.data.some((v) => v === 1), `${entry.label} has no organ`);
      assert.ok(label.data.every((v) => v === 0 || v === 1), `${entry.label} has values outside 0..1`);
    }
  } finally {
    dir.cleanup();
  }
});

test('tracoco synth is byte-identical across two runs with the same seed', () => {
  const dir = tempDir();
  try {
    const a = runCli(['synth', '--out', join(dir.path, 'a'), ...ARGS]);
    const b = runCli(['synth', '--out', join(dir.path, 'b'), ...ARGS]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.match(a.stdout, /wrote 3 training and 1 test cases/);
    const treeA = readTree(join(dir.path, 'a'));
    const treeB = readTree(join(dir.path, 'b'));
    assert.equal(treeA.size, 9);
    assert.deepEqual([...treeA.keys()].sort(), [...treeB.keys()].sort());
    for (const [path, bytes] of treeA) assert.ok(bytes.equals(treeB.get(path)!), `${path} differs`);
  } finally {
    dir.cleanup();
  }
});

test('tracoco synth --kind cardiac|tumour: classes in --json and dataset.json, every class in the labels, byte-identical per seed', async () => {
  const dir = tempDir();
  try {
    for (const [kind, classes] of [['cardiac', 4], ['tumour', 2]] as const) {
      const run = (name: string) => runCli(['synth', '--out', join(dir.path, name), '--kind', kind, '--cases', '2', '--size', '32x32x24', '--seed', '3', '--json']);
      const a = run(`${kind}-a`);
      const b = run(`${kind}-b`);
      assert.equal(a.status, 0, a.stderr);
      assert.equal(b.status, 0, b.stderr);
      const result = JSON.parse(a.stdout);
      assert.equal(result.kind, kind);
      assert.equal(result.classes, classes);
      const json = JSON.parse(readFileSync(join(dir.path, `${kind}-a`, 'dataset.json'), 'utf8'));
      assert.deepEqual(Object.keys(json.labels), Array.from({ length: classes }, (_, i) => String(i)));
      for (const entry of [...json.training, ...json.test]) {
        const label = await readNifti(join(dir.path, `${kind}-a`, entry.label));
        const present = new Set(label.data);
        assert.deepEqual([...present].sort(), Array.from({ length: classes }, (_, i) => i), `${kind} ${entry.label}`);
      }
      const treeA = readTree(join(dir.path, `${kind}-a`));
      const treeB = readTree(join(dir.path, `${kind}-b`));
      for (const [path, bytes] of treeA) assert.ok(bytes.equals(treeB.get(path)!), `${kind} ${path} differs`);
    }
  } finally {
    dir.cleanup();
  }
});

test('tracoco synth --test-cases overrides the split', () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'data');
    const r = runCli(['synth', '--out', out, ...ARGS, '--test-cases', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.deepEqual(result.training, ['phantom_000', 'phantom_001']);
    assert.deepEqual(result.test, ['phantom_002', 'phantom_003']);
  } finally {
    dir.cleanup();
  }
});

test('tracoco synth rejects bad flags, naming the flag, and documents them in --help', () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, 'data');
    const cases: [string[], RegExp][] = [
      [['--size', '8x8x8'], /--size/],
      [['--size', '64x64'], /--size/],
      [['--cases', 'many'], /--cases/],
      [['--cases', '1'], /--cases/],
      [['--seed', '-3'], /--seed/],
      [['--cases', '4', '--test-cases', '4'], /--test-cases/],
      [['--kind', 'brain'], /--kind/],
      [['--vessel', 'grey'], /--vessel/],
      [['--kind', 'tumour', '--vessel', 'darker'], /--vessel/],
      [['--noise-spread', '-1'], /--noise-spread/],
      [['--noise-spread', '4'], /--noise-spread/],
    ];
    for (const [flags, names] of cases) {
      const r = runCli(['synth', '--out', out, ...flags]);
      assert.notEqual(r.status, 0, `${flags.join(' ')} was accepted`);
      assert.match(r.stderr, names, `${flags.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
    const missingOut = runCli(['synth']);
    assert.notEqual(missingOut.status, 0);
    assert.match(missingOut.stderr, /--out/);

    const help = runCli(['synth', '--help']);
    assert.equal(help.status, 0);
    for (const flag of ['--out', '--cases', '--size', '--seed', '--test-cases', '--kind', '--vessel', '--noise-spread', '--json']) assert.match(help.stdout, new RegExp(flag));
  } finally {
    dir.cleanup();
  }
});
