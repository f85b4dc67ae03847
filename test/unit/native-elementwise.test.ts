/**
 * Native elementwise kernels against the tfjs cpu kernels: every broadcasting binary op on
 * shape pairs covering scalars, size-0 dims, broadcasting on several axes and sizes large enough
 * to run multi-threaded; every unary op on values including NaN, ±Infinity and ±0; Cast.
 */
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../../src/shared/random.js';
import { assertMatchesCpu, setUpBackends, skipUnlessNative } from './native-helpers.js';

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -3.5];

/** Values on a 0.5 grid (so comparisons see ties) with special values sprinkled in. */
function values(seed: number, n: number, lo = -2, hi = 2): Float32Array {
  const r = new Random(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = r.uniform() < 0.05 ? SPECIALS[r.int(0, SPECIALS.length)]! : Math.round(r.range(lo, hi) * 2) / 2 + (r.uniform() < 0.5 ? 0 : r.range(0, 0.5));
  }
  return out;
}

function tensorOf(seed: number, shape: number[], lo?: number, hi?: number): tf.Tensor {
  return tf.tensor(values(seed, shape.reduce((a, b) => a * b, 1), lo, hi), shape, 'float32');
}

const SHAPE_PAIRS: [number[], number[]][] = [
  [[2, 3, 4], [2, 3, 4]],
  [[], [3, 5]],
  [[3, 5], []],
  [[], []],
  [[2, 3, 4, 5], [5]],
  [[2, 1, 4, 1], [1, 3, 1, 5]],
  [[4, 1, 6], [4, 5, 1]],
  [[2, 3, 4, 5, 6], [2, 1, 1, 1, 6]],
  [[0, 3], [3]],
  [[2, 0], [2, 1]],
  [[300, 200], [200]],
  [[70001], [70001]],
  [[2, 40000], [2, 1]],
  [[1, 50000], [3, 1]],
];

const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['Add', tf.add],
  ['Sub', tf.sub],
  ['Multiply', tf.mul],
  ['RealDiv', tf.div],
  ['Maximum', tf.maximum],
  ['Minimum', tf.minimum],
  ['SquaredDifference', tf.squaredDifference],
  ['Greater', tf.greater],
  ['GreaterEqual', tf.greaterEqual],
  ['Less', tf.less],
  ['LessEqual', tf.lessEqual],
  ['Equal', tf.equal],
  ['NotEqual', tf.notEqual],
];

// SquaredDifference squares in double before rounding; the rest round identically to tfjs.
const BINARY_TOL: Record<string, { abs: number; rel: number }> = { SquaredDifference: { abs: 0, rel: 2e-7 } };
const EXACT = { abs: 0, rel: 0 };

const UNARY: [string, (x: tf.Tensor) => tf.Tensor, { abs: number; rel: number }][] = [
  ['Relu', tf.relu, EXACT],
  ['Relu6', tf.relu6, EXACT],
  ['Exp', tf.exp, { abs: 1e-30, rel: 3e-7 }],
  ['Log', tf.log, { abs: 1e-7, rel: 3e-7 }],
  ['Log1p', tf.log1p, { abs: 1e-7, rel: 3e-7 }],
  ['Neg', tf.neg, EXACT],
  ['Abs', tf.abs, EXACT],
  ['Sqrt', tf.sqrt, EXACT],
  ['Rsqrt', tf.rsqrt, EXACT],
  ['Square', tf.square, EXACT],
  ['Reciprocal', tf.reciprocal, EXACT],
  ['Sigmoid', tf.sigmoid, { abs: 1e-7, rel: 3e-7 }],
  ['Tanh', tf.tanh, { abs: 1e-7, rel: 3e-7 }],
  ['Step', (x) => tf.step(x, 0.25), EXACT],
  ['Floor', tf.floor, EXACT],
  ['Ceil', tf.ceil, EXACT],
  ['Sign', tf.sign, EXACT],
  ['ClipByValue', (x) => tf.clipByValue(x, -0.5, 0.75), EXACT],
  ['IsNan', tf.isNaN, EXACT],
];

