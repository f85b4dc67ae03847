/**
 * Instance norm (+ReLU) through the fused BatchNorm kernel on a per-instance view, against the
 * plain definition — (x − mean) / sqrt(var + eps) per sample and channel, biased variance, ReLU —
 * in values and gradients, on the native backend (fused kernel) and on cpu (composite).
 */
import { before, test } from 'node:test';
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { instanceNormRelu } from '../../src/shared/model/batchnorm.js';
import { assertClose, onBothBackends, randomTensor, setUpBackends, skipUnlessNative } from './native-helpers.js';

const EPS = 1e-5;

function reference(x: tf.Tensor5D): tf.Tensor5D {
  const { mean, variance } = tf.moments(x, [1, 2, 3], true);
  return tf.relu(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)))) as tf.Tensor5D;
}

before(async () => {
  if (!skipUnlessNative) await setUpBackends();
});

for (const shape of [[2, 6, 5, 4, 3], [1, 8, 8, 8, 4], [4, 16, 16, 16, 4]] as [number, number, number, number, number][]) {
  test(`instanceNormRelu equals the definition in value and gradient, [${shape}]`, { skip: skipUnlessNative }, async () => {
    const build = () => {
      const x = tf.add(tf.mul(randomTensor(7, shape), 2), 0.3) as tf.Tensor5D;
      const r = randomTensor(8, shape);
      const loss = (f: (t: tf.Tensor5D) => tf.Tensor5D) => (t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor5D), r));
      return [instanceNormRelu(x, EPS), reference(x), tf.grad(loss((t) => instanceNormRelu(t, EPS)))(x), tf.grad(loss(reference))(x)];
    };
    const { native, cpu } = await onBothBackends(build);
    for (const [name, out] of [['native', native], ['cpu', cpu]] as const) {
      assertClose(out[0]!, out[1]!, { abs: 2e-5, rel: 1e-4 }, `${name} value`);
      assertClose(out[2]!, out[3]!, { abs: 2e-4, rel: 1e-3 }, `${name} gradient`);
    }
  });
}
