/** Translation term: both KL modes against float64 references, empty overlaps, quantised targets, pairing. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions: tfjs-core's Node bundle registers none; the tfjs umbrella package does.
import '@tensorflow/tfjs';
import { initBackend } from '../../src/shared/backend/index.js';
import { translationLoss, translationTarget, type TranslationMode } from '../../src/shared/losses/translation.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';

before(async () => {
  await initBackend('cpu');
});

type Shape4 = [number, number, number, number];

/** A float64 view [x, y, z, C], row-major, classes last. */
interface View {
  shape: Shape4;
  data: Float64Array;
}

function randomView(r: Random, shape: Shape4, lo: number, hi: number): View {
  return { shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.range(lo, hi)) };
}

const clamp = (v: number) => Math.min(Math.max(v, 1e-6), 1);

/** Softmax of `view` along `axis` (0 = x, 3 = classes) in float64. */
function softmaxAlong(view: View, axis: number): Float64Array {
  const [, Y, Z, C] = view.shape;
  const strides = [Y * Z * C, Z * C, C, 1];
  const out = new Float64Array(view.data.length);
  const n = view.shape[axis]!;
  for (let base = 0; base < view.data.length; base++) {
    // Visit each line along `axis` once, from its first element.
    if (Math.floor(base / strides[axis]!) % n !== 0) continue;
    const idx = Array.from({ length: n }, (_, k) => base + k * strides[axis]!);
    const m = Math.max(...idx.map((i) => view.data[i]!));
    const e = idx.map((i) => Math.exp(view.data[i]! - m));
    const s = e.reduce((a, b) => a + b, 0);
    idx.forEach((i, k) => (out[i] = e[k]! / s));
  }
  return out;
}

function referenceKl(a: View, b: View, mode: TranslationMode): number {
  const voxels = a.data.length / a.shape[3];
  if (mode === 'class') {
    const pa = softmaxAlong(a, 3);
    const q = softmaxAlong(b, 3);
    let s = 0;
    for (let i = 0; i < q.length; i++) s += q[i]! * (Math.log(q[i]!) - Math.log(pa[i]!));
    return s / voxels;
  }
  const ac = { shape: a.shape, data: a.data.map(clamp) };
  const bc = { shape: b.shape, data: b.data.map(clamp) };
  const pa = softmaxAlong(ac, 0);
  const t = softmaxAlong(bc, 0);
  let s = 0;
  for (let i = 0; i < t.length; i++) s += t[i]! * (Math.log(t[i]!) - Math.log(pa[i]!));
  return s / t.length;
}

function referenceNegEntropy(views: View[], mode: TranslationMode): number {
  let total = 0;
  for (const v of views) {
    const p = softmaxAlong(mode === 'class' ? v : { shape: v.shape, data: v.data.map(clamp) }, 3);
    let s = 0;
    for (const x of p) s += x * Math.log(x);
    total += s / (p.length / v.shape[3]);
  }
  return total / views.length;
}

function toTensor(v: View): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(v.data), v.shape);
}

function value(s: tf.Scalar): number {
  return s.dataSync()[0]!;
}

function makeSamples(seed: number, shapes: Shape4[], mode: TranslationMode) {
  const r = new Random(seed);
  // Reference-mode views mostly inside the clamp range so the spatial softmax matters.
  const [lo, hi] = mode === 'class' ? [-3, 3] : [-0.3, 1.3];
  return { a: shapes.map((s) => randomView(r, s, lo, hi)), b: shapes.map((s) => randomView(r, s, lo, hi)) };
}

const CLASS_COUNTS: [string, Shape4[]][] = [
  ['2 and 3 classes', [[3, 2, 2, 2], [2, 3, 1, 3]]],
  ['4 and 5 classes (multi-class: nothing assumes C = 2)', [[2, 2, 3, 4], [3, 1, 2, 5]]],
];
for (const mode of ['class', 'reference'] as const) for (const [label, shapes] of CLASS_COUNTS) {
  test(`${mode} KL and negative entropy match a float64 reference: ${label}`, () => {
    const { a, b } = makeSamples((mode === 'class' ? 1 : 2) + 10 * shapes[0]![3], shapes, mode);
    const at = a.map(toTensor);
    const bt = b.map(toTensor);
    const targets = bt.map((x) => translationTarget(x, mode));
    const r = translationLoss(at, targets, { mode, spatialWeight: 0.7, entropyWeight: 0.2 });
    const kl = referenceKl(a[0]!, b[0]!, mode) + referenceKl(a[1]!, b[1]!, mode);
    const ne = referenceNegEntropy([a[0]!, b[0]!, a[1]!, b[1]!], mode);
    assert.ok(Math.abs(value(r.klSum) - kl) < 1e-5, `klSum ${value(r.klSum)} vs ${kl}`);
    assert.ok(Math.abs(value(r.negEntropy) - ne) < 1e-5, `negEntropy ${value(r.negEntropy)} vs ${ne}`);
    // The class mode's regulariser is the entropy (−NegEntropy); the reference mode's is +NegEntropy.
    const regulariser = mode === 'class' ? -ne : ne;
    assert.ok(Math.abs(value(r.regulariser) - regulariser) < 1e-5);
    assert.ok(Math.abs(value(r.loss) - (0.7 * kl + 0.2 * regulariser)) < 1e-5);
    tf.dispose([...at, ...bt, ...targets, r.loss, r.klSum, r.negEntropy, r.regulariser]);
  });
}

