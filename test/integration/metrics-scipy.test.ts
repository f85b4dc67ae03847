/**
 * Cross-check against scipy (Debian python3-scipy): the distance transform, medpy's hd95/asd
 * formulas written with scipy.ndimage, and 26-connected component counts, on seeded random
 * blobby masks of several shapes and anisotropic spacings. Skips without python3 + scipy,
 * except in CI where scipy is required.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caseMetrics, euclideanDistanceTransform, labelComponents, removeSmallComponents } from '../../src/shared/metrics/index.js';
import { Random } from '../../src/shared/random.js';
import type { Shape3, Vec3 } from '../../src/shared/volume.js';
import { tempDir } from '../support/env.js';

const PYTHON = '/usr/bin/python3';

const SCIPY_SCRIPT = `
import json, sys
import numpy as np
from scipy import ndimage
folder = sys.argv[1]
meta = json.load(open(folder + '/meta.json'))
shape, spacing, min_voxels = tuple(meta['shape']), meta['spacing'], meta['min_voxels']
pred = np.fromfile(folder + '/pred.u8', dtype=np.uint8).reshape(shape).astype(bool)
label = np.fromfile(folder + '/label.u8', dtype=np.uint8).reshape(shape).astype(bool)
cross = ndimage.generate_binary_structure(3, 1)
def border(m):
    return m ^ ndimage.binary_erosion(m, structure=cross, iterations=1)
def surface_distances(result, reference):
    return ndimage.distance_transform_edt(~border(reference), sampling=spacing)[border(result)]
ndimage.distance_transform_edt(~label, sampling=spacing).astype('<f8').tofile(folder + '/edt.f8')
pred_to_label = surface_distances(pred, label)
label_to_pred = surface_distances(label, pred)
components, count = ndimage.label(pred, structure=np.ones((3, 3, 3)))
sizes = np.bincount(components.ravel())[1:]
json.dump({
    'hd95': float(np.percentile(np.hstack((pred_to_label, label_to_pred)), 95)),
    'asd': float(pred_to_label.mean()),
    'dice': float(2.0 * np.count_nonzero(pred & label) / (np.count_nonzero(pred) + np.count_nonzero(label))),
    'components': int(count),
    'sizes': sorted(int(s) for s in sizes),
    'kept_voxels': int(sizes[sizes >= min_voxels].sum()),
}, sys.stdout)
`;

function scipySkipReason(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy.ndimage'], { encoding: 'utf8' });
  if (r.status === 0) return false;
  if (process.env.CI) throw new Error(`python3 with numpy and scipy is required in CI: ${r.error?.message ?? r.stderr}`);
  return 'python3 with numpy and scipy not available';
}

/** A union of random ellipsoids (some touching the array edge) plus a few specks. */
function blobbyMask(rng: Random, shape: Shape3, blobs: number, specks: number): Uint8Array {
  const [X, Y, Z] = shape;
  const mask = new Uint8Array(X * Y * Z);
  const ellipsoid = (c: Vec3, r: Vec3) => {
    const lo = c.map((v, a) => Math.max(0, Math.floor(v - r[a]!)));
    const hi = c.map((v, a) => Math.min(shape[a]! - 1, Math.ceil(v + r[a]!)));
    for (let x = lo[0]!; x <= hi[0]!; x++)
      for (let y = lo[1]!; y <= hi[1]!; y++)
        for (let z = lo[2]!; z <= hi[2]!; z++)
          if (((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1) mask[(x * Y + y) * Z + z] = 1;
  };
  const centre = (): Vec3 => [rng.range(0, X), rng.range(0, Y), rng.range(0, Z)];
  for (let b = 0; b < blobs; b++) {
    const s = Math.min(X, Y, Z);
    ellipsoid(centre(), [rng.range(s / 10, s / 3), rng.range(s / 10, s / 3), rng.range(s / 10, s / 3)]);
  }
  for (let k = 0; k < specks; k++) ellipsoid(centre(), [rng.range(0.5, 1.5), rng.range(0.5, 1.5), rng.range(0.5, 1.5)]);
  return mask;
}

interface ScipyResult {
  hd95: number;
  asd: number;
  dice: number;
  components: number;
  sizes: number[];
  kept_voxels: number;
}

function runScipy(folder: string, pred: Uint8Array, label: Uint8Array, shape: Shape3, spacing: Vec3, minVoxels: number): { result: ScipyResult; edt: Float64Array } {
  writeFileSync(join(folder, 'meta.json'), JSON.stringify({ shape, spacing, min_voxels: minVoxels }));
  writeFileSync(join(folder, 'pred.u8'), pred);
  writeFileSync(join(folder, 'label.u8'), label);
  const r = spawnSync(PYTHON, ['-c', SCIPY_SCRIPT, folder], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `scipy script failed: ${r.stderr}`);
  const bytes = readFileSync(join(folder, 'edt.f8'));
  const edt = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { result: JSON.parse(r.stdout) as ScipyResult, edt };
}

test('metrics, EDT and 26-connected components agree with scipy', { skip: scipySkipReason() }, () => {
  const rng = new Random(20261126);
  const cases: [Shape3, Vec3][] = [
    [[40, 36, 24], [1, 1, 1]],
    [[33, 50, 17], [0.625, 0.625, 2.5]],
    [[64, 48, 32], [2, 0.8, 1.3]],
    [[20, 70, 45], [1, 3, 0.5]],
  ];
  const dir = tempDir();
  try {
    let checked = 0;
    for (const [shape, spacing] of cases) {
      for (let rep = 0; rep < 2; rep++) {
        const label = blobbyMask(rng, shape, 3, 0);
        const pred = blobbyMask(rng, shape, 3, 6);
        if (!label.some((v) => v) || !pred.some((v) => v)) continue;
        const minVoxels = 50;
        const { result, edt } = runScipy(dir.path, pred, label, shape, spacing, minVoxels);
        const where = `shape ${shape} spacing ${spacing} rep ${rep}`;

        const ours = euclideanDistanceTransform(label, shape, spacing);
        for (let i = 0; i < ours.length; i++) {
          assert.ok(Math.abs(ours[i]! - edt[i]!) <= 1e-9 * Math.max(1, edt[i]!), `${where}: EDT voxel ${i} ${ours[i]} vs ${edt[i]}`);
        }
        const m = caseMetrics(pred, label, shape, spacing);
        assert.ok(Math.abs(m.hd95 - result.hd95) < 1e-9, `${where}: hd95 ${m.hd95} vs ${result.hd95}`);
        assert.ok(Math.abs(m.asd - result.asd) < 1e-9, `${where}: asd ${m.asd} vs ${result.asd}`);
        assert.ok(Math.abs(m.dice - result.dice) < 1e-12, `${where}: dice ${m.dice} vs ${result.dice}`);

        const components = labelComponents(pred, shape);
        assert.equal(components.count, result.components, `${where}: component count`);
        assert.deepEqual(Array.from(components.sizes.subarray(1)).sort((a, b) => a - b), result.sizes, `${where}: component sizes`);
        const kept = removeSmallComponents(pred, shape, minVoxels).reduce((a, b) => a + b, 0);
        assert.equal(kept, result.kept_voxels, `${where}: voxels kept by removeSmallComponents`);
        checked++;
      }
    }
    assert.ok(checked >= cases.length, `only ${checked} cases had non-empty masks`);
  } finally {
    dir.cleanup();
  }
});
