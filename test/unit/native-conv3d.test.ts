/**
 * The oneDNN conv3d kernels (forward, backward-input, backward-filter) against the tfjs cpu
 * kernels on the VNet's convolution kinds — stride-1 'same' 3x3x3, stride-2 'valid' 2x2x2 (also
 * transposed), 1x1x1 — with odd sizes, batch > 1 and one input channel, in every oneDNN layout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { autoLayout, CONV_LAYOUTS, conv3dKernels, convLayouts, setConvLayouts, type ConvLayoutChoice, type ConvLayouts } from '../../src/shared/backend/kernels/conv3d.js';
import { loadNativeAddon, type NativeAddon } from '../../src/shared/backend/native-addon.js';
import { CONV3D_BIAS_KERNEL, CONV3D_TRANSPOSE_BIAS_KERNEL, conv3dBiasInference, upsample2xInference } from '../../src/shared/model/layers.js';
import { assertClose, assertMatchesCpu, onBothBackends, randomTensor, setUpBackends, skipUnlessNative } from './native-helpers.js';

type Shape5 = [number, number, number, number, number];

interface ConvCase {
  name: string;
  x: Shape5;
  filter: Shape5;
  stride: number;
  pad: 'same' | 'valid';
}

const CASES: ConvCase[] = [
  { name: 'k3 same, batch 2, odd sizes', x: [2, 7, 9, 5, 3], filter: [3, 3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: 'k3 same, one input channel', x: [1, 9, 6, 7, 1], filter: [3, 3, 3, 1, 5], stride: 1, pad: 'same' },
  { name: 'k3 same, 16 -> 32 channels', x: [1, 6, 5, 7, 16], filter: [3, 3, 3, 16, 32], stride: 1, pad: 'same' },
  { name: 'k2 stride 2 valid, even sizes', x: [2, 8, 6, 10, 4], filter: [2, 2, 2, 4, 6], stride: 2, pad: 'valid' },
  { name: 'k2 stride 2 valid, odd sizes', x: [1, 7, 9, 5, 3], filter: [2, 2, 2, 3, 2], stride: 2, pad: 'valid' },
  { name: 'k1, batch 3', x: [3, 5, 4, 3, 6], filter: [1, 1, 1, 6, 2], stride: 1, pad: 'same' },
];

const TOL = { abs: 1e-4, rel: 1e-4 };

/** Forward output and both gradients of sum(conv(x, w) * r) for a fixed random r. */
function convWithGrads(c: ConvCase): tf.Tensor[] {
  const x = randomTensor(1, c.x) as tf.Tensor5D;
  const w = randomTensor(2, c.filter) as tf.Tensor5D;
  const y = tf.conv3d(x, w, c.stride, c.pad);
  const r = randomTensor(3, y.shape);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, c.stride, c.pad), r)))([x, w]);
  return [y, dx!, dw!];
}

