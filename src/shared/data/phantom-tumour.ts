/**
 * Tumour phantom for `tracoco synth --kind tumour`: a skull-stripped FLAIR-like brain (BraTS
 * setting, 2 classes: 0 background, 1 whole tumour) holding several hyperintense lobed tumour blobs
 * of very different sizes — one large with a darker necrotic core (still tumour), one small (a few
 * voxels across) and a few in between — so small lesions and heterogeneous ones are both present.
 *
 * Nuisances, as in the organ phantom: unlabelled hyperintense blobs nearly as bright as tumour (one
 * touching the large tumour, others free), dark ventricles, textured tissue, a multiplicative bias
 * field, Gaussian noise and case-to-case appearance variability. Outside the brain is exactly 0, as
 * in skull-stripped data.
 *
 * Blobs are kept at least TUMOUR_GAP voxels apart, so each is its own connected component.
 * Deterministic per (seed, index): geometry, fields and noise from `streamFor(seed, 'phantom-tumour',
 * index)`, the case's look from `'phantom-tumour-look'`.
 */
import { streamFor, type Random } from '../random.js';
import type { Shape3 } from '../volume.js';
import type { PhantomCase, PhantomOptions } from './phantom.js';
import {
  add,
  drawLook,
  lobedMaxRadius,
  lobedRadius,
  occupancy,
  PHANTOM_SPACING,
  randomUnit,
  resolveAppearance,
  scale,
  valueNoise,
  type CaseLook,
  type Harmonic,
  type Vec,
} from './phantom-fields.js';

/** MSD `labels` of a tumour phantom dataset. */
export const TUMOUR_LABELS: Readonly<Record<string, string>> = { '0': 'background', '1': 'tumour' };

/** Mean intensities before bias and noise (FLAIR-like: tumour bright, ventricles dark). */
export const TUMOUR_INTENSITY = { tissue: 300, tumour: 700 } as const;

/** Smallest distance (voxels) between the surfaces of two blobs. */
export const TUMOUR_GAP = 3;

/** How deep (voxels) the touching mimic overlaps the large tumour, so contact survives soft edges. */
const OVERLAP = 1.2;

interface Blob {
  centre: Vec;
  radius: number;
  harmonics: Harmonic[];
  maxRadius: number;
}

interface Ellipsoid {
  centre: Vec;
  radii: Vec;
}

interface TumourLayout {
  brain: Ellipsoid;
  ventricles: Ellipsoid[];
  tumours: Blob[];
  mimics: Blob[];
}

export function generateTumourCase(options: PhantomOptions): PhantomCase {
  const { shape } = options;
  const knobs = resolveAppearance(shape, options);
  const rng = streamFor(options.seed, 'phantom-tumour', options.index);
  const layout = drawTumourLayout(rng, shape);
  const fields = {
    tissue: valueNoise(shape, 4, rng),
    tumour: valueNoise(shape, 2.5, rng),
    bias: valueNoise(shape, Math.max(...shape) / 2, rng),
  };
  const look = drawLook(knobs, rng, streamFor(options.seed, 'phantom-tumour-look', options.index));
  return renderTumour(layout, shape, fields, look, rng);
}

