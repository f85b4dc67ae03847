import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CARDIAC_CLASSES, CARDIAC_INTENSITY, generateCardiacCase } from '../../src/shared/data/phantom-cardiac.js';
import { labelComponents } from '../../src/shared/metrics/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { Shape3 } from '../../src/shared/volume.js';
import { bytes, count, forEachFacePair, maskOf, median, valuesOf, zRange } from '../support/volumes.js';

const SHAPE: Shape3 = [64, 64, 48];
const { rightVentricle: RV, myocardium: MYO, leftVentricle: LV } = CARDIAC_CLASSES;
const SPAN = CARDIAC_INTENSITY.blood - CARDIAC_INTENSITY.tissue;

test('cardiac: a case is deterministic per (seed, index) and differs across seeds and indices', () => {
  const a = generateCardiacCase({ seed: 7, index: 2, shape: SHAPE });
  const b = generateCardiacCase({ seed: 7, index: 2, shape: SHAPE });
  assert.ok(bytes(a.image).equals(bytes(b.image)));
  assert.ok(bytes(a.label).equals(bytes(b.label)));
  assert.ok(!bytes(a.label).equals(bytes(generateCardiacCase({ seed: 8, index: 2, shape: SHAPE }).label)));
  assert.ok(!bytes(a.label).equals(bytes(generateCardiacCase({ seed: 7, index: 3, shape: SHAPE }).label)));
});

test('cardiac: the ACDC classes 0..3 are all present, each one connected component, at every size', () => {
  for (const shape of [SHAPE, [32, 32, 24], [48, 40, 16], [96, 80, 20]] as Shape3[]) {
    for (let index = 0; index < 4; index++) {
      const c = generateCardiacCase({ seed: 3, index, shape });
      assert.deepEqual([...c.shape], [...shape]);
      assert.deepEqual([...c.spacing], [1, 1, 1]);
      assert.equal(c.label.length, shape[0] * shape[1] * shape[2]);
      assert.ok(c.label.every((v) => v <= 3), `${shape} #${index}: label outside 0..3`);
      assert.ok(c.image.every((v) => Number.isFinite(v) && v >= 0), `${shape} #${index}: image not finite and non-negative`);
      for (const cls of [RV, MYO, LV]) {
        const { count: parts } = labelComponents(maskOf(c.label, cls), shape);
        assert.equal(parts, 1, `${shape} #${index}: class ${cls} has ${parts} components`);
      }
    }
  }
});

test('cardiac: the LV cavity is ringed by myocardium in every slice, the RV touches the septum but never the LV cavity', () => {
  for (let index = 0; index < 6; index++) {
    const c = generateCardiacCase({ seed: 5, index, shape: SHAPE });
    const contacts = { lvInPlane: new Set<number>(), rvMyo: 0, rvLv: 0 };
    forEachFacePair(SHAPE, (i, j, dz) => {
      const a = c.label[i]!;
      const b = c.label[j]!;
      if (a === LV && dz === 0) contacts.lvInPlane.add(b);
      if (a === RV && b === MYO) contacts.rvMyo++;
      if (a === RV && b === LV) contacts.rvLv++;
    });
    assert.deepEqual([...contacts.lvInPlane].sort(), [MYO, LV], `#${index}: in-plane neighbours of the LV cavity`);
    assert.ok(contacts.rvMyo >= 20, `#${index}: only ${contacts.rvMyo} RV-myocardium contacts`);
    assert.equal(contacts.rvLv, 0, `#${index}: RV touches the LV cavity`);
    // the myocardium caps the apex below the cavity; the RV starts above the LV apex
    const [lvLow] = zRange(c.label, SHAPE, LV);
    const [myoLow] = zRange(c.label, SHAPE, MYO);
    const [rvLow] = zRange(c.label, SHAPE, RV);
    assert.ok(myoLow < lvLow && rvLow > lvLow, `#${index}: lowest slices myo ${myoLow}, LV ${lvLow}, RV ${rvLow}`);
  }
});