for (const mode of ['class', 'reference'] as const) {
  test(`${mode}: a sample with an empty overlap contributes nothing`, () => {
    const { a, b } = makeSamples(5, [[2, 2, 2, 2]], mode);
    const at = a.map(toTensor);
    const targets = b.map((v) => tf.tidy(() => translationTarget(toTensor(v), mode)));
    const empty = tf.zeros([2, 0, 2, 2]) as tf.Tensor4D;
    const alone = translationLoss(at, targets, { mode });
    const withEmpty = translationLoss([empty, ...at, empty], [empty, ...targets, empty], { mode });
    assert.equal(value(withEmpty.klSum), value(alone.klSum));
    assert.equal(value(withEmpty.negEntropy), value(alone.negEntropy));
    assert.equal(value(withEmpty.loss), value(alone.loss));
    const none = translationLoss([empty], [empty], { mode });
    assert.deepEqual([value(none.loss), value(none.klSum), value(none.negEntropy)], [0, 0, 0]);
    tf.dispose([...at, ...targets, empty, alone.loss, alone.klSum, alone.negEntropy]);
    tf.dispose([withEmpty.loss, withEmpty.klSum, withEmpty.negEntropy, none.loss, none.klSum, none.negEntropy]);
  });

  test(`${mode}: uint16 round trip of the targets changes the loss by < 1e-4`, () => {
    const { a, b } = makeSamples(8, [[4, 3, 2, 2], [3, 3, 2, 2]], mode);
    const at = a.map(toTensor);
    const exact = b.map((v) => tf.tidy(() => translationTarget(toTensor(v), mode)));
    const wire = exact.map((t) => {
      const q = Float32Array.from(t.dataSync(), (v) => Math.round(v * 65535) / 65535);
      return tf.tensor4d(q, t.shape);
    });
    if (mode === 'reference') {
      assert.ok(wire.some((t) => t.dataSync().some((v) => v === 0)), 'clamped 1e-6 targets should quantise to exact 0');
    }
    const r1 = translationLoss(at, exact, { mode });
    const r2 = translationLoss(at, wire, { mode });
    assert.ok(Math.abs(value(r1.loss) - value(r2.loss)) < 1e-4, `${value(r1.loss)} vs ${value(r2.loss)}`);
    assert.ok(Number.isFinite(value(r2.loss)));
    tf.dispose([...at, ...exact, ...wire, r1.loss, r1.klSum, r1.negEntropy, r2.loss, r2.klSum, r2.negEntropy]);
  });

  test(`${mode}: intra pairing (gradient through the target) vs cross pairing (constant target)`, () => {
    // One model's logits over a strip: a is its first half, b its second half (like out_f / out_s).
    const r = new Random(mode === 'class' ? 31 : 32);
    const [lo, hi] = mode === 'class' ? [-2, 2] : [0.1, 0.9];
    const x = tf.tensor4d(Float32Array.from({ length: 4 * 2 * 2 * 2 }, () => r.range(lo, hi)), [4, 2, 2, 2]);
    const halves = (t: tf.Tensor4D) => [tf.slice(t, [0, 0, 0, 0], [2, 2, 2, 2]), tf.slice(t, [2, 0, 0, 0], [2, 2, 2, 2])] as const;
    const intra = tf.grad((t: tf.Tensor) => {
      const [a, b] = halves(t as tf.Tensor4D);
      return translationLoss([a], [translationTarget(b, mode)], { mode }).loss;
    })(x);
    const constantTarget = tf.tidy(() => translationTarget(halves(x)[1], mode));
    const cross = tf.grad((t: tf.Tensor) => translationLoss([halves(t as tf.Tensor4D)[0]], [constantTarget], { mode }).loss)(x);
    const gi = intra.dataSync();
    const gc = cross.dataSync();
    const half = gi.length / 2;
    for (let i = 0; i < half; i++) assert.ok(Math.abs(gi[i]! - gc[i]!) < 1e-7, `a-side gradient ${i}: ${gi[i]} vs ${gc[i]}`);
    for (let i = half; i < gi.length; i++) assert.equal(gc[i], 0, 'cross pairing must not differentiate the target');
    assert.ok(Array.from(gi.slice(half)).some((g) => Math.abs(g) > 1e-4), 'intra pairing must differentiate the target');
    tf.dispose([x, intra, cross, constantTarget]);
  });
}

