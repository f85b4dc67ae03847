import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intensityRange, normalizeMinMax, scaleBrightness } from '../../src/shared/data/intensity.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';

function randomImage(rng: Random, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.range(lo, hi));
}

test('normalizeMinMax maps min to 0, max to 1, keeps order and is affine', () => {
  const rng = new Random(21);
  for (let trial = 0; trial < 50; trial++) {
    const lo = rng.range(-1000, 1000);
    const image = randomImage(rng, rng.int(2, 300), lo, lo + rng.range(0.01, 5000));
    const { min, max } = intensityRange(image);
    assert.equal(min, Math.min(...image));
    assert.equal(max, Math.max(...image));
    const out = normalizeMinMax(image);
    assert.equal(out[image.indexOf(min)], 0);
    assert.equal(out[image.indexOf(max)], 1);
    for (let i = 0; i < image.length; i++) {
      assert.ok(out[i]! >= 0 && out[i]! <= 1);
      assert.ok(Math.abs(out[i]! - (image[i]! - min) / (max - min)) < 1e-6);
      const j = rng.int(0, image.length);
      if (image[i]! < image[j]!) assert.ok(out[i]! <= out[j]!);
    }
  }
});

test('a constant image normalises to zeros, not NaN', () => {
  const out = normalizeMinMax(new Float32Array(10).fill(42));
  assert.deepEqual([...out], Array(10).fill(0));
});

test('normalizeMinMax of a crop with the whole volume range, in place', () => {
  const image = Float32Array.from([10, 20, 30, 40, 50]);
  const crop = image.subarray(1, 3);
  normalizeMinMax(crop, { min: 10, max: 50 }, crop);
  assert.deepEqual([...image], [10, 0.25, 0.5, 40, 50]);
});

test('NaN, infinite and empty images are errors naming the image', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const image = Float32Array.from([1, 2, bad, 4]);
    assert.throws(() => intensityRange(image), (e: unknown) => e instanceof TracocoError && /image/.test(e.message) && /index 2/.test(e.message));
  }
  assert.throws(() => intensityRange(new Float32Array(0)), TracocoError);
});

test('scaleBrightness multiplies and clips to [0, 1]', () => {
  const rng = new Random(22);
  const image = randomImage(rng, 500, 0, 1);
  for (const factor of [0, 0.75, 1, 1.25, 3]) {
    const out = scaleBrightness(image, factor);
    for (let i = 0; i < image.length; i++) {
      assert.equal(out[i], Math.fround(Math.min(1, image[i]! * factor)));
    }
  }
  assert.deepEqual(scaleBrightness(image, 1), image);
  const inPlace = image.slice();
  scaleBrightness(inPlace, 2, inPlace);
  assert.ok(inPlace.some((v) => v === 1) && inPlace.every((v) => v <= 1));
  assert.throws(() => scaleBrightness(image, -0.5), TracocoError);
  assert.throws(() => scaleBrightness(image, NaN), TracocoError);
});
