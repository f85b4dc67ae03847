/** Multi-class Dice and supervised loss: float64 references for C = 3, 4, C = 2 unchanged, named errors, leaks. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { multiClassDiceLoss, multiClassSupervisedLoss, pseudoLabelDiceLoss } from '../../src/shared/losses/multiclass.js';
import { supervisedLoss } from '../../src/shared/losses/supervised.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

function softmaxRows(values: ArrayLike<number>, classes: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let v = 0; v < values.length; v += classes) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, values[v + c]!);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(values[v + c]! - m);
    for (let c = 0; c < classes; c++) out[v + c] = Math.exp(values[v + c]! - m) / s;
  }
  return out;
}

/** GUIDE §5b's Dice in float64: mean over classes of 1 − (2Σp t + 1e-5)/(Σp² + Σt² + 1e-5). */
function referenceDice(prob: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  let total = 0;
  for (let c = 0; c < classes; c++) {
    let pt = 0, pp = 0, tt = 0;
    for (let v = 0; v < labels.length; v++) {
      const p = prob[v * classes + c]!;
      const t = labels[v] === c ? 1 : 0;
      pt += p * t;
      pp += p * p;
      tt += t * t;
    }
    total += 1 - (2 * pt + 1e-5) / (pp + tt + 1e-5);
  }
  return total / classes;
}

function referenceCe(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  const p = softmaxRows(logits, classes);
  let s = 0;
  for (let v = 0; v < labels.length; v++) s -= Math.log(p[v * classes + labels[v]!]!);
  return s / labels.length;
}

function randomCase(seed: number, shape: number[]) {
  const r = new Random(seed);
  const classes = shape[shape.length - 1]!;
  const n = shape.reduce((a, b) => a * b, 1);
  const logits = Float32Array.from({ length: n }, () => r.range(-3, 3));
  const labels = Int32Array.from({ length: n / classes }, () => r.int(0, classes));
  return { logits, labels, classes, labelShape: shape.slice(0, -1) };
}

const value = (s: tf.Scalar) => s.dataSync()[0]!;

for (const shape of [[2, 3, 4, 2, 3], [3, 5, 4, 4], [1, 4, 3, 2, 4]]) {
  const classes = shape[shape.length - 1]!;
  test(`multi-class Dice and supervised loss match float64: shape [${shape}] (C = ${classes})`, () => {
    const { logits, labels, labelShape } = randomCase(100 + shape.length * 10 + classes, shape);
    const l = tf.tensor(logits, shape);
    const y = tf.tensor(labels, labelShape, 'int32');
    const prob = tf.softmax(l);
    const dice = multiClassDiceLoss(prob, y);
    const expectedDice = referenceDice(softmaxRows(logits, classes), labels, classes);
    assert.ok(Math.abs(value(dice) - expectedDice) < 1e-5, `dice ${value(dice)} vs ${expectedDice}`);
    const sup = multiClassSupervisedLoss(l, y);
    const expectedCe = referenceCe(logits, labels, classes);
    assert.ok(Math.abs(value(sup.ce) - expectedCe) < 1e-5, `ce ${value(sup.ce)} vs ${expectedCe}`);
    assert.ok(Math.abs(value(sup.dice) - expectedDice) < 1e-5);
    assert.ok(Math.abs(value(sup.loss) - 0.5 * (expectedCe + expectedDice)) < 1e-5);
    tf.dispose([l, y, prob, dice, sup.loss, sup.ce, sup.dice]);
  });
}

test('a perfect one-hot prediction gives Dice 0, also with a class absent from both', () => {
  const labels = [0, 1, 1, 3, 0, 3]; // class 2 absent: its term is 1 − 1e-5/1e-5 = 0
  const prob = tf.oneHot(tf.tensor1d(labels, 'int32'), 4).reshape([1, 2, 3, 4]);
  const y = tf.tensor3d(labels, [1, 2, 3], 'int32');
  const dice = multiClassDiceLoss(prob, y);
  assert.ok(Math.abs(value(dice)) < 1e-6, `dice ${value(dice)}`);
  tf.dispose([prob, y, dice]);
});

test('C = 2: multiClassSupervisedLoss is supervisedLoss bitwise, and a 2D batch equals volumes one voxel deep', () => {
  const { logits, labels } = randomCase(7, [2, 3, 4, 2, 2]);
  const l5 = tf.tensor5d(logits, [2, 3, 4, 2, 2]);
  const y4 = tf.tensor4d(labels, [2, 3, 4, 2], 'int32');
  const binary = supervisedLoss(l5, y4);
  const multi = multiClassSupervisedLoss(l5, y4);
  for (const k of ['loss', 'ce', 'dice'] as const) assert.equal(value(multi[k]), value(binary[k]), k);
  // [N, x, y, C] slices vs [N, x, y, 1, C] volumes holding the same elements.
  const l4 = tf.tensor4d(logits, [2, 3, 8, 2]);
  const y3 = tf.tensor3d(labels, [2, 3, 8], 'int32');
  const l5deep = tf.tensor5d(logits, [2, 3, 8, 1, 2]);
  const y4deep = tf.tensor4d(labels, [2, 3, 8, 1], 'int32');
  const flat = supervisedLoss(l5deep, y4deep);
  const slices = multiClassSupervisedLoss(l4, y3);
  for (const k of ['loss', 'ce', 'dice'] as const) assert.equal(value(slices[k]), value(flat[k]), `2D ${k}`);
  tf.dispose([l5, y4, l4, y3, l5deep, y4deep, ...Object.values(binary), ...Object.values(multi), ...Object.values(flat), ...Object.values(slices)]);
});

