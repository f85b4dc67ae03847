import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generatePhantomCase, PHANTOM_INTENSITY, type PhantomCase } from '../../src/shared/data/phantom.js';
import { labelComponents } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { Shape3 } from '../../src/shared/volume.js';

const SHAPE: Shape3 = [64, 64, 48];
const SPAN = PHANTOM_INTENSITY.organ - PHANTOM_INTENSITY.tissue;

function bytes(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function countOnes(label: Uint8Array): number {
  let n = 0;
  for (const v of label) n += v;
  return n;
}

function centroid(c: PhantomCase): [number, number, number] {
  const [X, Y, Z] = c.shape;
  const s = [0, 0, 0];
  let n = 0;
  for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
    if (c.label[i]) {
      s[0] += x;
      s[1] += y;
      s[2] += z;
      n++;
    }
  }
  return [s[0]! / n, s[1]! / n, s[2]! / n];
}

/** Visits the 6 face neighbours of voxel (x, y, z) that lie inside the volume. */
function forFaceNeighbours(shape: Shape3, x: number, y: number, z: number, visit: (j: number) => void): void {
  const [X, Y, Z] = shape;
  const steps = [[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]] as const;
  for (const [dx, dy, dz] of steps) {
    const nx = x + dx, ny = y + dy, nz = z + dz;
    if (nx >= 0 && nx < X && ny >= 0 && ny < Y && nz >= 0 && nz < Z) visit((nx * Y + ny) * Z + nz);
  }
}

/** Removes every voxel with a background face neighbour, `times` times. */
function erode(mask: Uint8Array, shape: Shape3, times: number): Uint8Array {
  let cur = mask;
  const [X, Y, Z] = shape;
  for (let t = 0; t < times; t++) {
    const next = new Uint8Array(cur.length);
    for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
      if (!cur[i]) continue;
      let keep = 1;
      forFaceNeighbours(shape, x, y, z, (j) => {
        if (!cur[j]) keep = 0;
      });
      next[i] = keep;
    }
    cur = next;
  }
  return cur;
}

/** Dilates by a cube of half-width `r` (Chebyshev distance <= r). */
function dilateCube(mask: Uint8Array, shape: Shape3, r: number): Uint8Array {
  const [X, Y, Z] = shape;
  const out = new Uint8Array(mask.length);
  for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
    if (!mask[i]) continue;
    for (let a = Math.max(0, x - r); a <= Math.min(X - 1, x + r); a++)
      for (let b = Math.max(0, y - r); b <= Math.min(Y - 1, y + r); b++)
        for (let c = Math.max(0, z - r); c <= Math.min(Z - 1, z + r); c++) out[(a * Y + b) * Z + c] = 1;
  }
  return out;
}

test('a case is deterministic per (seed, index) and differs across seeds and indices', () => {
  const a = generatePhantomCase({ seed: 7, index: 3, shape: SHAPE });
  const b = generatePhantomCase({ seed: 7, index: 3, shape: SHAPE });
  assert.ok(bytes(a.image).equals(bytes(b.image)));
  assert.ok(bytes(a.label).equals(bytes(b.label)));
  const otherSeed = generatePhantomCase({ seed: 8, index: 3, shape: SHAPE });
  const otherIndex = generatePhantomCase({ seed: 7, index: 4, shape: SHAPE });
  assert.ok(!bytes(a.label).equals(bytes(otherSeed.label)));
  assert.ok(!bytes(a.image).equals(bytes(otherSeed.image)));
  assert.ok(!bytes(a.label).equals(bytes(otherIndex.label)));
});

test('organ cases are the ones written before the cardiac and tumour kinds existed (pinned hash)', () => {
  // `synth --kind organ` (the default) must keep writing the same datasets for the same seed.
  const c = generatePhantomCase({ seed: 5, index: 1, shape: [24, 20, 16] });
  const hash = createHash('sha256').update(bytes(c.image)).update(bytes(c.label)).digest('hex');
  assert.equal(hash, '4d5f5e065c5096e5d77e480ba060c8e3f8fc7041849f16de9bc8e4aecb267c27');
});

