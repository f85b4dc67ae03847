import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  boxShape,
  boxVoxels,
  boxWithin,
  cropOriented,
  cropPatch,
  flip,
  isEmptyBox,
  padBefore,
  padToPatch,
  rot90,
  rotatedShape,
} from '../../src/shared/data/geometry.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3, Vec3 } from '../../src/shared/volume.js';

// Naive per-voxel references, written from numpy's definitions rather than from the kernel.

function at(shape: Shape3, x: number, y: number, z: number): number {
  return (x * shape[1] + y) * shape[2] + z;
}

function naiveFlip(v: Float32Array, shape: Shape3, axis: 0 | 1 | 2): Float32Array {
  const out = new Float32Array(v.length);
  for (let x = 0; x < shape[0]; x++) for (let y = 0; y < shape[1]; y++) for (let z = 0; z < shape[2]; z++) {
    const src: [number, number, number] = [x, y, z];
    src[axis] = shape[axis] - 1 - src[axis];
    out[at(shape, x, y, z)] = v[at(shape, src[0], src[1], src[2])]!;
  }
  return out;
}

function naiveTransposeXY(v: Float32Array, shape: Shape3): { data: Float32Array; shape: Shape3 } {
  const t: Shape3 = [shape[1], shape[0], shape[2]];
  const out = new Float32Array(v.length);
  for (let x = 0; x < t[0]; x++) for (let y = 0; y < t[1]; y++) for (let z = 0; z < t[2]; z++) {
    out[at(t, x, y, z)] = v[at(shape, y, x, z)]!;
  }
  return { data: out, shape: t };
}

/** numpy: rot90(m, 1, axes=(0, 1)) = transpose(flip(m, 1)); k turns = k single turns. */
function naiveRot90(v: Float32Array, shape: Shape3, k: number): { data: Float32Array; shape: Shape3 } {
  let cur = { data: v, shape };
  for (let i = 0; i < ((k % 4) + 4) % 4; i++) cur = naiveTransposeXY(naiveFlip(cur.data, cur.shape, 1), cur.shape);
  return cur;
}

function naivePad(v: Float32Array, shape: Shape3, patch: Shape3): { data: Float32Array; shape: Shape3 } {
  const p: Shape3 = [Math.max(shape[0], patch[0]), Math.max(shape[1], patch[1]), Math.max(shape[2], patch[2])];
  const left = [0, 1, 2].map((i) => Math.floor((p[i]! - shape[i]!) / 2));
  const out = new Float32Array(p[0] * p[1] * p[2]);
  for (let x = 0; x < shape[0]; x++) for (let y = 0; y < shape[1]; y++) for (let z = 0; z < shape[2]; z++) {
    out[at(p, x + left[0]!, y + left[1]!, z + left[2]!)] = v[at(shape, x, y, z)]!;
  }
  return { data: out, shape: p };
}

function naiveCrop(v: Float32Array, shape: Shape3, start: Vec3, patch: Shape3): Float32Array {
  const out = new Float32Array(patch[0] * patch[1] * patch[2]);
  for (let x = 0; x < patch[0]; x++) for (let y = 0; y < patch[1]; y++) for (let z = 0; z < patch[2]; z++) {
    out[at(patch, x, y, z)] = v[at(shape, start[0] + x, start[1] + y, start[2] + z)]!;
  }
  return out;
}

function distinctVolume(shape: Shape3): Float32Array {
  return Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => i + 1);
}

function randomShape(rng: Random, max = 9): Shape3 {
  return [rng.int(1, max), rng.int(1, max), rng.int(1, max)];
}

test('rot90 matches numpy on the documented 2D example', () => {
  // np.rot90([[1, 2], [3, 4]]) == [[2, 4], [1, 3]]
  const r = rot90(Float32Array.from([1, 2, 3, 4]), [2, 2, 1], 1);
  assert.deepEqual([...r.data], [2, 4, 1, 3]);
  const r3 = rot90(Float32Array.from([1, 2, 3, 4]), [2, 2, 1], 3);
  assert.deepEqual([...r3.data], [3, 1, 4, 2]);
});

test('rot90 and flip match the naive references on random odd and anisotropic shapes', () => {
  const rng = new Random(11);
  for (let trial = 0; trial < 60; trial++) {
    const shape = randomShape(rng);
    const v = distinctVolume(shape);
    for (let k = -1; k <= 4; k++) {
      const got = rot90(v, shape, k);
      const want = naiveRot90(v, shape, k);
      assert.deepEqual(got.shape, want.shape);
      assert.deepEqual(got.shape, rotatedShape(shape, k));
      assert.deepEqual(got.data, want.data, `rot90 k=${k} shape ${shape}`);
    }
    for (const axis of [0, 1, 2] as const) {
      assert.deepEqual(flip(v, shape, axis), naiveFlip(v, shape, axis), `flip ${axis} shape ${shape}`);
    }
  }
});