test('float labels holding integers give the same loss as int32 labels', () => {
  const { logits, labels, labelShape } = randomCase(9, [1, 3, 3, 3, 3]);
  const l = tf.tensor(logits, [1, 3, 3, 3, 3]);
  const yi = tf.tensor(labels, labelShape, 'int32');
  const yf = tf.tensor(Float32Array.from(labels), labelShape, 'float32');
  const a = multiClassSupervisedLoss(l, yi);
  const b = multiClassSupervisedLoss(l, yf);
  assert.equal(value(a.loss), value(b.loss));
  tf.dispose([l, yi, yf, a.loss, a.ce, a.dice, b.loss, b.ce, b.dice]);
});

test('pseudoLabelDiceLoss is the multi-class Dice of softmax(logits) against argmax p', () => {
  const r = new Random(3);
  const shape = [2, 4, 3, 4];
  const l = tf.tensor(Float32Array.from({ length: 96 }, () => r.range(-2, 2)), shape);
  const p = tf.softmax(tf.tensor(Float32Array.from({ length: 96 }, () => r.range(-3, 3)), shape));
  const a = pseudoLabelDiceLoss(l, p);
  const expected = tf.tidy(() => multiClassDiceLoss(tf.softmax(l), tf.argMax(p, -1)));
  assert.equal(value(a), value(expected));
  tf.dispose([l, p, a, expected]);
});

const isError = (re: RegExp) => (e: unknown) => e instanceof TracocoError && re.test(e.message);

test('label values outside 0…C−1, fractional labels and shape mismatches are named TracocoErrors', () => {
  const l = tf.zeros([1, 2, 2, 3]);
  const prob = tf.fill([1, 2, 2, 3], 1 / 3);
  const tooBig = tf.tensor3d([0, 1, 2, 3], [1, 2, 2], 'int32');
  const negative = tf.tensor3d([0, -1, 2, 1], [1, 2, 2], 'int32');
  const fractional = tf.tensor3d([0, 1.5, 2, 1], [1, 2, 2], 'float32');
  const wrongShape = tf.tensor3d([0, 1, 2, 1, 0, 0], [1, 2, 3], 'int32');
  assert.throws(() => multiClassDiceLoss(prob, tooBig), isError(/field 'labels'.*label value 3 is outside the classes 0…2/));
  assert.throws(() => multiClassSupervisedLoss(l, tooBig), isError(/field 'labels'.*label value 3/));
  assert.throws(() => multiClassSupervisedLoss(l, negative), isError(/field 'labels'.*label value -1/));
  assert.throws(() => multiClassSupervisedLoss(l, fractional), isError(/field 'labels'.*integers/));
  assert.throws(() => multiClassDiceLoss(prob, wrongShape), isError(/field 'labels'.*does not match/));
  assert.throws(() => multiClassSupervisedLoss(l, wrongShape), isError(/field 'labels'.*does not match/));
  assert.throws(() => multiClassSupervisedLoss(tf.zeros([4, 3]), tf.zeros([4], 'int32')), isError(/field 'logits'/));
  assert.throws(() => pseudoLabelDiceLoss(l, tf.zeros([1, 2, 2, 4])), isError(/field 'pseudoProb'/));
  // C = 2 checks labels too: binary one-hot would silently drop a label 2.
  const two = tf.zeros([1, 2, 2, 2]);
  assert.throws(() => multiClassSupervisedLoss(two, tf.tensor3d([0, 1, 2, 1], [1, 2, 2], 'int32')), isError(/label value 2/));
  tf.dispose([l, prob, tooBig, negative, fractional, wrongShape, two]);
});

test('multi-class losses leak no tensors', () => {
  const { logits, labels, labelShape } = randomCase(5, [2, 3, 2, 4]);
  const l = tf.tensor(logits, [2, 3, 2, 4]);
  const y = tf.tensor(labels, labelShape, 'int32');
  const l2 = tf.slice(l, [0, 0, 0, 0], [-1, -1, -1, 2]);
  const y2 = tf.minimum(y, 1);
  const before = tf.memory().numTensors;
  const sup = multiClassSupervisedLoss(l, y);
  tf.dispose([sup.loss, sup.ce, sup.dice]);
  const two = multiClassSupervisedLoss(l2, y2); // the 2D C = 2 path reshapes to volumes
  tf.dispose([two.loss, two.ce, two.dice]);
  const d = pseudoLabelDiceLoss(l, l);
  d.dispose();
  const dice = multiClassDiceLoss(l, y);
  dice.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([l, y, l2, y2]);
});
