/** The evidence table's arithmetic: spread over seeds, gap closed, and reading evaluation logs back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/shared/config/index.js';
import { experimentReport, experimentTable, spread } from '../../src/shared/experiment/report.js';
import { parseEvalLog, runResult, type RunResult } from '../../src/shared/experiment/results.js';
import { methodConfig } from '../../src/shared/experiment/methods.js';

const config = validateConfig({ data: { labeled: 8 }, eval: { every_epochs: 25, start: 800 } }, 'test');

function run(dice: number): RunResult {
  const m = { dice, jaccard: dice / (2 - dice), hd95: 3, asd: 1 };
  return { seed: 0, dir: '', final: { ...m, iteration: 10 }, best: { ...m, iteration: 10 }, models: { '1': { final: { ...m, iteration: 10 }, best: { ...m, iteration: 10 } } }, cases: [], curve: [], train_seconds: 1, seconds_per_iteration: 0.1 };
}

test('spread: mean and sample sd over seeds, NaN runs left out, no sd from one run', () => {
  assert.deepEqual(spread([0.5]), { mean: 0.5, sd: null, runs: [0.5] });
  const s = spread([0.6, 0.8, Number.NaN]);
  assert.ok(Math.abs(s.mean! - 0.7) < 1e-12);
  assert.ok(Math.abs(s.sd! - Math.sqrt(0.02)) < 1e-12);
  assert.deepEqual(s.runs, [0.6, 0.8, null]);
});

test('gap closed is (method − supervised) / (ceiling − supervised), and null when there is no gap', () => {
  const r = experimentReport(config, [0], [
    { method: 'supervised', runs: [run(0.6)] },
    { method: 'tracoco', runs: [run(0.7)] },
    { method: 'supervised-all', runs: [run(0.8)] },
  ]);
  assert.ok(Math.abs(r.methods.tracoco!.gap_closed! - 0.5) < 1e-12);
  assert.equal(r.methods.supervised!.gap_closed, 0);
  const inverted = experimentReport(config, [0], [
    { method: 'supervised', runs: [run(0.8)] },
    { method: 'tracoco', runs: [run(0.7)] },
    { method: 'supervised-all', runs: [run(0.75)] },
  ]);
  assert.equal(inverted.methods.tracoco!.gap_closed, null, 'a ceiling below the baseline closes no gap');
});

test('the table keeps its columns aligned for a method name longer than the default column', () => {
  const r = experimentReport(config, [0], [
    { method: 'supervised', runs: [run(0.6)] },
    { method: 'oracle-pseudo-labels', runs: [run(0.75)] },
    { method: 'supervised-all', runs: [run(0.8)] },
  ]);
  const lines = experimentTable(r, 'title').split('\n');
  const rows = lines.filter((l) => /^(method|supervised|oracle)/.test(l));
  assert.equal(rows.length, 4);
  const diceEnds = rows.map((l) => l.indexOf(l.startsWith('method') ? 'Dice' : '0.') + (l.startsWith('method') ? 4 : 6));
  assert.equal(new Set(diceEnds).size, 1, `Dice column ends at ${diceEnds.join(', ')}`);
  assert.match(lines.find((l) => l.startsWith('oracle'))!, /^oracle-pseudo-labels +0\.7500 /);
  assert.match(lines.find((l) => l.startsWith('oracle'))!, / 75% /, 'the oracle closes 75% of the gap');
});

test('evaluation logs: the last record of an iteration wins (resumed runs), best and final per model', () => {
  const line = (iteration: number, model: number, dice: number) => JSON.stringify({ iteration, model, mean: { dice, jaccard: dice, hd95: null, asd: 1 }, cases: [{ id: 'a', dice, jaccard: dice, hd95: null, asd: 1 }] });
  const text = [line(5, 1, 0.2), line(5, 2, 0.4), line(10, 1, 0.9), line(10, 1, 0.5), line(10, 2, 0.7)].join('\n');
  const records = parseEvalLog(text, 'evals.jsonl');
  assert.equal(records.length, 4);
  assert.ok(Number.isNaN(records[0]!.mean.hd95), 'null distances read back as NaN');
  const r = runResult(records, { seed: 3, dir: 'd', models: [1, 2], maxIterations: 10, trainSeconds: 20 });
  assert.ok(Math.abs(r.final.dice - 0.6) < 1e-12, 'final = mean of the models at the last iteration (0.5 replaced 0.9)');
  assert.equal(r.best.iteration, 10);
  assert.equal(r.models['2']!.best.dice, 0.7);
  assert.equal(r.cases.filter((c) => c.checkpoint === 'final').length, 2);
  assert.equal(r.seconds_per_iteration, 2);
  assert.throws(() => runResult(records, { seed: 3, dir: 'd', models: [1, 2], maxIterations: 20, trainSeconds: 1 }), /final iteration 20/);
  assert.throws(() => parseEvalLog('{"iteration": 1}\nnot json', 'x.jsonl'), /line 1/);
});

test('method configs: same budget and evaluation iterations for every method; the ceiling labels every case', () => {
  const sup = methodConfig(config, 'supervised', 4, 70);
  const all = methodConfig(config, 'supervised-all', 4, 70);
  const cross = methodConfig(config, 'tracoco-cross', 4, 70);
  const oracle = methodConfig(config, 'oracle-pseudo-labels', 4, 70);
  assert.equal(sup.seed, 4);
  // Only the oracle trains on ground-truth pseudo-labels; it is the published method otherwise.
  assert.deepEqual([oracle.train.pseudo_labels, oracle.train.pairing, oracle.train.kl, oracle.train.cutmix], ['ground-truth', 'intra', 'reference', true]);
  assert.equal(methodConfig(config, 'tracoco', 4, 70).train.pseudo_labels, 'peer');
  assert.equal(sup.train.semi_supervised, false);
  assert.deepEqual([all.data.labeled, all.train.semi_supervised], [70, false]);
  assert.deepEqual([cross.train.pairing, cross.train.kl], ['cross', 'class']);
  // 25 epochs of 8 labels at batch 4 = 100 iterations, for every method.
  for (const c of [sup, all, cross, oracle]) assert.deepEqual([c.eval.every, c.eval.every_epochs, c.train.max_iterations], [100, null, config.train.max_iterations]);
});
