/**
 * Sliding-window inference against a direct port of the reference `test_single_case` (explicit
 * padded score and count arrays), with window predictors whose output depends on the window
 * position so averaging matters; plus padding, batching, normalisation and bad input.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { argmaxLabels, centredPadding, evalModePredictor, slidingWindowPredict, windowStarts, type WindowPredictor } from '../../src/shared/inference/index.js';
import { normalizeMinMax } from '../../src/shared/data/intensity.js';
import { VNet } from '../../src/shared/model/vnet.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3 } from '../../src/shared/volume.js';

before(async () => {
  await initBackend('cpu');
});

/** Logits [v - mean(window), 0, 0.5 v]: each window sees a different mean, so overlaps differ. */
const contextPredictor: WindowPredictor = (windows) =>
  tf.tidy(() => {
    const centred = tf.sub(windows, tf.mean(windows, [1, 2, 3, 4], true));
    return tf.concat([centred, tf.zerosLike(windows), tf.mul(windows, 0.5)], 4) as tf.Tensor5D;
  });

/** The reference algorithm written out plainly (numpy semantics, float32 accumulators). */
function reference(image: Float32Array, shape: Shape3, patch: Shape3, strideXY: number, strideZ: number): { probs: Float32Array; labels: Uint8Array } {
  const pads = shape.map((s, a) => Math.max(patch[a]! - s, 0));
  const lo = pads.map((p) => Math.floor(p / 2));
  const [X, Y, Z] = shape.map((s, a) => s + pads[a]!) as [number, number, number];
  const padded = new Float32Array(X * Y * Z);
  for (let x = 0; x < shape[0]; x++) for (let y = 0; y < shape[1]; y++) for (let z = 0; z < shape[2]; z++) {
    padded[((x + lo[0]!) * Y + y + lo[1]!) * Z + z + lo[2]!] = image[(x * shape[1] + y) * shape[2] + z]!;
  }
  const C = 3;
  const score = new Float32Array(X * Y * Z * C);
  const cnt = new Float32Array(X * Y * Z);
  const sx = Math.ceil((X - patch[0]) / strideXY) + 1;
  const sy = Math.ceil((Y - patch[1]) / strideXY) + 1;
  const sz = Math.ceil((Z - patch[2]) / strideZ) + 1;
  for (let i = 0; i < sx; i++) {
    const xs = Math.min(strideXY * i, X - patch[0]);
    for (let j = 0; j < sy; j++) {
      const ys = Math.min(strideXY * j, Y - patch[1]);
      for (let k = 0; k < sz; k++) {
        const zs = Math.min(strideZ * k, Z - patch[2]);
        const win = new Float32Array(patch[0] * patch[1] * patch[2]);
        for (let a = 0; a < patch[0]; a++) for (let b = 0; b < patch[1]; b++) for (let c = 0; c < patch[2]; c++) {
          win[(a * patch[1] + b) * patch[2] + c] = padded[((xs + a) * Y + ys + b) * Z + zs + c]!;
        }
        const probs = tf.tidy(() => tf.softmax(contextPredictor(tf.tensor5d(win, [1, ...patch, 1]))).dataSync());
        for (let a = 0; a < patch[0]; a++) for (let b = 0; b < patch[1]; b++) for (let c = 0; c < patch[2]; c++) {
          const v = ((xs + a) * Y + ys + b) * Z + zs + c;
          const w = (a * patch[1] + b) * patch[2] + c;
          for (let q = 0; q < C; q++) score[v * C + q] += probs[w * C + q]!;
          cnt[v] += 1;
        }
      }
    }
  }
  const probs = new Float32Array(shape[0] * shape[1] * shape[2] * C);
  const labels = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let x = 0; x < shape[0]; x++) for (let y = 0; y < shape[1]; y++) for (let z = 0; z < shape[2]; z++) {
    const v = ((x + lo[0]!) * Y + y + lo[1]!) * Z + z + lo[2]!;
    const o = (x * shape[1] + y) * shape[2] + z;
    let best = 0;
    for (let q = 0; q < C; q++) {
      probs[o * C + q] = score[v * C + q]! / cnt[v]!;
      if (probs[o * C + q]! > probs[o * C + best]!) best = q;
    }
    labels[o] = best;
  }
  return { probs, labels };
}

function randomVolume(shape: Shape3, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => r.normal());
}

test('windowStarts and centredPadding follow the reference formulas', () => {
  assert.deepEqual(windowStarts(112, 112, 18), [0]);
  assert.deepEqual(windowStarts(150, 112, 18), [0, 18, 36, 38]);
  assert.deepEqual(windowStarts(90, 80, 4), [0, 4, 8, 10]);
  assert.deepEqual(centredPadding([10, 16, 5], [16, 16, 8]), [[3, 3], [0, 0], [1, 2]]);
});

