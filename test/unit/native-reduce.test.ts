/**
 * Native reductions and Softmax against the tfjs cpu kernels: leading, trailing, middle and all
 * axes, keepDims, size-1 dims, long reductions split across threads, NaN propagation and ties.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../../src/shared/random.js';
import { assertMatchesCpu, onBothBackends, setUpBackends, skipUnlessNative } from './native-helpers.js';

/** Values on a 0.25 grid (ties for arg-reductions), optionally with NaNs. */
function tensorOf(seed: number, shape: number[], nanRate = 0): tf.Tensor {
  const r = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r.uniform() < nanRate ? NaN : Math.round(r.range(-8, 8) * 4) / 4;
  return tf.tensor(v, shape, 'float32');
}

const AXES_CASES: { shape: number[]; axes: number | number[]; keepDims?: boolean }[] = [
  { shape: [2, 3, 4, 5], axes: 3 },
  { shape: [2, 3, 4, 5], axes: 0 },
  { shape: [2, 3, 4, 5], axes: [1, 2], keepDims: true },
  { shape: [2, 3, 4, 5], axes: [0, 1, 2] },
  { shape: [2, 3, 4, 5], axes: [0, 1, 2, 3] },
  { shape: [2, 3, 4, 5], axes: -1, keepDims: true },
  { shape: [3, 1, 4], axes: 1 },
  { shape: [3, 1, 4], axes: [0, 1] },
  { shape: [2, 20, 20, 10, 16], axes: [0, 1, 2, 3] },
  { shape: [100003], axes: 0 },
  { shape: [4, 30000], axes: 1 },
  { shape: [40000, 3], axes: 1 },
];

const REDUCTIONS: [string, (x: tf.Tensor, axes: number | number[], keepDims?: boolean) => tf.Tensor, { abs: number; rel: number }][] = [
  ['Sum', tf.sum, { abs: 1e-6, rel: 1e-6 }],
  ['Mean', tf.mean, { abs: 1e-6, rel: 1e-6 }],
  ['Max', tf.max, { abs: 0, rel: 0 }],
  ['Min', tf.min, { abs: 0, rel: 0 }],
];

describe('native reductions match the tfjs cpu kernels', { skip: skipUnlessNative }, () => {
  before(setUpBackends);

  for (const [name, op, tol] of REDUCTIONS) {
    it(`${name} over contiguous axis sets`, async () => {
      for (const [i, c] of AXES_CASES.entries()) {
        await assertMatchesCpu(() => op(tensorOf(i, c.shape), c.axes, c.keepDims), tol, name, `${name} ${JSON.stringify(c)}`);
      }
    });
  }

  it('Max and Min propagate NaN like tfjs', async () => {
    for (const [name, op] of [['Max', tf.max], ['Min', tf.min]] as const) {
      await assertMatchesCpu(() => op(tensorOf(7, [50, 9], 0.05), 1), { abs: 0 }, name, `${name} with NaN rows`);
      await assertMatchesCpu(() => op(tensorOf(8, [60001], 0.0001), 0), { abs: 0 }, name, `${name} long with NaN`);
    }
  });

  it('ArgMax and ArgMin pick the first extreme (and a leading NaN) like tfjs', async () => {
    for (const [name, op] of [['ArgMax', tf.argMax], ['ArgMin', tf.argMin]] as const) {
      for (const [i, [shape, axis]] of ([[[6, 7], 1], [[6, 7], 0], [[2, 3, 4, 5], 2], [[70000, 2], 1], [[80001], 0]] as [number[], number][]).entries()) {
        await assertMatchesCpu(() => op(tensorOf(20 + i, shape, 0.03), axis), { abs: 0 }, name, `${name} ${JSON.stringify(shape)} axis ${axis}`);
      }
    }
  });

  it('non-contiguous axes and int32 inputs fall back to the cpu kernel', async () => {
    const r = await onBothBackends(() => tf.sum(tensorOf(3, [3, 4, 5]), [0, 2]));
    assert.ok((r.fellBack.Sum ?? 0) > 0);
    assert.deepEqual(Array.from(r.native[0]!), Array.from(r.cpu[0]!));
    await assertMatchesCpu(() => tf.sum(tf.tensor([1, 2, 3], undefined, 'int32')), { abs: 0 }, 'Sum', 'int32 sum', 'fallback');
  });

  it('Softmax over the last axis, stable for large logits', async () => {
    for (const [i, shape] of [[4, 7], [2, 3, 4, 2], [50000, 2], [3, 1]].entries()) {
      await assertMatchesCpu(() => tf.softmax(tf.mul(tensorOf(30 + i, shape), 10)), { abs: 1e-7, rel: 1e-6 }, 'Softmax', `softmax ${JSON.stringify(shape)}`);
    }
  });
});
