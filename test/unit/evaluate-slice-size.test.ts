/** ACDC-style evaluation (GUIDE §5b): slices resized to the network's slice size and the probabilities back. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { predictAtScale } from '../../src/shared/evaluation/index.js';
import type { Shape3 } from '../../src/shared/volume.js';

before(async () => {
  await initBackend('cpu');
});

/** A "network" whose class-1 logit is 8 × (intensity − 0.5): its probabilities follow the image. */
function thresholdPredictor(seen: { shape: number[]; mean: number }[]) {
  return (windows: tf.Tensor5D): tf.Tensor5D => {
    seen.push({ shape: windows.shape, mean: tf.tidy(() => tf.mean(windows).dataSync()[0]!) });
    return tf.tidy(() => tf.concat([tf.zerosLike(windows), tf.mul(tf.sub(windows, 0.5), 8)], 4) as tf.Tensor5D);
  };
}

test('with a slice size, windows see resized slices and the probabilities come back on the stored grid', async () => {
  const shape: Shape3 = [24, 20, 3];
  // Left half dark, right half bright, in every slice.
  const image = Float32Array.from({ length: 24 * 20 * 3 }, (_, i) => (Math.floor(i / (20 * 3)) < 12 ? 0 : 1));
  const seen: { shape: number[]; mean: number }[] = [];
  const settings = { patch: [32, 32, 1] as Shape3, strideXY: 16, strideZ: 1, batch: 1, postProcess: 'none' as const, sliceSize: [32, 32] as const };
  const { classes, probabilities } = await predictAtScale(thresholdPredictor(seen), { id: 'c', image, shape }, settings);
  assert.equal(classes, 2);
  assert.equal(probabilities.length, 24 * 20 * 3 * 2);
  // The slice was resized to fill the window: half of it bright (padding would leave 24·20/32² of it image).
  assert.ok(seen.length === 3 && seen.every((s) => s.shape.join() === '1,32,32,1,1' && Math.abs(s.mean - 0.5) < 0.05), `one filled 32×32 window per slice: ${JSON.stringify(seen)}`);
  // Far from the edge the probabilities keep the halves: class 1 unlikely on the left, likely on the right.
  const p1 = (x: number, y: number, z: number) => probabilities[((x * 20 + y) * 3 + z) * 2 + 1]!;
  assert.ok(p1(2, 10, 1) < 0.05 && p1(21, 10, 1) > 0.95, `${p1(2, 10, 1)} / ${p1(21, 10, 1)}`);
  // Without a slice size the windows hold the stored grid padded with zeros: 12·20 bright of 32².
  const plain: { shape: number[]; mean: number }[] = [];
  await predictAtScale(thresholdPredictor(plain), { id: 'c', image, shape }, { ...settings, sliceSize: undefined });
  assert.ok(plain.length === 3 && plain.every((s) => Math.abs(s.mean - 240 / 1024) < 0.01), JSON.stringify(plain));
});
