/**
 * ×2 linear upsampling against hand-computed values and PyTorch 1.13's `F.interpolate` (expected
 * arrays below were printed by PyTorch), its gradient as the exact adjoint of the linear map, and
 * its errors — on the native and cpu backends (the aligned mode runs a batched matmul, native there).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { alignedInterpolationMatrix, bilinearUpsample2x, trilinearUpsample2x, upsampleLinear2x } from '../../src/shared/model/resize.js';
import { Random } from '../../src/shared/random.js';
import { activateBackend } from '../support/assertions.js';

function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** PyTorch: F.interpolate(tensor([1,2,4],[3,5,9]).reshape(1,1,2,3), scale_factor=2, mode='bilinear', align_corners=True). */
const BILINEAR_ALIGNED = [
  1.0, 1.4000000953674316, 1.7999999523162842, 2.4000000953674316, 3.200000047683716, 4.0,
  1.6666666269302368, 2.200000047683716, 2.7333333492279053, 3.5333333015441895, 4.599999904632568, 5.6666669845581055,
  2.3333334922790527, 3.000000238418579, 3.6666667461395264, 4.666666507720947, 6.0, 7.333333492279053,
  3.0, 3.8000001907348633, 4.600000381469727, 5.800000190734863, 7.400000095367432, 9.000000953674316,
];

/** PyTorch: F.interpolate((arange(8.)**2).reshape(1,1,2,2,2), scale_factor=2, mode='trilinear', align_corners=False). */
const TRILINEAR = [
  0, 0.25, 0.75, 1, 1, 1.5, 2.5, 3, 3, 4, 6, 7, 4, 5.25, 7.75, 9,
  4, 4.75, 6.25, 7, 6, 7, 9, 10, 10, 11.5, 14.5, 16, 12, 13.75, 17.25, 19,
  12, 13.75, 17.25, 19, 16, 18, 22, 24, 24, 26.5, 31.5, 34, 28, 30.75, 36.25, 39,
  16, 18.25, 22.75, 25, 21, 23.5, 28.5, 31, 31, 34, 40, 43, 36, 39.25, 45.75, 49,
];

after(async () => {
  await initBackend('cpu');
});