test('volumes have the requested shape, 1 mm spacing and a plausible non-negative float range', () => {
  const c = generatePhantomCase({ seed: 1, index: 0, shape: SHAPE });
  assert.deepEqual([...c.shape], [...SHAPE]);
  assert.deepEqual([...c.spacing], [1, 1, 1]);
  assert.equal(c.image.length, 64 * 64 * 48);
  assert.equal(c.label.length, 64 * 64 * 48);
  let min = Infinity, max = -Infinity;
  for (const v of c.image) {
    assert.ok(Number.isFinite(v));
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(min >= 0, `min ${min}`);
  assert.ok(max > PHANTOM_INTENSITY.organ * 0.8 && max < 3 * PHANTOM_INTENSITY.organ, `max ${max}`);
  assert.ok(c.label.every((v) => v === 0 || v === 1));
});

test('the organ with its appendage is one 26-connected component, well inside the volume', () => {
  for (const shape of [SHAPE, [32, 32, 32], [96, 80, 64]] as Shape3[]) {
    for (let index = 0; index < 6; index++) {
      const c = generatePhantomCase({ seed: 11, index, shape });
      const { count } = labelComponents(c.label, shape);
      assert.equal(count, 1, `shape ${shape} index ${index}: ${count} components`);
      const [X, Y, Z] = shape;
      for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
        if (!c.label[i]) continue;
        const onBorder = x === 0 || y === 0 || z === 0 || x === X - 1 || y === Y - 1 || z === Z - 1;
        assert.ok(!onBorder, `shape ${shape} index ${index}: organ touches the border at ${x},${y},${z}`);
      }
    }
  }
});

test('every organ has a thin appendage that an opening removes', () => {
  for (let index = 0; index < 8; index++) {
    const c = generatePhantomCase({ seed: 3, index, shape: SHAPE });
    // Two erosions delete anything at most ~3 voxels thick; dilating the core back restores the blob only.
    const body = dilateCube(erode(c.label, SHAPE, 2), SHAPE, 3);
    let thin = 0;
    for (let i = 0; i < c.label.length; i++) if (c.label[i] && !body[i]) thin++;
    assert.ok(thin >= 3, `index ${index}: only ${thin} voxels outside the opened organ`);
    assert.ok(thin < countOnes(c.label) / 4, `index ${index}: ${thin} thin voxels is not an appendage`);
  }
});

test('organ size and position vary across cases', () => {
  const cases = Array.from({ length: 8 }, (_, index) => generatePhantomCase({ seed: 5, index, shape: SHAPE }));
  const sizes = cases.map((c) => countOnes(c.label));
  assert.ok(Math.min(...sizes) > 200, `sizes ${sizes}`);
  assert.ok(Math.max(...sizes) / Math.min(...sizes) > 1.5, `sizes ${sizes}`);
  const xs = cases.map((c) => centroid(c)[0]);
  assert.ok(Math.max(...xs) - Math.min(...xs) > 4, `centroid x ${xs}`);
});

test('background structures as bright as the organ touch it on the wall, slab and vessel sides', () => {
  for (let index = 0; index < 6; index++) {
    // Without noise and bias, intensities are the structures' own levels.
    const c = generatePhantomCase({ seed: 2, index, shape: SHAPE, noise: 0, bias: 0 });
    const [X, Y, Z] = SHAPE;
    const organValues: number[] = [];
    const background: number[] = [];
    for (let i = 0; i < c.label.length; i++) (c.label[i] ? organValues : background).push(c.image[i]!);
    const organLevel = median(organValues);
    const tissueLevel = median(background);
    assert.ok(organLevel - tissueLevel > 0.7 * SPAN * 0.85, `organ ${organLevel} tissue ${tissueLevel}`);

    const [cx, cy, cz] = centroid(c);
    const sides = { wall: 0, slab: 0, vessel: 0, total: 0 };
    for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
      if (c.label[i]) continue;
      if (Math.abs(c.image[i]! - organLevel) > 0.35 * (organLevel - tissueLevel)) continue;
      let touches = false;
      forFaceNeighbours(SHAPE, x, y, z, (j) => {
        if (c.label[j]) touches = true;
      });
      if (!touches) continue;
      sides.total++;
      // direction from the organ's centroid: the wall wraps -x, the slab lies at -y, the vessel passes at +x
      const [dx, dy, dz] = [x - cx, y - cy, z - cz];
      const len = Math.hypot(dx, dy, dz);
      if (-dx / len > 0.7) sides.wall++;
      if (-dy / len > 0.7) sides.slab++;
      if (dx / len > 0.7) sides.vessel++;
    }
    assert.ok(sides.total >= 30, `index ${index}: ${JSON.stringify(sides)}`);
    assert.ok(sides.wall > 0 && sides.slab > 0 && sides.vessel > 0, `index ${index}: ${JSON.stringify(sides)}`);
  }
});