function drawTumourLayout(rng: Random, shape: Shape3): TumourLayout {
  const minDim = Math.min(...shape);
  const brain = {
    centre: shape.map((n) => n / 2 + rng.range(-0.03, 0.03) * n) as Vec,
    radii: shape.map((n) => n * rng.range(0.4, 0.45)) as Vec,
  };
  const ventricles = [-1, 1].map((side) => ({
    centre: add(brain.centre, [side * brain.radii[0] * rng.range(0.12, 0.2), rng.range(-0.05, 0.05) * shape[1], rng.range(0, 0.1) * shape[2]]),
    radii: [brain.radii[0] * rng.range(0.08, 0.12), brain.radii[1] * rng.range(0.3, 0.4), brain.radii[2] * rng.range(0.15, 0.22)] as Vec,
  }));
  // Radii: one large, one small, the others log-uniform in between.
  const large = Math.max(2.5, Math.min(rng.range(0.1, 0.15) * minDim, 0.3 * Math.min(...brain.radii)));
  const small = rng.range(1.3, 2);
  const radii = [large, small];
  const extra = rng.int(0, 4);
  for (let k = 0; k < extra; k++) radii.push(small * Math.exp(rng.uniform() * Math.log(large / small)));

  const tumours: Blob[] = [];
  for (const radius of radii) {
    // Shrink a blob that finds no room (small volumes) rather than drop it.
    for (let r = radius; r >= 1.2; r *= 0.7) {
      const blob = lobedBlob(rng, r, r >= 4 ? 0.2 : 0.1);
      if (placeBlob(rng, blob, brain, tumours, ventricles)) {
        tumours.push(blob);
        break;
      }
    }
  }
  const mimics: Blob[] = [];
  const first = tumours[0];
  if (first) {
    // A mimic pressed against the large tumour: the thing a model must not merge into it.
    const m = lobedBlob(rng, first.radius * rng.range(0.35, 0.55), 0.1);
    const dir = randomUnit(rng);
    const reach = lobedRadius(first.radius, first.harmonics, ...dir) + m.radius - OVERLAP;
    m.centre = add(first.centre, scale(dir, reach));
    mimics.push(m);
  }
  const free = rng.int(1, 3);
  for (let k = 0; k < free; k++) {
    const m = lobedBlob(rng, rng.range(1.5, Math.max(2, 0.06 * minDim)), 0.1);
    if (placeBlob(rng, m, brain, [...tumours, ...mimics], ventricles)) mimics.push(m);
  }
  return { brain, ventricles, tumours, mimics };
}

function lobedBlob(rng: Random, radius: number, amp: number): Blob {
  const harmonics: Harmonic[] = [
    { dir: randomUnit(rng), order: 2, amp: rng.range(-amp, amp) },
    { dir: randomUnit(rng), order: 3, amp: rng.range(-amp, amp) },
    { dir: randomUnit(rng), order: 3, amp: rng.range(-amp, amp) },
  ];
  return { centre: [0, 0, 0], radius, harmonics, maxRadius: lobedMaxRadius(radius, harmonics) };
}

/**
 * Draws the blob's centre well inside the brain, TUMOUR_GAP voxels clear of `others` and clear of the
 * ventricles; false after 200 misses.
 */
function placeBlob(rng: Random, blob: Blob, brain: Ellipsoid, others: Blob[], ventricles: Ellipsoid[]): boolean {
  const inset = brain.radii.map((r) => r - blob.maxRadius - 2) as Vec;
  if (inset.some((r) => r <= 0)) return false;
  for (let tries = 0; tries < 200; tries++) {
    const centre = brain.centre.map((c, a) => c + rng.range(-1, 1) * inset[a]!) as Vec;
    if (ellipsoidQ(centre, brain.centre, inset) >= 1) continue;
    const clear = others.every((o) => Math.hypot(...centre.map((c, a) => c - o.centre[a]!)) >= blob.maxRadius + o.maxRadius + TUMOUR_GAP);
    const outside = ventricles.every((v) => ellipsoidQ(centre, v.centre, v.radii.map((r) => r + blob.maxRadius + 1) as Vec) >= 1);
    if (!clear || !outside) continue;
    blob.centre = centre;
    return true;
  }
  return false;
}

interface TumourFields {
  tissue: Float32Array;
  tumour: Float32Array;
  bias: Float32Array;
}

