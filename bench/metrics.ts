/**
 * `tracoco bench metrics`: per-case metrics (Dice, Jaccard, hd95, asd) and the full-volume
 * distance transform on a Left-Atrium-sized prediction/label pair (two overlapping, seeded,
 * irregular blobs). Target: well under one second for caseMetrics on 200x150x88.
 */
import { performance } from 'node:perf_hooks';
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import { Random } from '../src/shared/random.js';
import type { Shape3, Vec3 } from '../src/shared/volume.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';

interface MetricsBenchOptions extends Record<string, unknown> {
  shape: Shape3;
  runs: number;
  seed: number;
}

/** An organ-like blob: a union of ellipsoids scattered around `centre`, sized relative to the volume. */
function irregularBlob(rng: Random, shape: Shape3, centre: Vec3, lobes: number): Uint8Array {
  const [X, Y, Z] = shape;
  const mask = new Uint8Array(X * Y * Z);
  const scale = Math.min(X, Y, Z) / 4;
  for (let l = 0; l < lobes; l++) {
    const c = centre.map((v) => v + rng.range(-scale / 2, scale / 2));
    const r = [rng.range(0.4, 1), rng.range(0.4, 1), rng.range(0.4, 1)].map((f) => f * scale);
    const lo = c.map((v, a) => Math.max(0, Math.floor(v - r[a]!)));
    const hi = c.map((v, a) => Math.min(shape[a]! - 1, Math.ceil(v + r[a]!)));
    for (let x = lo[0]!; x <= hi[0]!; x++) {
      const dx = ((x - c[0]!) / r[0]!) ** 2;
      for (let y = lo[1]!; y <= hi[1]!; y++) {
        const dxy = dx + ((y - c[1]!) / r[1]!) ** 2;
        for (let z = lo[2]!; z <= hi[2]!; z++) if (dxy + ((z - c[2]!) / r[2]!) ** 2 <= 1) mask[(x * Y + y) * Z + z] = 1;
      }
    }
  }
  return mask;
}

function medianMs(runs: number, work: () => unknown): number {
  work(); // warm-up: JIT and allocation of the first call are not what we measure
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  return median(times);
}

export const spec: BenchSpec<MetricsBenchOptions> = {
  name: 'metrics',
  description: 'caseMetrics (Dice, Jaccard, hd95, asd) and the distance transform on a 200x150x88 pair',
  options: [
    { flags: '--shape <XxYxZ>', description: 'volume shape', parse: shapeXYZ, default: [200, 150, 88] },
    { flags: '--runs <n>', description: 'timed runs after one warm-up (median reported)', parse: positiveInt, default: 5 },
    { flags: '--seed <n>', description: 'blob seed', parse: positiveInt, default: 1 },
  ],
  async run({ shape, runs, seed }) {
    const { caseMetrics, euclideanDistanceTransform } = await import('../src/shared/metrics/index.js');
    const rng = new Random(seed);
    const centre: Vec3 = [shape[0] / 2, shape[1] / 2, shape[2] / 2];
    const label = irregularBlob(rng, shape, centre, 6);
    const pred = irregularBlob(rng, shape, [centre[0] + 3, centre[1] - 2, centre[2] + 1], 6);
    const voxels = label.length;
    const msCaseMetrics = medianMs(runs, () => caseMetrics(pred, label, shape));
    const msEdt = medianMs(runs, () => euclideanDistanceTransform(label, shape));
    const metrics = caseMetrics(pred, label, shape);
    const foreground = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
    return {
      shape: [...shape],
      runs,
      pred_voxels: foreground(pred),
      label_voxels: foreground(label),
      metrics,
      ms_case_metrics: round(msCaseMetrics, 2),
      ms_edt: round(msEdt, 2),
      voxels_per_second: Math.round(voxels / (msCaseMetrics / 1000)),
    };
  },
};

runIfMain(import.meta.url, spec);