test('cardiac: unlabelled structures touch the heart at blood-like and myocardium-like intensities', () => {
  for (let index = 0; index < 8; index++) {
    // a low contrast and no variability: every touching structure is close to the level it mimics
    const c = generateCardiacCase({ seed: 2, index, shape: SHAPE, noise: 0, bias: 0, contrast: 0.1, variability: 0 });
    const blood = median(valuesOf(c.image, c.label, LV));
    const myo = median(valuesOf(c.image, c.label, MYO));
    const gap = blood - myo;
    assert.ok(gap > 0.9 * SPAN, `#${index}: blood ${blood}, myocardium ${myo}`);
    const touching = { atrium: 0, fat: 0, dark: 0 };
    forEachFacePair(SHAPE, (i, j, dz) => {
      if (c.label[i] !== 0) return;
      const v = c.image[i]!;
      if (c.label[j] === LV && dz !== 0 && v > blood - 0.15 * gap) touching.atrium++; // above the open base
      if (c.label[j] === MYO && dz === 0 && v > blood - 0.15 * gap) touching.fat++; // epicardial fat
      if (c.label[j] === MYO && Math.abs(v - myo) < 0.1 * gap) touching.dark++; // liver, RV free wall
    });
    const { atrium, fat, dark } = touching;
    assert.ok(atrium >= 5 && fat >= 20 && dark >= 20, `#${index}: ${JSON.stringify(touching)}`);
  }
});

test('cardiac: shapes and positions vary from case to case', () => {
  const cases = Array.from({ length: 8 }, (_, index) => generateCardiacCase({ seed: 9, index, shape: SHAPE }));
  for (const cls of [RV, MYO, LV]) {
    const sizes = cases.map((c) => count(c.label, cls));
    assert.ok(Math.min(...sizes) > 300 && Math.max(...sizes) / Math.min(...sizes) > 1.4, `class ${cls} sizes ${sizes}`);
  }
  const firstLvVoxel = cases.map((c) => c.label.indexOf(LV));
  assert.ok(new Set(firstLvVoxel).size === cases.length, 'LV positions repeat');
});

test('cardiac: noise has the requested sigma, a lower contrast brings the touching structures closer to the blood', () => {
  const clean = generateCardiacCase({ seed: 4, index: 1, shape: SHAPE, noise: 0, bias: 0, variability: 0 });
  const noisy = generateCardiacCase({ seed: 4, index: 1, shape: SHAPE, noise: 0.12, bias: 0, variability: 0 });
  assert.ok(bytes(clean.label).equals(bytes(noisy.label)), 'noise must not change the geometry');
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < clean.image.length; i++) {
    if (clean.image[i]! < 0.3 * CARDIAC_INTENSITY.tissue) continue; // clipping at 0 would bias the estimate
    const d = noisy.image[i]! - clean.image[i]!;
    sum += d;
    sq += d * d;
    n++;
  }
  const sd = Math.sqrt(sq / n - (sum / n) ** 2);
  assert.ok(Math.abs(sd - 0.12 * SPAN) < 0.05 * 0.12 * SPAN, `noise sd ${sd}`);

  const gap = (contrast: number) => {
    const c = generateCardiacCase({ seed: 4, index: 1, shape: SHAPE, noise: 0, bias: 0, variability: 0, contrast });
    const background = valuesOf(c.image, c.label, 0).sort((a, b) => a - b);
    return median(valuesOf(c.image, c.label, LV)) - background[Math.floor(background.length * 0.9995)]!;
  };
  const high = gap(0.5);
  const low = gap(0.1);
  assert.ok(high > 2 * low, `blood minus brightest background at contrast 0.5: ${high}, at 0.1: ${low}`);
});

test('cardiac: bad options throw a TracocoError naming the field', () => {
  const bad: [Parameters<typeof generateCardiacCase>[0], string][] = [
    [{ seed: 0, index: 0, shape: [8, 64, 64] }, 'shape'],
    [{ seed: 0, index: 0, shape: SHAPE, noise: -1 }, 'noise'],
    [{ seed: 0, index: 0, shape: SHAPE, variability: 2 }, 'variability'],
  ];
  for (const [options, field] of bad) {
    assert.throws(() => generateCardiacCase(options), (err: unknown) => err instanceof TracocoError && err.context.field === field);
  }
});
