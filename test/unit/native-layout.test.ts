/**
 * Native data-movement kernels (Transpose, strided Slice, PadV2, Concat) and BatchMatMul against
 * the tfjs cpu kernels, including size-1 and size-0 dims and broadcast batch dims.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { assertMatchesCpu, onBothBackends, randomTensor, setUpBackends, skipUnlessNative } from './native-helpers.js';

const EXACT = { abs: 0 };

describe('native layout kernels match the tfjs cpu kernels', { skip: skipUnlessNative }, () => {
  before(setUpBackends);

  it('Transpose with assorted permutations', async () => {
    const cases: [number[], number[]][] = [
      [[3, 4], [1, 0]],
      [[2, 3, 4, 5], [0, 2, 1, 3]],
      [[2, 3, 4, 5], [3, 2, 1, 0]],
      [[4, 1, 3, 1, 2], [4, 0, 3, 2, 1]],
      [[5, 2, 2, 2, 6], [4, 0, 1, 2, 3]],
      [[6, 3, 5, 2, 2, 4], [0, 3, 1, 4, 2, 5]],
      [[300, 257], [1, 0]],
      [[2, 0, 3], [2, 1, 0]],
    ];
    for (const [i, [shape, perm]] of cases.entries()) {
      await assertMatchesCpu(() => tf.transpose(randomTensor(i, shape), perm), EXACT, 'Transpose', `transpose ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`);
    }
  });

  it('Slice of strided boxes (contiguous slices stay zero-copy views in the cpu kernel)', async () => {
    const cases: [number[], number[], number[]][] = [
      [[2, 5, 6, 4, 2], [0, 0, 0, 0, 1], [-1, -1, -1, -1, 1]],
      [[4, 6, 8], [1, 2, 3], [2, 3, 4]],
      [[3, 40000], [0, 5], [3, 30000]],
      [[3, 4, 5], [1, 1, 1], [2, 0, 3]],
    ];
    for (const [i, [shape, begin, size]] of cases.entries()) {
      await assertMatchesCpu(() => tf.slice(randomTensor(i, shape), begin, size), EXACT, 'Slice', `slice ${JSON.stringify([shape, begin, size])}`);
    }
    const contiguous = await onBothBackends(() => tf.slice(randomTensor(9, [4, 3, 2]), [1, 0, 0], [2, 3, 2]));
    assert.ok((contiguous.fellBack.Slice ?? 0) > 0);
    assert.deepEqual(Array.from(contiguous.native[0]!), Array.from(contiguous.cpu[0]!));
  });

  it('PadV2 with zero and non-zero constants', async () => {
    await assertMatchesCpu(() => tf.pad(randomTensor(1, [2, 3, 4]), [[1, 0], [0, 2], [3, 1]]), EXACT, 'PadV2', 'pad zeros');
    await assertMatchesCpu(() => tf.pad(randomTensor(2, [2, 5, 4, 3, 1]), [[0, 0], [1, 1], [0, 0], [2, 0], [0, 1]], -1.5), EXACT, 'PadV2', 'pad constant');
    await assertMatchesCpu(() => tf.pad(randomTensor(3, [0, 3]), [[1, 1], [0, 0]], 2), EXACT, 'PadV2', 'pad an empty tensor');
  });

  it('Concat along every axis, with an empty part', async () => {
    for (const axis of [0, 1, 2, -1]) {
      await assertMatchesCpu(() => tf.concat([randomTensor(1, [2, 3, 4]), randomTensor(2, [2, 3, 4]), randomTensor(3, [2, 3, 4])], axis), EXACT, 'Concat', `concat axis ${axis}`);
    }
    await assertMatchesCpu(() => tf.concat([randomTensor(4, [2, 3]), randomTensor(5, [2, 0]), randomTensor(6, [2, 5])], 1), EXACT, 'Concat', 'concat with an empty part');
  });

  it('BatchMatMul with transposes and broadcast batch dims', async () => {
    const tol = { abs: 1e-5, rel: 1e-5 };
    await assertMatchesCpu(() => tf.matMul(randomTensor(1, [7, 5]), randomTensor(2, [5, 3])), tol, 'BatchMatMul', '2d');
    await assertMatchesCpu(() => tf.matMul(randomTensor(3, [4, 5, 7]), randomTensor(4, [4, 3, 5]), true, true), tol, 'BatchMatMul', 'both transposed');
    await assertMatchesCpu(() => tf.matMul(randomTensor(5, [1, 6, 9]), randomTensor(6, [5, 9, 2])), tol, 'BatchMatMul', 'broadcast a');
    await assertMatchesCpu(() => tf.matMul(randomTensor(7, [64, 1, 300]), randomTensor(8, [64, 300, 16])), tol, 'BatchMatMul', 'many row vectors');
    await assertMatchesCpu(() => tf.matMul(randomTensor(9, [130, 70]), randomTensor(10, [70, 90])), tol, 'BatchMatMul', 'large');
  });
});