test('noise is Gaussian with the requested sigma and the bias field is smooth and about ±20%', () => {
  // variability 0: every case has exactly the requested appearance.
  const clean = generatePhantomCase({ seed: 4, index: 1, shape: SHAPE, noise: 0, bias: 0, variability: 0 });
  const noisy = generatePhantomCase({ seed: 4, index: 1, shape: SHAPE, noise: 0.12, bias: 0, variability: 0 });
  const biased = generatePhantomCase({ seed: 4, index: 1, shape: SHAPE, noise: 0, bias: 0.2, variability: 0 });
  assert.ok(bytes(clean.label).equals(bytes(noisy.label)), 'noise must not change the geometry');

  let sum = 0, sq = 0;
  for (let i = 0; i < clean.image.length; i++) {
    const d = noisy.image[i]! - clean.image[i]!;
    sum += d;
    sq += d * d;
  }
  const n = clean.image.length;
  const sd = Math.sqrt(sq / n - (sum / n) ** 2);
  assert.ok(Math.abs(sd - 0.12 * SPAN) < 0.05 * 0.12 * SPAN, `noise sd ${sd}`);
  assert.ok(Math.abs(sum / n) < 1, `noise mean ${sum / n}`);

  const [X, Y, Z] = SHAPE;
  let lo = Infinity, hi = -Infinity, maxStep = 0;
  for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
    const ratio = biased.image[i]! / clean.image[i]!;
    lo = Math.min(lo, ratio);
    hi = Math.max(hi, ratio);
    if (z > 0) maxStep = Math.max(maxStep, Math.abs(ratio - biased.image[i - 1]! / clean.image[i - 1]!));
  }
  assert.ok(hi - lo > 0.1 && lo > 0.79 && hi < 1.21, `bias ratio ${lo}..${hi}`);
  assert.ok(maxStep < 0.02, `bias field is not smooth: step ${maxStep}`);
});

test("noiseSpread widens the case-to-case range of the noise sigma alone; its default is 0.7 × variability", () => {
  const small: Shape3 = [32, 32, 24];
  // variability 0: the noise factor e^u is the only appearance draw that differs between cases.
  const noiseFactor = (index: number, noiseSpread: number) => {
    const clean = generatePhantomCase({ seed: 3, index, shape: small, noise: 0, bias: 0, variability: 0, noiseSpread });
    const noisy = generatePhantomCase({ seed: 3, index, shape: small, noise: 0.12, bias: 0, variability: 0, noiseSpread });
    assert.ok(bytes(clean.label).equals(bytes(noisy.label)), 'the noise must not change the geometry');
    let sq = 0;
    for (let i = 0; i < clean.image.length; i++) sq += (noisy.image[i]! - clean.image[i]!) ** 2;
    return Math.sqrt(sq / clean.image.length) / (0.12 * SPAN);
  };
  const indices = [0, 1, 2, 3, 4, 5];
  const fixed = indices.map((i) => noiseFactor(i, 0));
  const wide = indices.map((i) => noiseFactor(i, 1.4));
  for (const f of fixed) assert.ok(Math.abs(f - 1) < 0.05, `spread 0: every case has the requested sigma, got factor ${f}`);
  for (const f of wide) assert.ok(f > Math.exp(-1.4) * 0.95 && f < Math.exp(1.4) * 1.05, `spread 1.4: factor ${f} outside e^±1.4`);
  assert.ok(Math.max(...wide) / Math.min(...wide) > 2, `spread 1.4: factors ${wide.map((f) => f.toFixed(2)).join(', ')}`);
  // The default is the spread variability always had: datasets written before the knob are unchanged.
  const options = { seed: 5, index: 2, shape: small, variability: 0.8 };
  assert.ok(bytes(generatePhantomCase(options).image).equals(bytes(generatePhantomCase({ ...options, noiseSpread: 0.7 * 0.8 }).image)));
});

test('a lower contrast brings the touching structures closer to the organ intensity', () => {
  const gap = (contrast: number) => {
    const c = generatePhantomCase({ seed: 9, index: 0, shape: SHAPE, noise: 0, bias: 0, contrast });
    const organ: number[] = [];
    for (let i = 0; i < c.label.length; i++) if (c.label[i]) organ.push(c.image[i]!);
    // brightest background voxels belong to the vessel, which is brighter than the organ by `contrast`
    let brightest = 0;
    for (let i = 0; i < c.label.length; i++) if (!c.label[i]) brightest = Math.max(brightest, c.image[i]!);
    return brightest - median(organ);
  };
  const high = gap(0.5);
  const low = gap(0.1);
  assert.ok(high > 2 * low, `gap at contrast 0.5: ${high}, at 0.1: ${low}`);
});

