/**
 * `tracoco chaos` end to end (issue 14): a 2-worker cluster on loopback takes one fault of every
 * kind — SIGKILLed worker, SIGKILLed coordinator, restarted nats-server, SIGSTOPped worker, late
 * joiner — and must end exactly as the fault-free run does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessBinary } from '../support/env.js';
import { startCli } from '../support/cluster.js';
import { FAULT_KINDS } from '../../src/cli/chaos/schedule.js';
import type { ChaosReport } from '../../src/cli/chaos/chaos.js';

const skip = skipUnlessBinary('nats-server');

describe('tracoco chaos', { skip }, () => {
  test('one fault of every kind: exactly max_iterations, every checkpoint loads, weights bitwise equal to the fault-free run', async () => {
    const maxIterations = 10;
    const p = startCli(['chaos', '--workers', '2', '--faults', String(FAULT_KINDS.length), '--max-iterations', String(maxIterations), '--seed', '2', '--timeout-s', '240', '--json']);
    const code = await p.exited(600_000);
    const line = p.output().split('\n').find((l) => l.startsWith('{"ok"'));
    assert.ok(line, `no JSON report; output tail:\n${p.output().slice(-3000)}`);
    const report = JSON.parse(line) as ChaosReport;
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.checks, { state_iteration: true, iterations_total: true, checkpoints_load: true, weights_match: true, exit_code: true });
    assert.equal(report.ok, true);
    assert.equal(code, 0);
    for (const kind of FAULT_KINDS) assert.equal(report.injected[kind], 1, kind);
    // One pair throughout (2 workers), so the replay must be exact.
    assert.ok(report.pairs_per_epoch.every((p) => p === 1));
    assert.equal(report.bitwise_equal, true);
    assert.ok(report.recoveries >= 1, 'a killed worker makes the coordinator roll back');
    assert.equal(report.iterations_executed, maxIterations + report.iterations_replayed, 'every rolled-back iteration ran again, once');
    assert.ok(report.checkpoints_checked >= 3);
  });
});
