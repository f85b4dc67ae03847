/**
 * The Winograd path of the fused inference conv (kernels/winograd.ts): against the cpu backend's
 * Conv3D + bias (+ ReLU) on odd sizes, batches and both channel orders; where it applies and where
 * oneDNN keeps the call; the transformed-filter cache; a failure falling back to oneDNN; the
 * switch in TRACOCO_NATIVE_DISABLE; the addon's argument checks.
 */
import { afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { nativeFailureCounts } from '../../src/shared/backend/failures.js';
import { inferenceGeometry, runInference, type Shape5 } from '../../src/shared/backend/kernels/conv3d.js';
import { float32Of } from '../../src/shared/backend/kernels/tensors.js';
import { WINOGRAD, winogradApplies, winogradAvailable, winogradCalls } from '../../src/shared/backend/kernels/winograd.js';
import { loadNativeAddon, type NativeAddon } from '../../src/shared/backend/native-addon.js';
import { CONV3D_BIAS_KERNEL, conv3dBiasInference } from '../../src/shared/model/layers.js';
import { assertClose, onBothBackends, randomTensor, setUpBackends, skipUnlessNative } from './native-helpers.js';

// Winograd rounds differently from a direct sum (its transforms add and subtract inputs before
// the products); 64 input channels of values in [-1, 1] give outputs up to about 10.
const TOL = { abs: 1e-4, rel: 1e-4 };

function convCase(seed: number, x: Shape5, cout: number, relu: boolean): () => tf.Tensor {
  return () => {
    const filter = tf.mul(randomTensor(seed + 1, [3, 3, 3, x[4], cout]), 0.2) as tf.Tensor5D;
    return conv3dBiasInference(randomTensor(seed, x) as tf.Tensor5D, filter, randomTensor(seed + 2, [cout]) as tf.Tensor1D, 1, relu);
  };
}

/** A reason to skip: no addon, or one built without AVX-512 (the path is then switched off). */
const skip = skipUnlessNative || (() => {
  const load = loadNativeAddon();
  return load.ok && !winogradAvailable(load.addon) ? 'the native addon was built without AVX-512: the Winograd path is off' : false;
})();

describe('the Winograd inference conv', { skip }, () => {
  before(setUpBackends);
  afterEach(() => {
    delete process.env.TRACOCO_NATIVE_DISABLE;
  });

  const cases: { x: Shape5; cout: number; relu: boolean }[] = [
    { x: [2, 5, 7, 9, 16], cout: 32, relu: true },
    { x: [1, 8, 6, 4, 32], cout: 16, relu: false },
    { x: [1, 6, 10, 6, 64], cout: 64, relu: true },
    { x: [1, 3, 2, 5, 128], cout: 16, relu: false },
  ];
  for (const c of cases) {
    it(`${c.x.join('x')} -> ${c.cout} channels${c.relu ? ', ReLU' : ''}: matches the cpu backend's conv + bias`, async () => {
      const calls = winogradCalls();
      const r = await onBothBackends(convCase(3, c.x, c.cout, c.relu));
      assert.equal(winogradCalls() - calls, 1, 'the Winograd path ran');
      assert.equal(r.ran[CONV3D_BIAS_KERNEL], 1);
      assertClose(r.native[0]!, r.cpu[0]!, TOL, 'winograd');
      if (c.relu) assert.ok(r.native[0]!.some((v) => v === 0) && r.native[0]!.some((v) => v > 0), 'ReLU clipped some outputs and kept others');
    });
  }

  it('leaves other convolutions to oneDNN: channels not multiples of 16, over 128, strides, other kernels', async () => {
    const geometry = (x: Shape5, filter: Shape5, stride: 1 | 2 = 1) => inferenceGeometry('forward', x, filter, stride, stride === 1 ? 'same' : 'valid').info;
    assert.ok(winogradApplies(geometry([1, 4, 4, 4, 16], [3, 3, 3, 16, 128])));
    assert.ok(!winogradApplies(geometry([1, 4, 4, 4, 8], [3, 3, 3, 8, 16])), '8 input channels');
    assert.ok(!winogradApplies(geometry([1, 4, 4, 4, 16], [3, 3, 3, 16, 256])), '256 output channels');
    assert.ok(!winogradApplies(geometry([1, 4, 4, 4, 16], [2, 2, 2, 16, 32], 2)), 'stride 2');
    assert.ok(!winogradApplies(geometry([1, 4, 4, 4, 16], [1, 1, 1, 16, 16])), '1x1x1');
    assert.ok(!winogradApplies(inferenceGeometry('forward', [1, 4, 4, 4, 16], [3, 3, 3, 16, 16], 1, 'valid').info), 'no padding');
    const calls = winogradCalls();
    const r = await onBothBackends(convCase(5, [1, 4, 6, 4, 8], 16, true));
    assert.equal(winogradCalls(), calls, 'an 8-channel input went to oneDNN');
    assertClose(r.native[0]!, r.cpu[0]!, TOL, 'oneDNN');
  });

  it('transforms each filter once, and a new filter tensor gets its own transform', () => {
    const addon = loadNativeAddon();
    assert.ok(addon.ok);
    let transforms = 0;
    const counting: NativeAddon = { ...addon.addon, winogradFilter: (...args) => (transforms++, addon.addon.winogradFilter(...args)) };
    const backend = tf.backend() as MathBackendCPU;
    const x = randomTensor(7, [1, 4, 4, 4, 16]);
    const run = (filter: tf.Tensor) => {
      const g = inferenceGeometry('forward', x.shape as Shape5, filter.shape as Shape5, 1, 'same');
      const out = new Float32Array(4 * 4 * 4 * 16);
      assert.ok(runInference(counting, g, float32Of(backend, x)!, filter, float32Of(backend, filter)!, out, { bias: new Float32Array(16), relu: false }));
      return out;
    };
    const [a, b] = [randomTensor(8, [3, 3, 3, 16, 16]), randomTensor(9, [3, 3, 3, 16, 16])];
    const first = run(a);
    assertClose(run(a), first, { abs: 0 }, 'same filter, same output');
    assert.equal(transforms, 1, 'the second call reused the transform');
    const expected = tf.conv3d(x as tf.Tensor5D, b as tf.Tensor5D, 1, 'same').dataSync();
    assertClose(run(b), expected, TOL, 'the second filter');
    assert.equal(transforms, 2);
    tf.dispose([x, a, b]);
  });

  it('a Winograd failure is reported and oneDNN computes the conv instead', () => {
    const addon = loadNativeAddon();
    assert.ok(addon.ok);
    const failing: NativeAddon = { ...addon.addon, winogradConv3d: () => { throw new Error('refused for the test'); } };
    const backend = tf.backend() as MathBackendCPU;
    const [x, filter] = [randomTensor(11, [1, 6, 4, 4, 16]), randomTensor(12, [3, 3, 3, 16, 16])];
    const g = inferenceGeometry('forward', x.shape as Shape5, filter.shape as Shape5, 1, 'same');
    const out = new Float32Array(6 * 4 * 4 * 16);
    const failures = nativeFailureCounts()[WINOGRAD] ?? 0;
    const calls = winogradCalls();
    assert.ok(runInference(failing, g, float32Of(backend, x)!, filter, float32Of(backend, filter)!, out, { bias: new Float32Array(16), relu: false }));
    assert.equal(nativeFailureCounts()[WINOGRAD], failures + 1, 'the failure is counted');
    assert.equal(winogradCalls(), calls);
    assertClose(out, tf.conv3d(x as tf.Tensor5D, filter as tf.Tensor5D, 1, 'same').dataSync(), TOL, 'oneDNN result');
    tf.dispose([x, filter]);
  });

  it('TRACOCO_NATIVE_DISABLE=TracocoWinograd keeps every conv on oneDNN', async () => {
    process.env.TRACOCO_NATIVE_DISABLE = WINOGRAD;
    const calls = winogradCalls();
    const r = await onBothBackends(convCase(13, [1, 4, 4, 4, 16], 16, true));
    assert.equal(winogradCalls(), calls);
    assertClose(r.native[0]!, r.cpu[0]!, TOL, 'oneDNN');
  });

  it('the addon refuses arrays that do not match the shape or channel counts it is given', () => {
    const addon = loadNativeAddon();
    assert.ok(addon.ok);
    const a = addon.addon;
    const u = a.winogradFilter(new Float32Array(27 * 16 * 16), 16, 16);
    assert.equal(u.length, 64 * 16 * 16);
    assert.throws(() => a.winogradFilter(new Float32Array(27 * 8 * 16), 8, 16), /multiples of 16/);
    assert.throws(() => a.winogradFilter(new Float32Array(10), 16, 16), /3·3·3·cin·cout/);
    const shape = Int32Array.of(1, 2, 2, 2, 16);
    const x = new Float32Array(8 * 16);
    assert.throws(() => a.winogradConv3d(x, shape, u, 16, new Float32Array(16), true, new Float32Array(7)), /does not match the shape/);
    assert.throws(() => a.winogradConv3d(x, shape, u, 32, new Float32Array(32), true, new Float32Array(8 * 32)), /u or bias/);
    assert.throws(() => a.winogradConv3d(x, Int32Array.of(1, 0, 2, 2, 16), u, 16, new Float32Array(16), true, new Float32Array(0)), /empty volume/);
  });
});
