import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateTumourCase, TUMOUR_GAP, TUMOUR_INTENSITY } from '../../src/shared/data/phantom-tumour.js';
import { labelComponents } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { Shape3 } from '../../src/shared/volume.js';
import { bytes, forEachFacePair, valuesOf } from '../support/volumes.js';

const SHAPE: Shape3 = [64, 64, 48];
const SPAN = TUMOUR_INTENSITY.tumour - TUMOUR_INTENSITY.tissue;

test('tumour: a case is deterministic per (seed, index) and differs across seeds and indices', () => {
  const a = generateTumourCase({ seed: 7, index: 2, shape: SHAPE });
  const b = generateTumourCase({ seed: 7, index: 2, shape: SHAPE });
  assert.ok(bytes(a.image).equals(bytes(b.image)));
  assert.ok(bytes(a.label).equals(bytes(b.label)));
  assert.ok(!bytes(a.label).equals(bytes(generateTumourCase({ seed: 8, index: 2, shape: SHAPE }).label)));
  assert.ok(!bytes(a.label).equals(bytes(generateTumourCase({ seed: 7, index: 3, shape: SHAPE }).label)));
});

test('tumour: 2 classes, several separate blobs per case, at every size, none on the border', () => {
  for (const shape of [SHAPE, [32, 32, 32], [24, 20, 16], [96, 80, 40]] as Shape3[]) {
    for (let index = 0; index < 5; index++) {
      const c = generateTumourCase({ seed: 11, index, shape });
      assert.deepEqual([...c.shape], [...shape]);
      assert.deepEqual([...c.spacing], [1, 1, 1]);
      assert.ok(c.label.every((v) => v === 0 || v === 1), `${shape} #${index}: label outside 0..1`);
      assert.ok(c.image.every((v) => Number.isFinite(v) && v >= 0), `${shape} #${index}: image not finite and non-negative`);
      const { count } = labelComponents(c.label, shape);
      assert.ok(count >= 2, `${shape} #${index}: ${count} blobs`);
      const [X, Y, Z] = shape;
      for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
        const border = x === 0 || y === 0 || z === 0 || x === X - 1 || y === Y - 1 || z === Z - 1;
        if (border) assert.equal(c.label[i], 0, `${shape} #${index}: tumour on the border at ${x},${y},${z}`);
      }
    }
  }
});

test('tumour: blob sizes span an order of magnitude, with a small one in every case', () => {
  const smallest: number[] = [];
  const ratios: number[] = [];
  for (let index = 0; index < 8; index++) {
    const c = generateTumourCase({ seed: 4, index, shape: SHAPE });
    const sizes = [...labelComponents(c.label, SHAPE).sizes.slice(1)];
    smallest.push(Math.min(...sizes));
    ratios.push(Math.max(...sizes) / Math.min(...sizes));
  }
  assert.ok(smallest.every((n) => n <= 40), `smallest blob per case: ${smallest}`);
  assert.ok(ratios.every((r) => r >= 5), `largest / smallest blob per case: ${ratios}`);
  assert.ok(new Set(smallest).size > 1, 'the small blob is the same size in every case');
});

test('tumour: a tumour-bright mimic touches a tumour; outside the brain is exactly 0', () => {
  for (let index = 0; index < 6; index++) {
    const c = generateTumourCase({ seed: 2, index, shape: SHAPE, noise: 0, bias: 0, contrast: 0.1, variability: 0 });
    const tumour = valuesOf(c.image, c.label, 1).sort((a, b) => a - b);
    const bright = tumour[Math.floor(tumour.length * 0.75)]!;
    // a partial-volume edge voxel is at most half tumour: only a mimic comes within 0.25 span of it
    let mimic = 0;
    forEachFacePair(SHAPE, (i, j) => {
      if (c.label[i] === 0 && c.label[j] === 1 && c.image[i]! > bright - 0.25 * SPAN) mimic++;
    });
    assert.ok(mimic >= 5, `#${index}: ${mimic} tumour-bright background voxels touch a tumour`);
    const noisy = generateTumourCase({ seed: 2, index, shape: SHAPE });
    assert.equal(noisy.image[0], 0, 'corner (0, 0, 0) is outside the brain');
    assert.equal(noisy.image[noisy.image.length - 1], 0, 'the far corner is outside the brain');
  }
});

test('tumour: large blobs have a darker necrotic core that is still labelled tumour', () => {
  const c = generateTumourCase({ seed: 3, index: 0, shape: [96, 96, 64], noise: 0, bias: 0, variability: 0 });
  const tumour = valuesOf(c.image, c.label, 1).sort((a, b) => a - b);
  const low = tumour[Math.floor(tumour.length * 0.02)]!;
  const high = tumour[Math.floor(tumour.length * 0.9)]!;
  assert.ok(high - low > 0.5 * SPAN, `tumour intensities ${low}..${high}`);
});

test('tumour: noise has the requested sigma inside the brain; blobs keep their gap', () => {
  const clean = generateTumourCase({ seed: 5, index: 1, shape: SHAPE, noise: 0, bias: 0, variability: 0 });
  const noisy = generateTumourCase({ seed: 5, index: 1, shape: SHAPE, noise: 0.2, bias: 0, variability: 0 });
  assert.ok(bytes(clean.label).equals(bytes(noisy.label)), 'noise must not change the geometry');
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < clean.image.length; i++) {
    if (clean.image[i]! < 0.5 * TUMOUR_INTENSITY.tissue) continue; // outside the brain, ventricles (clipped at 0)
    const d = noisy.image[i]! - clean.image[i]!;
    sum += d;
    sq += d * d;
    n++;
  }
  const sd = Math.sqrt(sq / n - (sum / n) ** 2);
  assert.ok(Math.abs(sd - 0.2 * SPAN) < 0.05 * 0.2 * SPAN, `noise sd ${sd}`);
  // separate components at least TUMOUR_GAP - 1 voxels apart: no voxel of one within reach of another
  const { labels } = labelComponents(clean.label, SHAPE);
  const [X, Y, Z] = SHAPE;
  const reach = TUMOUR_GAP - 1;
  const inside = (x: number, y: number, z: number) => x >= 0 && y >= 0 && z >= 0 && x < X && y < Y && z < Z;
  for (let i = 0; i < labels.length; i++) {
    if (!labels[i]) continue;
    const x = Math.floor(i / (Y * Z)), y = Math.floor(i / Z) % Y, z = i % Z;
    for (let dx = -reach; dx <= reach; dx++) for (let dy = -reach; dy <= reach; dy++) for (let dz = -reach; dz <= reach; dz++) {
      if (!inside(x + dx, y + dy, z + dz)) continue;
      const j = ((x + dx) * Y + (y + dy)) * Z + (z + dz);
      if (labels[j] && labels[j] !== labels[i]) assert.fail(`blobs ${labels[i]} and ${labels[j]} come within ${reach} voxels`);
    }
  }
});

test('tumour: bad options throw a TracocoError naming the field', () => {
  const bad: [Parameters<typeof generateTumourCase>[0], string][] = [
    [{ seed: 0, index: 0, shape: [64, 15, 64] }, 'shape'],
    [{ seed: 0, index: 0, shape: SHAPE, contrast: Number.NaN }, 'contrast'],
    [{ seed: 0, index: 0, shape: SHAPE, bias: 1 }, 'bias'],
  ];
  for (const [options, field] of bad) {
    assert.throws(() => generateTumourCase(options), (err: unknown) => err instanceof TracocoError && err.context.field === field);
  }
});