describe('native conv3d kernels match the tfjs cpu kernels', { skip: skipUnlessNative }, () => {
  let saved: ConvLayouts;
  before(async () => {
    await setUpBackends();
    saved = convLayouts();
  });
  after(() => setConvLayouts(saved));

  for (const layout of [...CONV_LAYOUTS, 'auto'] as ConvLayoutChoice[]) {
    for (const c of CASES) {
      it(`${c.name} (${layout} layout): forward and tf.grads`, async () => {
        setConvLayouts({ forward: layout, backwardData: layout, backwardWeights: layout });
        const r = await onBothBackends(() => convWithGrads(c));
        for (const k of ['Conv3D', 'Conv3DBackpropInputV2', 'Conv3DBackpropFilterV2']) {
          assert.ok((r.ran[k] ?? 0) > 0, `${k} did not run natively: ${JSON.stringify(r)}`);
          assert.equal(r.fellBack[k] ?? 0, 0, `${k} fell back`);
        }
        ['y', 'dx', 'dw'].forEach((name, i) => assertClose(r.native[i]!, r.cpu[i]!, TOL, `${c.name} ${name}`));
      });
    }
  }

  it('conv3dTranspose (stride 2, k2) runs Conv3DBackpropInputV2 natively', async () => {
    setConvLayouts(saved);
    await assertMatchesCpu(
      () => tf.conv3dTranspose(randomTensor(4, [2, 3, 4, 5, 6]) as tf.Tensor5D, randomTensor(5, [2, 2, 2, 4, 6]) as tf.Tensor5D, [2, 6, 8, 10, 4], 2, 'valid'),
      TOL,
      'Conv3DBackpropInputV2',
      'conv3dTranspose',
    );
  });

  it('caches one plan per shape and direction, and still computes after the cache is cleared', async () => {
    const load = loadNativeAddon();
    assert.ok(load.ok);
    setConvLayouts(saved);
    load.addon.conv3dCacheClear();
    assert.equal(load.addon.conv3dCacheSize(), 0);
    const c = CASES[0]!;
    await assertMatchesCpu(() => convWithGrads(c), TOL, 'Conv3D', 'after clearing');
    assert.equal(load.addon.conv3dCacheSize(), 3);
    await assertMatchesCpu(() => convWithGrads(c), TOL, 'Conv3D', 'cached');
    assert.equal(load.addon.conv3dCacheSize(), 3);
  });

  for (const layout of [...CONV_LAYOUTS, 'auto'] as ConvLayoutChoice[]) {
    it(`the fused inference conv + bias (+ ReLU) matches conv, add and relu on the cpu backend (${layout} layout)`, async () => {
      setConvLayouts({ forward: layout });
      for (const c of CASES) {
        for (const relu of [false, true]) {
          const r = await onBothBackends(() =>
            conv3dBiasInference(randomTensor(1, c.x) as tf.Tensor5D, randomTensor(2, c.filter) as tf.Tensor5D, randomTensor(3, [c.filter[4]]) as tf.Tensor1D, c.stride as 1 | 2, relu),
          );
          assert.equal(r.ran[CONV3D_BIAS_KERNEL], 1, `${c.name}: the fused kernel ran natively`);
          assert.equal(r.ran.Add ?? 0, 0, 'no separate bias add');
          assertClose(r.native[0]!, r.cpu[0]!, TOL, `${c.name} relu ${relu}`);
          if (relu) assert.ok(r.native[0]!.every((v) => v >= 0), 'ReLU applied');
          else assert.ok(r.native[0]!.some((v) => v < 0), 'no ReLU without relu');
        }
      }
    });
  }

  it('the fused inference transposed conv + bias (+ ReLU) (+ skip) matches conv3dTranspose, add, relu and add on the cpu backend', async () => {
    setConvLayouts(saved);
    for (const [x, filter] of [
      [[2, 3, 4, 5, 6], [2, 2, 2, 4, 6]],
      [[1, 4, 3, 2, 32], [2, 2, 2, 16, 32]],
    ] as [Shape5, Shape5][]) {
      const skipShape = [x[0], 2 * x[1], 2 * x[2], 2 * x[3], filter[3]];
      for (const relu of [false, true]) {
        for (const withSkip of [false, true]) {
          const label = `x ${x.join('x')}, relu ${relu}, skip ${withSkip}`;
          const r = await onBothBackends(() =>
            upsample2xInference(randomTensor(1, x) as tf.Tensor5D, randomTensor(2, filter) as tf.Tensor5D, randomTensor(3, [filter[3]]) as tf.Tensor1D, relu, withSkip ? (randomTensor(4, skipShape) as tf.Tensor5D) : undefined),
          );
          assert.equal(r.ran[CONV3D_TRANSPOSE_BIAS_KERNEL], 1, `${label}: the fused kernel ran natively`);
          assert.equal(r.ran.Add ?? 0, 0, `${label}: no separate add`);
          assertClose(r.native[0]!, r.cpu[0]!, TOL, label);
          if (relu && !withSkip) assert.ok(r.native[0]!.every((v) => v >= 0), `${label}: ReLU applied`);
          if (!relu || withSkip) assert.ok(r.native[0]!.some((v) => v < 0), `${label}: negative values kept`);
        }
      }
    }
  });

  it('the fused inference transposed conv falls back to the cpu kernel plus its own epilogue when oneDNN refuses it', async () => {
    setConvLayouts(saved);
    const build = () => [randomTensor(1, [2, 3, 4, 5, 6]), randomTensor(2, [2, 2, 2, 4, 6]), randomTensor(3, [4]), randomTensor(4, [2, 6, 8, 10, 4])] as [tf.Tensor5D, tf.Tensor5D, tf.Tensor1D, tf.Tensor5D];
    await tf.setBackend('cpu');
    const reference = tf.tidy(() => {
      const [x, w, b, skip] = build();
      return upsample2xInference(x, w, b, true, skip);
    });
    const expected = Float64Array.from(reference.dataSync());
    reference.dispose();
    await tf.setBackend('native');
    const [x, w, b, skip] = build();
    const refusing = { conv3d: () => { throw new RangeError('refused for the test'); } } as unknown as NativeAddon;
    const kernel = conv3dKernels.find((k) => k.kernelName === CONV3D_TRANSPOSE_BIAS_KERNEL)!;
    const out = kernel.run({ inputs: { x, filter: w, bias: b, skip }, backend: tf.backend() as MathBackendCPU, attrs: { relu: true } }, refusing);
    assert.ok(out && !Array.isArray(out), 'an output, not a failure');
    const y = tf.engine().makeTensorFromTensorInfo(out);
    assert.deepEqual(y.shape, [2, 6, 8, 10, 4]);
    assertClose(Float64Array.from(y.dataSync()), expected, TOL, 'fallback');
    tf.dispose([x, w, b, skip, y]);
  });

  it('the fused inference conv falls back to the cpu conv plus its own bias and ReLU when oneDNN refuses it', async () => {
    setConvLayouts(saved);
    const c = CASES[0]!;
    const build = () => [randomTensor(1, c.x), randomTensor(2, c.filter), randomTensor(3, [c.filter[4]])] as [tf.Tensor5D, tf.Tensor5D, tf.Tensor1D];
    await tf.setBackend('cpu');
    const reference = tf.tidy(() => conv3dBiasInference(...build(), 1, true));
    const expected = Float64Array.from(reference.dataSync());
    reference.dispose();
    await tf.setBackend('native');
    const [x, w, b] = build();
    const refusing = { conv3d: () => { throw new RangeError('refused for the test'); } } as unknown as NativeAddon;
    const kernel = conv3dKernels.find((k) => k.kernelName === CONV3D_BIAS_KERNEL)!;
    const out = kernel.run({ inputs: { x, filter: w, bias: b }, backend: tf.backend() as MathBackendCPU, attrs: { strides: 1, pad: 'same', relu: true } }, refusing);
    assert.ok(out && !Array.isArray(out), 'an output, not a failure');
    const y = tf.engine().makeTensorFromTensorInfo(out);
    assert.deepEqual(y.shape, [2, 7, 9, 5, 4]);
    assertClose(Float64Array.from(y.dataSync()), expected, TOL, 'fallback');
    tf.dispose([x, w, b, y]);
  });

  it('dilated convolutions fall back to the cpu kernel with the same result', async () => {
    setConvLayouts(saved);
    const r = await onBothBackends(() => tf.conv3d(randomTensor(6, [1, 7, 7, 7, 2]) as tf.Tensor5D, randomTensor(7, [3, 3, 3, 2, 3]) as tf.Tensor5D, 1, 'same', 'NDHWC', 2));
    assert.equal(r.ran.Conv3D ?? 0, 0);
    assert.ok((r.fellBack.Conv3D ?? 0) > 0);
    assert.deepEqual(Array.from(r.native[0]!), Array.from(r.cpu[0]!));
  });
});

describe('automatic conv layout', () => {
  it('uses the plain gemm path for narrow 1x1x1 convolutions in training and blocked weights otherwise', () => {
    const info = (x: Shape5, f: Shape5, stride: number, pad: 'same' | 'valid') => tf.backend_util.computeConv3DInfo(x, f, stride, 1, pad);
    assert.equal(autoLayout(info([2, 8, 8, 8, 16], [1, 1, 1, 16, 2], 1, 'same')), 'plain');
    assert.equal(autoLayout(info([2, 8, 8, 8, 16], [1, 1, 1, 16, 2], 1, 'same'), true), 'blocked-weights', 'the fused inference op');
    assert.equal(autoLayout(info([2, 8, 8, 8, 32], [1, 1, 1, 32, 32], 1, 'same')), 'blocked-weights');
    assert.equal(autoLayout(info([2, 8, 8, 8, 1], [3, 3, 3, 1, 16], 1, 'same')), 'blocked-weights');
    assert.equal(autoLayout(info([2, 8, 8, 8, 16], [2, 2, 2, 16, 32], 2, 'valid')), 'blocked-weights');
  });
});
