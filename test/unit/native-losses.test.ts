/**
 * The fused supervised loss (TracocoSupervisedLoss / …Grad) against tfjs's unfused ops on the cpu
 * backend: the three terms and the logits gradient of a mix of them, for two and three classes,
 * labels outside [0, C) (no CE target), float labels, and one class absent from the labels.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { SUPERVISED_LOSS_GRAD_KERNEL, SUPERVISED_LOSS_KERNEL, supervisedLoss } from '../../src/shared/losses/supervised.js';
import { assertMatchesCpu, onBothBackends, randomTensor, setUpBackends, skipUnlessNative } from './native-helpers.js';

const TOL = { abs: 1e-6, rel: 1e-4 };
type Shape5 = [number, number, number, number, number];

/** The loss terms and d(loss + 0.3 ce + 0.7 dice)/dlogits; labels drawn in [lo, hi). */
function termsAndGradient(shape: Shape5, lo: number, hi: number, labelDtype: 'int32' | 'float32' = 'int32'): tf.Tensor[] {
  const logits = tf.mul(randomTensor(1, shape), 3) as tf.Tensor5D;
  const labels = tf.cast(tf.floor(randomTensor(2, shape.slice(0, 4), lo, hi)), labelDtype) as tf.Tensor4D;
  const mix = (z: tf.Tensor) => {
    const s = supervisedLoss(z as tf.Tensor5D, labels);
    return tf.addN([s.loss, tf.mul(s.ce, 0.3), tf.mul(s.dice, 0.7)]);
  };
  const s = supervisedLoss(logits, labels);
  return [s.loss, s.ce, s.dice, tf.grad(mix)(logits)];
}

describe('the fused supervised loss', { skip: skipUnlessNative }, () => {
  before(setUpBackends);

  const cases: [string, Shape5, number, number, ('int32' | 'float32')?][] = [
    ['two classes', [2, 8, 6, 4, 2], 0, 2],
    ['three classes with labels outside [0, C)', [1, 6, 6, 5, 3], -1, 4],
    ['float labels', [2, 4, 4, 4, 2], 0, 2, 'float32'],
    ['no foreground label', [1, 4, 4, 4, 2], 0, 1],
  ];
  for (const [name, shape, lo, hi, dtype] of cases) {
    it(`${name}: terms and gradient match tfjs's ops on the cpu backend`, async () => {
      await assertMatchesCpu(() => termsAndGradient(shape, lo, hi, dtype), TOL, SUPERVISED_LOSS_KERNEL, name);
    });
  }

  it('int32 labels cast from bool (stored in a Uint8Array) are read as labels', async () => {
    await assertMatchesCpu(
      () => {
        const logits = randomTensor(3, [1, 4, 4, 4, 2]) as tf.Tensor5D;
        const labels = tf.cast(tf.greater(randomTensor(4, [1, 4, 4, 4]), 0), 'int32') as tf.Tensor4D;
        return supervisedLoss(logits, labels).loss;
      },
      TOL,
      SUPERVISED_LOSS_KERNEL,
      'labels from bool',
    );
  });

  it('the gradient kernel runs natively in backprop', async () => {
    const r = await onBothBackends(() => termsAndGradient([1, 4, 4, 4, 2], 0, 2));
    assert.ok((r.ran[SUPERVISED_LOSS_GRAD_KERNEL] ?? 0) > 0, `ran ${JSON.stringify(r.ran)}`);
  });
});
