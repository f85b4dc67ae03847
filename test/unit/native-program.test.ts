/**
 * The inference program: the VNet's eval forward as one native kernel (intermediates in a reused
 * arena) against the same program run step by step on the cpu backend; slot assignment; the
 * folded-weights cache; the per-step cpu fallback when oneDNN refuses a step.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { assignSlots, inferenceArenaBytes, programKernels, releaseInferenceArena } from '../../src/shared/backend/kernels/program.js';
import type { NativeAddon } from '../../src/shared/backend/native-addon.js';
import { checkInferenceProgram, INFERENCE_PROGRAM_KERNEL, type InferenceStep } from '../../src/shared/model/inference-program.js';
import { VNet, type Normalization } from '../../src/shared/model/vnet.js';
import { Random } from '../../src/shared/random.js';
import { assertClose, assertMatchesCpu, randomTensor, setUpBackends, skipUnlessNative } from './native-helpers.js';

const TOL = { abs: 2e-4, rel: 2e-4 };

/** A VNet whose running statistics are not the identity (one training forward updates them). */
function trainedVNet(normalization: Normalization, seed: number): VNet {
  const model = VNet.create({ inChannels: 1, classes: 2, filters: 4, normalization, dropout: true }, seed);
  tf.tidy(() => {
    model.forward(randomTensor(seed + 1, [2, 16, 32, 16, 1]) as tf.Tensor5D, { training: true, dropout: [new Random(1), new Random(2)] });
  });
  return model;
}

describe('assignSlots', () => {
  const conv = (input: number): InferenceStep => ({ kind: 'conv', input, stride: 1, relu: true });
  it('never gives a step the slot of an activation still to be read, and reuses freed slots', () => {
    // a chain with two long-lived skips, like a small VNet: 1 <- 0, 2 <- 1, 3 <- 2, 4 = up(3) + 2, 5 = up(4) + 1, 6 <- 5
    const steps: InferenceStep[] = [conv(0), conv(1), conv(2), { kind: 'up', input: 3, stride: 2, relu: true, skip: 2 }, { kind: 'up', input: 4, stride: 2, relu: true, skip: 1 }, conv(5)];
    const slots = assignSlots(steps);
    assert.equal(slots[0], -1, 'the input has no slot');
    assert.equal(slots[steps.length], -1, 'the output has no slot');
    const lastRead = (a: number) => Math.max(...steps.map((s, i) => (s.input === a || s.skip === a ? i : -1)));
    for (let i = 0; i < steps.length - 1; i++) {
      for (let a = 1; a <= i; a++) {
        if (lastRead(a) >= i) assert.notEqual(slots[i + 1], slots[a], `step ${i} overwrites activation ${a}, read again at step ${lastRead(a)}`);
      }
    }
    assert.ok(new Set(slots.filter((s) => s >= 0)).size < steps.length - 1, `slots ${slots.join(',')} are never reused`);
  });

  it('checkInferenceProgram refuses a step that reads an activation not yet computed', () => {
    const w = tf.zeros([3, 3, 3, 1, 1]) as tf.Tensor5D;
    const b = tf.zeros([1]) as tf.Tensor1D;
    assert.throws(() => checkInferenceProgram({ steps: [conv(1)], weights: [w], biases: [b] }), /step 0 reads input activation 1/);
    assert.throws(() => checkInferenceProgram({ steps: [{ ...conv(0), skip: 0 }], weights: [w], biases: [b] }), /conv with a skip/);
    tf.dispose([w, b]);
  });
});

describe('the inference program kernel', { skip: skipUnlessNative }, () => {
  before(setUpBackends);
  after(releaseInferenceArena);

  for (const normalization of ['batchnorm', 'none'] as const) {
    it(`a VNet (${normalization}) eval forward runs as one native kernel and matches the cpu backend's step-by-step run`, async () => {
      await assertMatchesCpu(
        () => {
          const model = trainedVNet(normalization, 7);
          const y = model.forward(randomTensor(3, [2, 32, 16, 16, 1]) as tf.Tensor5D, { training: false });
          model.dispose();
          return y;
        },
        TOL,
        INFERENCE_PROGRAM_KERNEL,
        normalization,
      );
    });
  }

  it('reuses its arena from call to call and leaks no tensors', () => {
    const model = trainedVNet('batchnorm', 11);
    const x = randomTensor(5, [1, 32, 32, 16, 1]) as tf.Tensor5D;
    const first = tf.tidy(() => model.forward(x, { training: false }));
    const bytes = inferenceArenaBytes();
    const tensors = tf.memory().numTensors;
    const second = tf.tidy(() => model.forward(x, { training: false }));
    assert.ok(bytes > 0, 'the arena holds the intermediates');
    assert.equal(inferenceArenaBytes(), bytes, 'the second call allocates no new arena memory');
    assert.equal(tf.memory().numTensors, tensors + 1, 'only the output is new');
    assertClose(second.dataSync(), first.dataSync(), { abs: 0 }, 'repeat');
    releaseInferenceArena();
    assert.equal(inferenceArenaBytes(), 0, 'released');
    const third = tf.tidy(() => model.forward(x, { training: false }));
    assert.equal(inferenceArenaBytes(), bytes, 'the next call maps its arena again');
    assertClose(third.dataSync(), first.dataSync(), { abs: 0 }, 'after release');
    tf.dispose([first, second, third, x]);
    model.dispose();
  });

  it('folds again after a parameter or running statistic is assigned, and dispose frees the folded weights', () => {
    const baseline = tf.memory().numTensors;
    const model = trainedVNet('batchnorm', 13);
    const fresh = trainedVNet('batchnorm', 17);
    const x = randomTensor(9, [1, 16, 16, 16, 1]) as tf.Tensor5D;
    const before = tf.tidy(() => model.forward(x, { training: false }));
    model.loadStateDict(fresh.stateDict(), 'other model');
    const afterLoad = tf.tidy(() => model.forward(x, { training: false }));
    const expected = tf.tidy(() => fresh.forward(x, { training: false }));
    assertClose(afterLoad.dataSync(), expected.dataSync(), { abs: 0 }, 'after loadStateDict');
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(before, afterLoad))).dataSync()[0]!) > 1e-4, 'the new weights changed the output');
    tf.dispose([before, afterLoad, expected, x]);
    model.dispose();
    fresh.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'no tensor outlives the models');
  });

  it('a step oneDNN refuses is computed by the cpu kernels, with the same result', () => {
    const model = trainedVNet('batchnorm', 19);
    const x = randomTensor(21, [1, 16, 16, 16, 1]) as tf.Tensor5D;
    const expected = tf.tidy(() => model.forward(x, { training: false }));
    const refusing = { conv3d: () => { throw new Error('refused for the test'); } } as unknown as NativeAddon;
    const actual = tf.tidy(() => {
      const program = model.inferenceProgram();
      const inputs: Record<string, tf.TensorInfo> = { x };
      program.weights.forEach((w, i) => {
        inputs[`w${i}`] = w;
        inputs[`b${i}`] = program.biases[i]!;
      });
      const backend = tf.backend() as MathBackendCPU;
      const out = programKernels[0]!.run({ inputs, backend, attrs: { steps: program.steps } as never }, refusing) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(out);
    });
    assertClose(actual.dataSync(), expected.dataSync(), TOL, 'cpu fallback');
    tf.dispose([actual, expected, x]);
    model.dispose();
  });
});