for (const [label, shape, patch, strideXY, strideZ] of [
  ['overlapping windows', [14, 11, 9], [8, 8, 4], 3, 2],
  ['volume smaller than the patch (padded)', [5, 12, 3], [8, 8, 4], 4, 2],
] as const) {
  test(`matches the reference test_single_case: ${label}`, async () => {
    const image = randomVolume(shape, 1);
    const expected = reference(image, shape, patch, strideXY, strideZ);
    const result = await slidingWindowPredict(contextPredictor, image, shape, { patch, strideXY, strideZ });
    assert.equal(result.classes, 3);
    assert.deepEqual(result.shape, shape);
    let worst = 0;
    for (let i = 0; i < expected.probs.length; i++) worst = Math.max(worst, Math.abs(result.values[i]! - expected.probs[i]!));
    assert.ok(worst < 1e-6, `max |diff| ${worst}`);
    assert.deepEqual(Array.from(argmaxLabels(result.values, result.classes)), Array.from(expected.labels));
  });
}

test('batching windows does not change the result, and progress reaches the window count', async () => {
  const shape: Shape3 = [13, 10, 7];
  const image = randomVolume(shape, 2);
  const options = { patch: [8, 8, 4] as Shape3, strideXY: 3, strideZ: 2 };
  const single = await slidingWindowPredict(contextPredictor, image, shape, options);
  const seen: [number, number][] = [];
  const batched = await slidingWindowPredict(contextPredictor, image, shape, { ...options, batch: 4, onProgress: (d, t) => seen.push([d, t]) });
  assert.deepEqual(Array.from(batched.values), Array.from(single.values));
  const total = windowStarts(13, 8, 3).length * windowStarts(10, 8, 3).length * windowStarts(7, 4, 2).length;
  assert.deepEqual(seen.at(-1), [total, total]);
  assert.equal(seen.length, Math.ceil(total / 4));
});

test("averaging logits instead of probabilities: the mean of the windows' logits", async () => {
  const shape: Shape3 = [9, 9, 5];
  const image = randomVolume(shape, 3);
  const options = { patch: [8, 8, 4] as Shape3, strideXY: 4, strideZ: 2 };
  const logits = await slidingWindowPredict(contextPredictor, image, shape, { ...options, average: 'logits' });
  const probabilities = await slidingWindowPredict(contextPredictor, image, shape, options);
  assert.equal(logits.average, 'logits');
  assert.equal(probabilities.average, 'probabilities');
  // The context predictor's logits do not sum to one per voxel; probabilities do.
  const sums = (v: Float32Array) => Array.from({ length: v.length / 3 }, (_, i) => v[3 * i]! + v[3 * i + 1]! + v[3 * i + 2]!);
  assert.ok(sums(probabilities.values).every((s) => Math.abs(s - 1) < 1e-5));
  assert.ok(sums(logits.values).some((s) => Math.abs(s - 1) > 1e-3));
});

test('min-max normalisation is a separate step: [0, 1], constant volumes become zeros', () => {
  const raw = Float32Array.from(randomVolume([9, 9, 5], 3), (v) => v * 40 + 300);
  const n = normalizeMinMax(raw);
  assert.equal(Math.min(...n), 0);
  assert.equal(Math.max(...n), 1);
  assert.ok(normalizeMinMax(new Float32Array(4).fill(7)).every((v) => v === 0), 'a constant volume becomes zeros');
});

test('a VNet predicts probabilities that sum to one, with argmax labels', async () => {
  const model = VNet.create({ inChannels: 1, classes: 2, filters: 2, normalization: 'batchnorm', dropout: true }, 4);
  const shape: Shape3 = [20, 18, 16];
  const result = await slidingWindowPredict(evalModePredictor(model), randomVolume(shape, 5), shape, { patch: [16, 16, 16], strideXY: 8, strideZ: 8, batch: 2 });
  const labels = argmaxLabels(result.values, result.classes);
  for (let v = 0; v < labels.length; v++) {
    const p0 = result.values[2 * v]!;
    const p1 = result.values[2 * v + 1]!;
    assert.ok(Math.abs(p0 + p1 - 1) < 1e-5);
    assert.equal(labels[v], p1 > p0 ? 1 : 0);
  }
  model.dispose();
});

test('bad input is a TracocoError naming the source', async () => {
  const shape: Shape3 = [4, 4, 4];
  const image = new Float32Array(64);
  image[21] = NaN;
  const options = { patch: [4, 4, 4] as Shape3, strideXY: 2, strideZ: 2, source: 'scan.nii.gz' };
  await assert.rejects(slidingWindowPredict(contextPredictor, image, shape, options), /scan\.nii\.gz: non-finite voxel NaN at \(1, 1, 1\)/);
  await assert.rejects(slidingWindowPredict(contextPredictor, new Float32Array(10), shape, options), /scan\.nii\.gz: image has 10 voxels/);
  await assert.rejects(slidingWindowPredict(contextPredictor, new Float32Array(64), shape, { ...options, strideZ: 0 }), /field 'stride-z'/);
});