describe('native elementwise kernels match the tfjs cpu kernels', { skip: skipUnlessNative }, () => {
  before(setUpBackends);

  for (const [name, op] of BINARY) {
    it(`${name} on broadcast shape pairs`, async () => {
      for (const [i, [sa, sb]] of SHAPE_PAIRS.entries()) {
        await assertMatchesCpu(() => op(tensorOf(10 + i, sa), tensorOf(50 + i, sb)), BINARY_TOL[name] ?? EXACT, name, `${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`);
      }
    });
  }

  for (const [name, op, tol] of UNARY) {
    it(`${name} on special and random values`, async () => {
      for (const [i, shape] of [[7], [0, 4], [3, 1, 5], [90001]].entries()) {
        await assertMatchesCpu(() => op(tensorOf(100 + i, shape, -4, 4)), tol, name, `${name} ${JSON.stringify(shape)}`);
      }
    });
  }

  it('Cast between float32, int32 and bool', async () => {
    const wide = () => tf.tensor([NaN, Infinity, -Infinity, 3e9, -3e9, 2.7, -2.7, 0, -0, 1e-40, 5e9], undefined, 'float32');
    await assertMatchesCpu(() => tf.cast(wide(), 'int32'), EXACT, 'Cast', 'float32 -> int32');
    await assertMatchesCpu(() => tf.cast(wide(), 'bool'), EXACT, 'Cast', 'float32 -> bool');
    await assertMatchesCpu(() => tf.cast(tf.greater(tensorOf(1, [40000]), 0), 'float32'), EXACT, 'Cast', 'bool -> float32');
    // (ints beyond 2^24 differ: tfjs's cpu kernel keeps them exact in an Int32Array labelled float32)
    await assertMatchesCpu(() => tf.cast(tf.tensor([1, -7, 16777216, -2147483648, 0], undefined, 'int32'), 'float32'), EXACT, 'Cast', 'int32 -> float32');
    // a cast result feeds later native kernels as a real Float32Array
    await assertMatchesCpu(() => tf.mul(tf.cast(tf.greater(tensorOf(2, [3, 4]), 0), 'float32'), tensorOf(3, [3, 4])), EXACT, 'Multiply', 'mul after cast');
  });

  it('LogicalAnd, LogicalOr and Select on same-shape inputs, and the cpu kernel when they broadcast', async () => {
    const mask = (seed: number, shape: number[]) => tf.greater(tensorOf(seed, shape), 0);
    await assertMatchesCpu(() => tf.logicalAnd(mask(1, [3, 50, 7]), mask(2, [3, 50, 7])), EXACT, 'LogicalAnd', 'and');
    await assertMatchesCpu(() => tf.logicalOr(mask(3, [3, 50, 7]), mask(4, [3, 50, 7])), EXACT, 'LogicalOr', 'or');
    await assertMatchesCpu(() => tf.where(mask(5, [4, 9, 11]), tensorOf(6, [4, 9, 11]), tensorOf(7, [4, 9, 11])), EXACT, 'Select', 'select');
    // clipByValue's gradient: where(logicalAnd(x >= lo, x <= hi), dy, 0)
    await assertMatchesCpu(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(x, -0.5, 0.5), tensorOf(8, [6, 40]))))(tensorOf(9, [6, 40])), EXACT, 'LogicalAnd', 'clip gradient');
    await assertMatchesCpu(() => tf.logicalAnd(mask(10, [3, 50, 7]), mask(11, [1, 50, 1])), EXACT, 'LogicalAnd', 'broadcast and', 'fallback');
    // tf.where broadcasts a scalar branch itself, so the kernel still sees one shape
    await assertMatchesCpu(() => tf.where(mask(12, [4, 9, 11]), tensorOf(13, [4, 9, 11]), tf.scalar(0)), EXACT, 'Select', 'scalar branch');
  });

  it('falls back to the cpu kernel for int32 inputs', async () => {
    await assertMatchesCpu(() => tf.add(tf.tensor([1, 2, 3], undefined, 'int32'), tf.tensor([4, 5, 6], undefined, 'int32')), EXACT, 'Add', 'int32 add', 'fallback');
  });
});
