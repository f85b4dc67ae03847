/** Consistency-weight ramps and the poly learning rate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consistencyWeight, linearRampup, polyLearningRate, sigmoidRampup } from '../../src/shared/losses/schedules.js';
import { TracocoError } from '../../src/shared/errors.js';

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

test('sigmoid ramp: exp(−5) at 0, 1 at the end, monotone, clipped outside [0, length]', () => {
  assert.ok(close(sigmoidRampup(0, 100), Math.exp(-5)));
  assert.ok(close(sigmoidRampup(50, 100), Math.exp(-5 * 0.25)));
  assert.equal(sigmoidRampup(100, 100), 1);
  assert.equal(sigmoidRampup(250, 100), 1);
  assert.equal(sigmoidRampup(-10, 100), sigmoidRampup(0, 100));
  let previous = 0;
  for (let t = 0; t <= 100; t += 5) {
    const v = sigmoidRampup(t, 100);
    assert.ok(v > previous, `not increasing at ${t}`);
    previous = v;
  }
  assert.equal(sigmoidRampup(0, 0), 1, 'length 0 means no ramp');
});

test('linear ramp: t/length clipped to [0, 1]; 1 when length is 0', () => {
  assert.equal(linearRampup(0, 40), 0);
  assert.equal(linearRampup(10, 40), 0.25);
  assert.equal(linearRampup(40, 40), 1);
  assert.equal(linearRampup(400, 40), 1);
  assert.equal(linearRampup(-4, 40), 0);
  assert.equal(linearRampup(3, 0), 1);
});

test('consistency weight: 0 while iteration ≤ start, then unsupWeight × ramp(iteration)', () => {
  const sigmoid = { unsupWeight: 0.3, rampupIterations: 400 };
  assert.equal(consistencyWeight(0, sigmoid), 0);
  assert.ok(close(consistencyWeight(1, sigmoid), 0.3 * sigmoidRampup(1, 400)));
  assert.ok(close(consistencyWeight(200, sigmoid), 0.3 * sigmoidRampup(200, 400)));
  assert.ok(close(consistencyWeight(5000, sigmoid), 0.3));

  const delayed = { unsupWeight: 1, rampupIterations: 100, type: 'linear' as const, startIteration: 20 };
  assert.equal(consistencyWeight(20, delayed), 0);
  assert.equal(consistencyWeight(10, delayed), 0);
  assert.ok(close(consistencyWeight(21, delayed), 0.21), 'the ramp runs on the iteration itself');
  assert.equal(consistencyWeight(150, delayed), 1);
});

test('poly learning rate: base at 0, (1 − t/T)^power, 0 from the end on', () => {
  assert.equal(polyLearningRate(0.05, 0, 9000), 0.05);
  assert.ok(close(polyLearningRate(0.05, 4500, 9000), 0.05 * Math.pow(0.5, 0.9)));
  assert.ok(close(polyLearningRate(0.1, 30, 100, 2), 0.1 * 0.49));
  assert.equal(polyLearningRate(0.05, 9000, 9000), 0);
  assert.equal(polyLearningRate(0.05, 12000, 9000), 0);
  assert.ok(polyLearningRate(0.05, 8999, 9000) > 0);
  let previous = Infinity;
  for (let t = 0; t < 9000; t += 500) {
    const lr = polyLearningRate(0.05, t, 9000);
    assert.ok(lr < previous, `not decreasing at ${t}`);
    previous = lr;
  }
});

test('schedules reject invalid arguments naming the field', () => {
  const isError = (re: RegExp) => (e: unknown) => e instanceof TracocoError && re.test(e.message);
  assert.throws(() => sigmoidRampup(1, -5), isError(/length/));
  assert.throws(() => linearRampup(Number.NaN, 5), isError(/current/));
  assert.throws(() => polyLearningRate(0.05, 1, 0), isError(/max_iterations/));
  assert.throws(() => polyLearningRate(-1, 1, 10), isError(/lr/));
  assert.throws(() => consistencyWeight(3, { unsupWeight: 1, rampupIterations: 10, type: 'cosine' as 'linear' }), isError(/rampup/));
  assert.throws(() => consistencyWeight(3, { unsupWeight: -1, rampupIterations: 10 }), isError(/unsupWeight/));
});