test('reference mode clamps a to [1e-6, 1]: logits outside get no gradient', () => {
  const a = tf.tensor4d([0.2, 3.0, -1.0, 0.6, 0.5, 0.4, 0.9, 0.1], [2, 2, 1, 2]);
  const target = tf.tensor4d([0.3, 0.7, 0.5, 0.5, 0.1, 0.9, 0.6, 0.4], [2, 2, 1, 2]);
  const g = tf.grad((t: tf.Tensor) => translationLoss([t as tf.Tensor4D], [target], { mode: 'reference' }).loss)(a);
  const gd = g.dataSync();
  assert.equal(gd[1], 0);
  assert.equal(gd[2], 0);
  assert.ok(Math.abs(gd[0]!) > 0);
  tf.dispose([a, target, g]);
});

test('translation targets: class → probabilities over classes, reference → clamp to [1e-6, 1]', () => {
  const logits = tf.tensor4d([2, -1, 0.5, 0.5, -3, 7, 0.3, 1e-9], [1, 2, 2, 2]);
  const cls = translationTarget(logits, 'class');
  const ref = translationTarget(logits, 'reference');
  const c = cls.dataSync();
  for (let v = 0; v < 4; v++) assert.ok(Math.abs(c[2 * v]! + c[2 * v + 1]! - 1) < 1e-6);
  assert.ok(c[0]! > c[1]!);
  assert.deepEqual(Array.from(ref.dataSync()), Array.from(Float32Array.from([1, 1e-6, 0.5, 0.5, 1e-6, 1, 0.3, 1e-6])));
  tf.dispose([logits, cls, ref]);
});

test('translationLoss rejects mismatched lists, shapes and modes naming the field', () => {
  const a = tf.zeros([2, 2, 2, 2]) as tf.Tensor4D;
  const b = tf.zeros([2, 2, 3, 2]) as tf.Tensor4D;
  const isError = (re: RegExp) => (e: unknown) => e instanceof TracocoError && re.test(e.message);
  assert.throws(() => translationLoss([a], [], { mode: 'class' }), isError(/targets/));
  assert.throws(() => translationLoss([a], [b], { mode: 'class' }), isError(/targets\[0\]/));
  assert.throws(() => translationLoss([a], [a], { mode: 'bogus' as TranslationMode }), isError(/kl/));
  assert.throws(() => translationLoss([a], [a], { mode: 'class', spatialWeight: Number.NaN }), isError(/spatialWeight/));
  tf.dispose([a, b]);
});

test('translationLoss leaks no tensors, in either mode, with or without gradients', () => {
  const { a, b } = makeSamples(12, [[2, 2, 2, 2], [2, 1, 2, 2]], 'reference');
  const at = a.map(toTensor);
  const bt = b.map(toTensor);
  const before = tf.memory().numTensors;
  for (const mode of ['class', 'reference'] as const) {
    const targets = bt.map((x) => translationTarget(x, mode));
    const r = translationLoss(at, targets, { mode });
    tf.dispose([r.loss, r.klSum, r.negEntropy, r.regulariser]);
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => translationLoss([x as tf.Tensor4D, y as tf.Tensor4D], targets, { mode }).loss)(at);
    tf.dispose([...g, ...targets]);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([...at, ...bt]);
});

test('entropy direction: class mode adds the entropy (descent sharpens), reference mode adds +NegEntropy as published', () => {
  const r = new Random(7);
  const shape: Shape4 = [3, 3, 2, 2];
  const logits = tf.tensor4d(Float32Array.from({ length: 36 }, () => r.range(-0.5, 0.5)), shape);
  const entropyOf = (t: tf.Tensor4D) => tf.tidy(() => -tf.mean(tf.sum(tf.mul(tf.softmax(t), tf.logSoftmax(t)), -1)).dataSync()[0]!);
  for (const mode of ['class', 'reference'] as TranslationMode[]) {
    const target = translationTarget(tf.zerosLike(logits) as tf.Tensor4D, mode);
    const parts = translationLoss([logits], [target], { mode, spatialWeight: 0, entropyWeight: 1 });
    const neg = parts.negEntropy.dataSync()[0]!;
    assert.ok(neg < 0, 'NegEntropy = mean Σ p log p is negative');
    assert.equal(parts.regulariser.dataSync()[0], mode === 'class' ? -neg : neg);
    assert.equal(parts.loss.dataSync()[0], parts.regulariser.dataSync()[0]);
    tf.dispose([target, parts.loss, parts.klSum, parts.negEntropy, parts.regulariser]);
  }
  // Gradient descent on the class-mode regulariser alone lowers the entropy of the student's view.
  const a = tf.variable(logits);
  const target = translationTarget(tf.zerosLike(logits) as tf.Tensor4D, 'class');
  const before = entropyOf(a as unknown as tf.Tensor4D);
  for (let i = 0; i < 20; i++) {
    const g = tf.variableGrads(() => translationLoss([a as unknown as tf.Tensor4D], [target], { mode: 'class', spatialWeight: 0, entropyWeight: 1 }).loss, [a]);
    a.assign(tf.sub(a, tf.mul(g.grads[a.name]!, 20)));
    tf.dispose([g.value, g.grads[a.name]!]);
  }
  const after = entropyOf(a as unknown as tf.Tensor4D);
  assert.ok(after < before - 0.05, `entropy ${before} → ${after} should fall`);
  tf.dispose([a, target, logits]);
});