function renderTumour(layout: TumourLayout, shape: Shape3, fields: TumourFields, look: CaseLook, rng: Random): PhantomCase {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const tumourDepth = blobDepths(layout.tumours, shape);
  const mimicDepth = blobDepths(layout.mimics, shape);
  // The necrotic core: deeper than half the radius of the blob it belongs to (large blobs only).
  const core = blobDepths(
    layout.tumours.filter((b) => b.radius >= 4).map((b) => ({ ...b, radius: b.radius * 0.45, maxRadius: b.maxRadius * 0.45 })),
    shape,
  );

  const { tissue } = TUMOUR_INTENSITY;
  const span = (TUMOUR_INTENSITY.tumour - tissue) * look.span;
  const tumour = tissue + span;
  const mimic = tumour - look.contrast * span;
  const coreLevel = tissue + 0.2 * span;
  const csf = tissue - 0.6 * span;
  const sigma = look.noise * span;
  const { brain, ventricles } = layout;
  const brainScale = Math.min(...brain.radii);

  const image = new Float32Array(n);
  const label = new Uint8Array(n);
  for (let x = 0, i = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      for (let z = 0; z < Z; z++, i++) {
        const p: Vec = [x, y, z];
        const brainOcc = occupancy((1 - ellipsoidQ(p, brain.centre, brain.radii)) * brainScale);
        let ventricleOcc = 0;
        for (const v of ventricles) ventricleOcc = Math.max(ventricleOcc, occupancy((1 - ellipsoidQ(p, v.centre, v.radii)) * Math.min(...v.radii)));

        const tex = fields.tissue[i]!;
        const ttex = fields.tumour[i]!;
        let v = tissue * (1 + 0.08 * tex);
        v += (csf * (1 + 0.05 * tex) - v) * ventricleOcc;
        v += (mimic * (1 + 0.06 * ttex) - v) * occupancy(mimicDepth[i]!);
        const lesion = tumour * (1 + 0.06 * ttex);
        const inner = lesion + (coreLevel * (1 + 0.08 * ttex) - lesion) * occupancy(core[i]!);
        v += (inner - v) * occupancy(tumourDepth[i]!);
        v *= brainOcc;

        v *= look.scale * (1 + look.bias * fields.bias[i]!);
        v += sigma * rng.normal() * brainOcc; // skull-stripped: nothing outside the brain, not even noise
        image[i] = v > 0 ? v : 0;
        label[i] = tumourDepth[i]! > 0 ? 1 : 0;
      }
    }
  }
  return { image, label, shape: [X, Y, Z], spacing: PHANTOM_SPACING };
}

/** ‖(p − c) / r‖: below 1 inside the ellipsoid. */
function ellipsoidQ(p: Vec, c: Vec, r: Vec): number {
  return Math.hypot((p[0] - c[0]) / r[0], (p[1] - c[1]) / r[1], (p[2] - c[2]) / r[2]);
}

/** Per voxel, the largest signed depth (lobed radius − distance to the centre) over `blobs`; −Infinity far from all. */
function blobDepths(blobs: Blob[], shape: Shape3): Float32Array {
  const [X, Y, Z] = shape;
  const depth = new Float32Array(X * Y * Z).fill(-Infinity);
  for (const b of blobs) {
    const reach = b.maxRadius + 2;
    const [cx, cy, cz] = b.centre;
    for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(X - 1, Math.ceil(cx + reach)); x++) {
      for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(Y - 1, Math.ceil(cy + reach)); y++) {
        for (let z = Math.max(0, Math.floor(cz - reach)); z <= Math.min(Z - 1, Math.ceil(cz + reach)); z++) {
          const d: Vec = [x - cx, y - cy, z - cz];
          const rho = Math.hypot(...d);
          const inv = rho > 1e-6 ? 1 / rho : 0;
          const r = lobedRadius(b.radius, b.harmonics, d[0] * inv, d[1] * inv, d[2] * inv);
          const i = (x * Y + y) * Z + z;
          if (r - rho > depth[i]!) depth[i] = r - rho;
        }
      }
    }
  }
  return depth;
}