for (const backend of ['native', 'cpu'] as const) {
  test(`${backend}: one axis by hand: [0, 10, 0] doubles to 0.75/0.25 blends or to samples at o·2/5`, async (t) => {
    const skip = await activateBackend(backend);
    if (skip) return t.skip(skip);
    const x = tf.tensor3d([0, 10, 0], [1, 3, 1]);
    // align_corners=False: out[2i] = .75 x[i] + .25 x[i-1], out[2i+1] = .75 x[i] + .25 x[i+1], edges repeated.
    assertClose(upsampleLinear2x(x, { axes: [1], alignCorners: false }).dataSync(), [0, 2.5, 7.5, 7.5, 2.5, 0], 1e-6, 'half-pixel');
    // align_corners=True: sources 0, .4, .8, 1.2, 1.6, 2.
    assertClose(upsampleLinear2x(x, { axes: [1], alignCorners: true }).dataSync(), [0, 4, 8, 8, 4, 0], 1e-5, 'aligned');
    // A single sample is repeated in both modes.
    const one = tf.tensor3d([3], [1, 1, 1]);
    for (const alignCorners of [false, true]) assert.deepEqual([...upsampleLinear2x(one, { axes: [1], alignCorners }).dataSync()], [3, 3]);
    tf.dispose([x, one]);
  });

  test(`${backend}: bilinear align_corners=True and trilinear align_corners=False match PyTorch`, async (t) => {
    const skip = await activateBackend(backend);
    if (skip) return t.skip(skip);
    const slice = tf.tensor4d([1, 2, 4, 3, 5, 9], [1, 2, 3, 1]);
    const up2 = bilinearUpsample2x(slice);
    assert.deepEqual(up2.shape, [1, 4, 6, 1]);
    assertClose(up2.dataSync(), BILINEAR_ALIGNED, 2e-6, 'bilinear');
    const volume = tf.tensor5d(Array.from({ length: 8 }, (_, i) => i * i), [1, 2, 2, 2, 1]);
    const up3 = trilinearUpsample2x(volume);
    assert.deepEqual(up3.shape, [1, 4, 4, 4, 1]);
    assertClose(up3.dataSync(), TRILINEAR, 1e-5, 'trilinear');
    // Channels and batch entries are interpolated independently (NDHWC: channels last).
    const two = tf.concat([volume, tf.mul(volume, -2)], 4);
    const upTwo = trilinearUpsample2x(tf.concat([two, tf.zerosLike(two)], 0) as tf.Tensor5D);
    assertClose(tf.slice(upTwo, [0, 0, 0, 0, 1], [1, -1, -1, -1, 1]).dataSync(), TRILINEAR.map((v) => -2 * v), 1e-5, 'channel 1');
    assert.equal(tf.max(tf.abs(tf.slice(upTwo, [1], [1]))).dataSync()[0], 0);
    tf.dispose([slice, up2, volume, up3, two, upTwo]);
  });

  test(`${backend}: the gradient is the adjoint of the (linear) upsampling`, async (t) => {
    const skip = await activateBackend(backend);
    if (skip) return t.skip(skip);
    const r = new Random(5);
    for (const alignCorners of [false, true]) {
      const shape: [number, number, number, number, number] = [2, 3, 4, 5, 2];
      const x = tf.tensor5d(Float32Array.from({ length: 240 }, () => r.normal()), shape);
      const w = tf.tensor5d(Float32Array.from({ length: 240 * 8 }, () => r.normal()), [2, 6, 8, 10, 2]);
      const f = (v: tf.Tensor) => tf.sum(tf.mul(upsampleLinear2x(v, { axes: [1, 2, 3], alignCorners }), w));
      const grad = tf.grad(f)(x);
      // For a linear map f(x) = <w, U x>: the gradient is Uᵀ w, and <Uᵀ w, x> = f(x).
      const value = f(x).dataSync()[0]!;
      const viaGradient = tf.sum(tf.mul(grad, x)).dataSync()[0]!;
      assert.ok(Math.abs(value - viaGradient) <= 1e-4 * Math.max(1, Math.abs(value)), `align ${alignCorners}: ${value} vs ${viaGradient}`);
      // And every input's weights sum to 2 per axis (8 in 3D) when w = 1 and align_corners=False.
      if (!alignCorners) assertClose(tf.grad((v: tf.Tensor) => tf.sum(upsampleLinear2x(v, { axes: [1, 2, 3], alignCorners })))(x).dataSync(), new Array(240).fill(8), 1e-5, 'column sums');
      tf.dispose([x, w, grad]);
    }
  });
}

test('the aligned interpolation matrix has rows summing to 1 and hits the end samples exactly', () => {
  for (const n of [1, 2, 3, 7, 128]) {
    const m = alignedInterpolationMatrix(n);
    for (let o = 0; o < 2 * n; o++) {
      const row = m.subarray(o * n, (o + 1) * n);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6, `n ${n} row ${o}`);
      assert.ok(row.filter((v) => v !== 0).length <= 2, `n ${n} row ${o}: at most two taps`);
    }
    assert.equal(m[0], 1);
    assert.equal(m[(2 * n - 1) * n + n - 1], 1);
  }
});

test('upsampling rejects bad axes and ranks with a TracocoError', () => {
  const x = tf.zeros([1, 2, 2, 1]);
  const isTracoco = (pattern: RegExp) => (e: unknown) => e instanceof TracocoError && pattern.test(e.message);
  assert.throws(() => upsampleLinear2x(x, { axes: [4], alignCorners: true }), isTracoco(/axis 4 is not an axis of a rank-4/));
  assert.throws(() => upsampleLinear2x(x, { axes: [1, 1], alignCorners: false }), isTracoco(/repeat/));
  assert.throws(() => upsampleLinear2x(x, { axes: [], alignCorners: false }), isTracoco(/at least one axis/));
  assert.throws(() => upsampleLinear2x(tf.zeros([1, 0, 2, 1]), { axes: [1], alignCorners: false }), isTracoco(/empty axis 1/));
  assert.throws(() => trilinearUpsample2x(x as unknown as tf.Tensor5D), isTracoco(/expects \[N, x, y, z, C\]/));
  assert.throws(() => bilinearUpsample2x(tf.zeros([1, 2, 2, 2, 1]) as unknown as tf.Tensor4D), isTracoco(/expects \[N, H, W, C\]/));
  x.dispose();
});
