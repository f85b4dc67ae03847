/** `eval.post_process`: none, the reference's small components, or the largest component per class. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/shared/config/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { postProcessLabels } from '../../src/shared/evaluation/index.js';
import type { Shape3 } from '../../src/shared/volume.js';

const modeOf = (post_process: unknown) => validateConfig(post_process === undefined ? {} : { eval: { post_process } }, 'test').eval.post_process;

test('eval.post_process defaults to none; the former booleans map to none and small-components', () => {
  assert.equal(modeOf(undefined), 'none');
  assert.equal(modeOf(false), 'none');
  assert.equal(modeOf(true), 'small-components');
  assert.equal(modeOf('largest-component'), 'largest-component');
  const resolved = validateConfig({ eval: { post_process: 'largest-component' } }, 'test');
  assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(resolved)), 'again'), resolved, 'the resolved config validates again unchanged');
});

test('an unknown eval.post_process is a TracocoError naming the field and the choices', () => {
  assert.throws(
    () => modeOf('biggest'),
    (e: unknown) => e instanceof TracocoError && /field 'eval\.post_process'.*'none', 'small-components', 'largest-component', true or false/.test(e.message),
  );
});

/** Class 1: a 2×2×2 cube and a 3×3×3 cube apart; class 2: one voxel and a 2-voxel bar apart. */
function labels(): { labels: Uint8Array; shape: Shape3 } {
  const shape: Shape3 = [12, 8, 8];
  const out = new Uint8Array(12 * 8 * 8);
  const set = (x: number, y: number, z: number, k: number) => (out[(x * 8 + y) * 8 + z] = k);
  for (let x = 0; x < 2; x++) for (let y = 0; y < 2; y++) for (let z = 0; z < 2; z++) set(x, y, z, 1);
  for (let x = 5; x < 8; x++) for (let y = 4; y < 7; y++) for (let z = 4; z < 7; z++) set(x, y, z, 1);
  set(10, 0, 0, 2);
  set(10, 6, 6, 2);
  set(11, 6, 6, 2);
  return { labels: out, shape };
}

const count = (a: Uint8Array, k: number) => a.reduce((n, v) => n + (v === k ? 1 : 0), 0);

test('largest-component keeps each class’s largest 26-connected component and nothing else', () => {
  const { labels: l, shape } = labels();
  const out = postProcessLabels(l, shape, 3, 'largest-component');
  assert.deepEqual([count(out, 1), count(out, 2)], [27, 2]);
  assert.equal(out[(6 * 8 + 5) * 8 + 5], 1, 'the 3×3×3 cube is kept');
  assert.equal(out[0], 0, 'the 2×2×2 cube is dropped');
  assert.equal(out[(10 * 8 + 0) * 8 + 0], 0, "class 2's single voxel is dropped");
  assert.deepEqual([count(l, 1), count(l, 2)], [35, 3], 'the input is untouched');
});

test('small-components drops everything under the reference 8000 voxels; none copies', () => {
  const { labels: l, shape } = labels();
  assert.equal(count(postProcessLabels(l, shape, 3, 'small-components'), 0), l.length);
  const same = postProcessLabels(l, shape, 3, 'none');
  assert.deepEqual(same, l);
  assert.notEqual(same, l, 'a new array');
});
