/** The chaos fault schedule: seeded, bounded, every kind drawn, pauses straddling the heartbeat timeout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chaosSchedule, FAULT_KINDS } from '../../src/cli/chaos/schedule.js';

const base = { seed: 3, faults: 7, maxIterations: 12, heartbeatTimeoutMs: 2000 };

test('a seed reproduces its schedule; another seed draws another', () => {
  assert.deepEqual(chaosSchedule(base), chaosSchedule(base));
  assert.notDeepEqual(chaosSchedule(base), chaosSchedule({ ...base, seed: 4 }));
});

test('faults come in iteration order, inside the run, with every kind once there are enough of them', () => {
  for (let seed = 0; seed < 20; seed++) {
    const s = chaosSchedule({ ...base, seed });
    assert.equal(s.length, base.faults);
    for (const [i, f] of s.entries()) {
      assert.ok(f.atIteration >= 1 && f.atIteration <= base.maxIterations - 1, `fault at ${f.atIteration}`);
      if (i > 0) assert.ok(f.atIteration >= s[i - 1]!.atIteration);
      assert.ok(f.pauseMs >= 1000 && f.pauseMs <= 4000, `pause ${f.pauseMs} ms`);
      assert.ok(Number.isInteger(f.target) && f.target >= 0);
    }
    assert.deepEqual(new Set(s.map((f) => f.kind)), new Set(FAULT_KINDS));
  }
});

test('kinds can be restricted; impossible schedules are refused', () => {
  const s = chaosSchedule({ ...base, kinds: ['restart-nats'] });
  assert.ok(s.every((f) => f.kind === 'restart-nats'));
  assert.deepEqual(chaosSchedule({ ...base, faults: 0 }), []);
  assert.throws(() => chaosSchedule({ ...base, kinds: [] }), /no fault kinds/);
  assert.throws(() => chaosSchedule({ ...base, maxIterations: 1 }), /no iteration/);
});