test('rot90 by 4 and flip twice are the identity; rot90 keeps the array type', () => {
  const rng = new Random(12);
  for (let trial = 0; trial < 30; trial++) {
    const shape = randomShape(rng);
    const v = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.int(0, 256));
    const r4 = rot90(v, shape, 4);
    assert.ok(r4.data instanceof Uint8Array);
    assert.deepEqual(r4.data, v);
    let cur = { data: v, shape };
    for (let i = 0; i < 4; i++) cur = rot90(cur.data, cur.shape, 1);
    assert.deepEqual(cur.data, v);
    const axis = rng.int(0, 3) as 0 | 1 | 2;
    assert.deepEqual(flip(flip(v, shape, axis), shape, axis), v);
  }
});

test('padToPatch centres the volume with zeros (left = floor(pad / 2)) and cropPatch matches the naive crop', () => {
  const rng = new Random(13);
  for (let trial = 0; trial < 60; trial++) {
    const shape = randomShape(rng);
    const patch = randomShape(rng);
    const v = distinctVolume(shape);
    const padded = padToPatch(v, shape, patch);
    const want = naivePad(v, shape, patch);
    assert.deepEqual(padded.shape, want.shape);
    assert.deepEqual(padded.data, want.data);
    assert.deepEqual(padBefore(shape, patch), [0, 1, 2].map((i) => Math.floor(Math.max(0, patch[i]! - shape[i]!) / 2)));
    const start: Vec3 = [0, 1, 2].map((i) => rng.int(0, padded.shape[i]! - patch[i]! + 1)) as unknown as Vec3;
    assert.deepEqual(cropPatch(padded.data, padded.shape, start, patch), naiveCrop(padded.data, padded.shape, start, patch));
  }
});

test('cropPatch writes at an offset into a shared buffer and rejects crops leaving the volume', () => {
  const shape: Shape3 = [4, 5, 6];
  const v = distinctVolume(shape);
  const out = new Float32Array(2 * 8).fill(-1);
  cropPatch(v, shape, [1, 2, 3], [2, 2, 2], out, 8);
  assert.deepEqual([...out.subarray(0, 8)], Array(8).fill(-1));
  assert.deepEqual(out.subarray(8), naiveCrop(v, shape, [1, 2, 3], [2, 2, 2]));
  assert.throws(() => cropPatch(v, shape, [3, 0, 0], [2, 2, 2]), TracocoError);
  assert.throws(() => cropPatch(v, shape, [0, -1, 0], [2, 2, 2]), TracocoError);
  assert.throws(() => cropPatch(v, shape, [0, 0, 0], [2, 2, 2], new Float32Array(4)), TracocoError);
});

test('cropOriented equals rot90 -> flip -> pad -> crop composed, with any fill value', () => {
  const rng = new Random(14);
  for (let trial = 0; trial < 200; trial++) {
    const shape = randomShape(rng, 12);
    const patch = randomShape(rng, 12);
    const k = rng.int(0, 4);
    const flipAxis = [null, 0, 1, 2][rng.int(0, 4)] as 0 | 1 | 2 | null;
    const v = distinctVolume(shape);
    const rotated = naiveRot90(v, shape, k);
    const flipped = flipAxis === null ? rotated.data : naiveFlip(rotated.data, rotated.shape, flipAxis);
    const padded = naivePad(flipped, rotated.shape, patch);
    const start: Vec3 = [0, 1, 2].map((i) => rng.int(0, padded.shape[i]! - patch[i]! + 1)) as unknown as Vec3;
    const want = naiveCrop(padded.data, padded.shape, start, patch);
    const got = cropOriented(v, shape, { rot90: k, flipAxis }, start, patch, 0, new Float32Array(want.length));
    assert.deepEqual(got, want, `shape ${shape} patch ${patch} k ${k} flip ${flipAxis} start ${start}`);
    // A fill value marks exactly the padding voxels (the source has no zeros and no -7).
    const filled = cropOriented(v, shape, { rot90: k, flipAxis }, start, patch, -7, new Float32Array(want.length));
    for (let i = 0; i < want.length; i++) assert.equal(filled[i], want[i] === 0 ? -7 : want[i]);
  }
});

test('box helpers', () => {
  const box = { start: [1, 2, 3] as Vec3, end: [4, 2, 5] as Vec3 };
  assert.deepEqual(boxShape(box), [3, 0, 2]);
  assert.equal(boxVoxels(box), 0);
  assert.ok(isEmptyBox(box));
  const full = { start: [0, 0, 0] as Vec3, end: [4, 5, 6] as Vec3 };
  assert.equal(boxVoxels(full), 120);
  assert.ok(!isEmptyBox(full));
  assert.ok(boxWithin(full, [4, 5, 6]));
  assert.ok(!boxWithin(full, [4, 5, 5]));
  assert.ok(!boxWithin({ start: [-1, 0, 0], end: [1, 1, 1] }, [4, 5, 6]));
  assert.ok(!boxWithin({ start: [2, 0, 0], end: [1, 1, 1] }, [4, 5, 6]));
});
