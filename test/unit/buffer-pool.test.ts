/**
 * The native kernels' buffer pool: which arrays come back, and that a recycled array never
 * changes under a reader — one read out with dataSync, a view a JavaScript kernel made, or a
 * tensor still holding it.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { bufferPool, FloatBufferPool, poolCapacityFromEnv } from '../../src/shared/backend/buffer-pool.js';
import { setUpBackends, skipUnlessNative } from './native-helpers.js';

const MB = 1 << 20;
const N = MB / 4; // one megabyte of floats: the smallest pooled size

describe('FloatBufferPool', () => {
  it('recycles an array its holder freed, for the same length only', () => {
    const pool = new FloatBufferPool(8 * MB);
    const a = pool.allocate(N);
    const holder = {};
    pool.attach(a, holder);
    pool.release(a, holder);
    assert.equal(pool.idleBytes(), MB);
    assert.notEqual(pool.allocate(N + 1), a, 'another length gets a fresh array');
    assert.equal(pool.allocate(N), a, 'the same length gets the freed array back');
    assert.deepEqual(pool.stats, { reused: 1, allocated: 2 });
  });

  it('never recycles an escaped array, one with two holders, one released by a non-holder, or one over capacity', () => {
    const pool = new FloatBufferPool(1 * MB);
    const escaped = pool.allocate(N);
    pool.attach(escaped, escaped);
    pool.escape(escaped);
    pool.release(escaped, escaped);
    const shared = pool.allocate(N);
    const [first, second] = [{}, {}];
    pool.attach(shared, first);
    pool.attach(shared, second);
    pool.release(shared, second);
    pool.release(shared, first);
    const stranger = pool.allocate(N);
    pool.attach(stranger, {});
    pool.release(stranger, {});
    assert.equal(pool.idleBytes(), 0);
    const big = pool.allocate(2 * N);
    pool.attach(big, big);
    pool.release(big, big);
    assert.equal(pool.idleBytes(), 0, 'two megabytes do not fit a one-megabyte pool');
    const foreign = new Float32Array(N);
    pool.attach(foreign, foreign);
    pool.release(foreign, foreign);
    assert.equal(pool.idleBytes(), 0, 'arrays the pool did not allocate are left alone');
  });

  it('pools only from its minimum size, and not at all at capacity 0', () => {
    assert.equal(new FloatBufferPool(MB).pools(N), true);
    assert.equal(new FloatBufferPool(MB).pools(N - 1), false);
    assert.equal(new FloatBufferPool(0).pools(N), false);
    assert.equal(poolCapacityFromEnv({ TRACOCO_BUFFER_POOL_MB: '0' }), 0);
    assert.equal(poolCapacityFromEnv({ TRACOCO_BUFFER_POOL_MB: '16' }), 16 * MB);
    assert.equal(poolCapacityFromEnv({}), 512 * MB);
  });
});

describe('the native backend with the pool', { skip: skipUnlessNative }, () => {
  before(setUpBackends);
  const big = (seed: number) => tf.add(tf.fill([N], seed), tf.range(0, N)); // a native Add: a pooled output

  it('recycles the outputs of native kernels between steps', () => {
    tf.tidy(() => void big(1));
    const reused = bufferPool.stats.reused;
    tf.tidy(() => void big(2));
    assert.ok(bufferPool.stats.reused > reused, `reused ${bufferPool.stats.reused}`);
  });

  it('an array read out with dataSync keeps its values after its tensor is freed and kernels run', () => {
    const t = big(3);
    const values = t.dataSync() as Float32Array;
    t.dispose();
    tf.tidy(() => {
      for (let i = 0; i < 4; i++) void big(100 + i).dataSync();
    });
    assert.equal(values[0], 3);
    assert.equal(values[N - 1], 3 + N - 1);
  });

  it("a JavaScript kernel's view of a pooled output stays right after the output is freed", () => {
    const base = big(5);
    const view = tf.slice(base, [N / 2], [N / 2]); // tfjs's Slice: a subarray of base's storage when contiguous
    base.dispose();
    tf.tidy(() => {
      for (let i = 0; i < 4; i++) void tf.mul(big(200 + i), 2);
    });
    const v = view.dataSync();
    assert.equal(v[0], 5 + N / 2);
    assert.equal(v[v.length - 1], 5 + N - 1);
    view.dispose();
  });
});