test("vessel 'darker' puts every touching structure below the organ; the default keeps the vessel above it and the same geometry", () => {
  const options = { seed: 9, index: 0, shape: SHAPE, noise: 0, bias: 0, contrast: 0.5, variability: 0 };
  const brighter = generatePhantomCase(options);
  const darker = generatePhantomCase({ ...options, vessel: 'darker' });
  assert.deepEqual(darker.label, brighter.label, 'the polarity changes intensities only');
  assert.deepEqual(bytes(generatePhantomCase({ ...options, vessel: 'brighter' }).image), bytes(brighter.image), "'brighter' is the default");
  const organ: number[] = [];
  for (let i = 0; i < brighter.label.length; i++) if (brighter.label[i]) organ.push(brighter.image[i]!);
  const organLevel = median(organ);
  // away from the organ's soft edge, the brightest background voxel is the vessel's with 'brighter'
  // and a structure below the organ with 'darker'
  const brightestBackground = (c: PhantomCase) => {
    let best = 0;
    for (let i = 0; i < c.label.length; i++) if (!c.label[i]) best = Math.max(best, c.image[i]!);
    return best;
  };
  assert.ok(brightestBackground(brighter) > organLevel + 0.3 * SPAN, `brighter: ${brightestBackground(brighter)} vs organ ${organLevel}`);
  assert.ok(brightestBackground(darker) < organLevel + 0.1 * SPAN, `darker: ${brightestBackground(darker)} vs organ ${organLevel}`);
  let changed = 0;
  for (let i = 0; i < darker.image.length; i++) if (darker.image[i]! < brighter.image[i]! - 0.5 * SPAN) changed++;
  assert.ok(changed > 200, `the vessel's voxels drop by 1.8 x contrast x span: ${changed}`);
});

test('bad options throw a TracocoError naming the field', () => {
  const bad: [Parameters<typeof generatePhantomCase>[0], string][] = [
    [{ seed: 0, index: 0, shape: [8, 64, 64] }, 'shape'],
    [{ seed: 0, index: 0, shape: [64, 64.5, 64] }, 'shape'],
    [{ seed: 0, index: 0, shape: SHAPE, noise: -1 }, 'noise'],
    [{ seed: 0, index: 0, shape: SHAPE, contrast: Number.NaN }, 'contrast'],
    [{ seed: 0, index: 0, shape: SHAPE, bias: 1 }, 'bias'],
    [{ seed: 0, index: 0, shape: SHAPE, vessel: 'grey' as never }, 'vessel'],
    [{ seed: 0, index: 0, shape: SHAPE, noiseSpread: -0.1 }, 'noiseSpread'],
    [{ seed: 0, index: 0, shape: SHAPE, noiseSpread: 3.5 }, 'noiseSpread'],
  ];
  for (const [options, field] of bad) {
    assert.throws(() => generatePhantomCase(options), (err: unknown) => {
      assert.ok(err instanceof TracocoError);
      assert.equal(err.context.field, field);
      return true;
    });
  }
});

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

test('appearance varies from case to case with variability, and not at all without it', () => {
  const organMean = (c: { image: Float32Array; label: Uint8Array }) => {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < c.label.length; i++) if (c.label[i]) (sum += c.image[i]!), n++;
    return sum / n;
  };
  const levels = (variability: number) =>
    Array.from({ length: 8 }, (_, index) => organMean(generatePhantomCase({ seed: 6, index, shape: SHAPE, noise: 0, bias: 0, variability })));
  const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / Math.min(...xs);
  const fixed = levels(0);
  const varied = levels(1);
  // Without variability only the global gain (±15%) moves the organ level.
  assert.ok(spread(fixed) < 0.4, `organ level spread without variability: ${spread(fixed)}`);
  assert.ok(spread(varied) > spread(fixed) + 0.1, `organ level spread ${spread(varied)} should exceed ${spread(fixed)}`);
  const geometry = (variability: number) => generatePhantomCase({ seed: 6, index: 3, shape: SHAPE, variability }).label;
  assert.ok(bytes(geometry(0)).equals(bytes(geometry(1))), 'variability must not change the geometry');
});
