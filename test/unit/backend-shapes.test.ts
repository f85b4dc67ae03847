/** Loop-shape arithmetic of the native kernels: broadcast collapsing, reduction views, permutations. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { broadcastLoop, collapsePermutation, reductionView } from '../../src/shared/backend/kernels/shapes.js';
import { rowMajorStrides } from '../../src/shared/volume.js';

describe('broadcastLoop', () => {
  it('collapses equal shapes to one contiguous dim', () => {
    assert.deepEqual(broadcastLoop([2, 3, 4], [2, 3, 4], [2, 3, 4]), { dims: [24], aStrides: [1], bStrides: [1] });
  });

  it('keeps a per-channel operand as a repeating inner dim', () => {
    assert.deepEqual(broadcastLoop([2, 3, 4, 5], [5], [2, 3, 4, 5]), { dims: [24, 5], aStrides: [5, 1], bStrides: [0, 1] });
  });

  it('handles scalars on either side and scalar-scalar', () => {
    assert.deepEqual(broadcastLoop([], [3, 5], [3, 5]), { dims: [15], aStrides: [0], bStrides: [1] });
    assert.deepEqual(broadcastLoop([3, 5], [1, 1], [3, 5]), { dims: [15], aStrides: [1], bStrides: [0] });
    assert.deepEqual(broadcastLoop([], [], []), { dims: [1], aStrides: [0], bStrides: [0] });
  });

  it('broadcasts on several axes at once', () => {
    // a [2,1,4,1], b [1,3,1,5] -> out [2,3,4,5]: no two neighbouring dims merge
    assert.deepEqual(broadcastLoop([2, 1, 4, 1], [1, 3, 1, 5], [2, 3, 4, 5]), { dims: [2, 3, 4, 5], aStrides: [4, 0, 1, 0], bStrides: [0, 5, 0, 1] });
    // per (sample, channel) scale over NDHWC: D, H, W merge
    assert.deepEqual(broadcastLoop([2, 3, 4, 5, 6], [2, 1, 1, 1, 6], [2, 3, 4, 5, 6]), { dims: [2, 60, 6], aStrides: [360, 6, 1], bStrides: [6, 0, 1] });
  });

  it('the strides address every output element of a and b correctly', () => {
    const a = [3, 1, 4];
    const b = [2, 1, 1, 1];
    const out = [2, 3, 1, 4];
    const loop = broadcastLoop(a, b, out);
    const visited: [number, number][] = [];
    const walk = (d: number, ao: number, bo: number) => {
      if (d === loop.dims.length) return void visited.push([ao, bo]);
      for (let i = 0; i < loop.dims[d]!; i++) walk(d + 1, ao + i * loop.aStrides[d]!, bo + i * loop.bStrides[d]!);
    };
    walk(0, 0, 0);
    const expected: [number, number][] = [];
    for (let n = 0; n < 2; n++) for (let x = 0; x < 3; x++) for (let z = 0; z < 4; z++) expected.push([x * 4 + z, n]);
    assert.deepEqual(visited, expected);
  });
});

describe('reductionView', () => {
  it('views contiguous reduced axes as [outer, size, inner]', () => {
    assert.deepEqual(reductionView([2, 3, 4, 5], [3]), { outer: 24, size: 5, inner: 1 });
    assert.deepEqual(reductionView([2, 3, 4, 5, 16], [0, 1, 2, 3]), { outer: 1, size: 120, inner: 16 });
    assert.deepEqual(reductionView([2, 3, 4, 5], [1, 2]), { outer: 2, size: 12, inner: 5 });
  });

  it('ignores size-1 dims on both sides of the block', () => {
    assert.deepEqual(reductionView([3, 1, 4], [1]), { outer: 12, size: 1, inner: 1 });
    assert.deepEqual(reductionView([2, 1, 3, 1, 4], [0, 2]), { outer: 1, size: 6, inner: 4 });
  });

  it('refuses reduced axes separated by a kept dim', () => {
    assert.equal(reductionView([3, 4, 5], [0, 2]), null);
  });
});

describe('collapsePermutation', () => {
  it('merges input dims that stay adjacent', () => {
    assert.deepEqual(collapsePermutation([2, 3, 4, 5], [0, 2, 3, 1]), { shape: [2, 3, 20], perm: [0, 2, 1] });
    assert.deepEqual(collapsePermutation([2, 3, 4], [0, 1, 2]), { shape: [24], perm: [0] });
  });

  it('drops size-1 dims', () => {
    assert.deepEqual(collapsePermutation([4, 1, 3, 1, 2], [4, 0, 3, 2, 1]), { shape: [12, 2], perm: [1, 0] });
    assert.deepEqual(collapsePermutation([1, 1], [1, 0]), { shape: [1], perm: [0] });
  });

  it('row-major strides', () => {
    assert.deepEqual(rowMajorStrides([2, 3, 4]), [12, 4, 1]);
    assert.deepEqual(rowMajorStrides([]), []);
  });
});
