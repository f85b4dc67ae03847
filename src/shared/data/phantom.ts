/**
 * Phantom cases for `tracoco synth` (GUIDE §4): one foreground organ (a smooth irregular blob with a
 * thin curved appendage) nested against three background structures that touch it — a thick wall
 * wrapping its -x side, a vessel running along z past its +x side and a slab below it (-y) — in
 * textured soft tissue, under a multiplicative bias field and Gaussian noise.
 *
 * The structures sit at the same place relative to the organ in every case and are nearly as bright
 * as the organ, so a model trained on few labels can get far by learning "the organ is the thing
 * next to the wall, the vessel and the slab" (context) instead of the organ's own boundary: the
 * failure TraCoCo's translation consistency is designed to fix.
 *
 * Deterministic per (seed, index): every random draw comes from `streamFor(seed, 'phantom', index)`.
 */
import { TracocoError } from '../errors.js';
import { streamFor, type Random } from '../random.js';
import type { Shape3, Vec3 } from '../volume.js';
import {
  add,
  dot,
  drawLook,
  EDGE,
  jitter,
  lobedMaxRadius,
  lobedRadius,
  occupancy,
  perpendicular,
  PHANTOM_SPACING,
  randomUnit,
  resolveAppearance,
  scale,
  smooth,
  sub,
  valueNoise,
  type CaseLook,
  type Harmonic,
  type Vec,
} from './phantom-fields.js';

export { checkPhantomShape, MAX_NOISE_SPREAD, NOISE_SPREAD_PER_VARIABILITY, PHANTOM_DEFAULTS, PHANTOM_MIN_SIZE, PHANTOM_SPACING } from './phantom-fields.js';

export interface PhantomOptions {
  seed: number;
  /** Case index: each index is an independent phantom for the same seed. */
  index: number;
  /** [X, Y, Z]; every axis at least PHANTOM_MIN_SIZE. */
  shape: Shape3;
  /**
   * Intensity difference between the organ and the structures touching it, as a fraction of the
   * organ/tissue contrast (default 0.25): lower is harder.
   */
  contrast?: number;
  /** Gaussian noise sigma as a fraction of the organ/tissue contrast (default 0.12): higher is harder. */
  noise?: number;
  /** Amplitude of the multiplicative bias field, e.g. 0.2 = ±20% (default 0.2). */
  bias?: number;
  /**
   * Case-to-case appearance variability in [0, 1] (default 0.6), like scanners and patients:
   * each case scales the organ/tissue contrast, the structures' contrast and the noise by its own
   * random factors (0 = every case looks alike). A few labelled cases then do not cover every
   * appearance, which is where unlabelled cases help.
   */
  variability?: number;
  /**
   * Case-to-case spread of the noise alone, like scanners of different signal-to-noise: a case's
   * noise sigma is `noise` × e^u, u uniform in ±noiseSpread (default 0.7 × variability, in 0..3).
   * With a wide spread, two labelled cases rarely span the noise levels of the rest: after
   * min-max normalisation a clean case shows its organ, tissue and touching structures at other
   * contrasts than a noisy one does.
   */
  noiseSpread?: number;
  /**
   * The vessel's intensity against the organ's (default 'brighter'): 'brighter' by `contrast`
   * (the wall and the slab are darker), or 'darker' by 0.8 × `contrast`, so that every touching
   * structure is darker than the organ and brightness ranks the organ first. Measured at VNet-8
   * (README, the demo): a model trained on two labels then predicts its false positives on the
   * structures with lower confidence than its true positives, as confident pseudo-labels need.
   */
  vessel?: VesselPolarity;
}

/** The appearance knobs `synth` and `demo` take as flags, in the order `demo` records them. */
export const APPEARANCE_KNOBS = ['contrast', 'noise', 'variability', 'noiseSpread', 'vessel'] as const;
export type AppearanceKnobs = Pick<PhantomOptions, (typeof APPEARANCE_KNOBS)[number]>;

/** The appearance knobs of `source` (command flags, recorded settings) and nothing else. */
export function appearanceOf(source: AppearanceKnobs): AppearanceKnobs {
  return Object.fromEntries(APPEARANCE_KNOBS.map((knob) => [knob, source[knob]])) as AppearanceKnobs;
}

/** Each polarity's vessel offset from the organ, in units of the structures' contrast. */
const VESSEL_OFFSETS = { brighter: 1, darker: -0.8 } as const;
export type VesselPolarity = keyof typeof VESSEL_OFFSETS;
export const VESSEL_POLARITIES = Object.keys(VESSEL_OFFSETS) as VesselPolarity[];

/** Mean intensities before bias and noise, in an MRI-like range (not normalised). */
export const PHANTOM_INTENSITY = { tissue: 300, organ: 700 } as const;

export interface PhantomCase {
  /** [X, Y, Z] row-major float32 intensities. */
  image: Float32Array;
  /**
   * [X, Y, Z] row-major class per voxel. Organ kind: 1 = organ (with appendage), 0 = everything
   * else; the cardiac and tumour kinds document their classes in their own files.
   */
  label: Uint8Array;
  shape: Shape3;
  spacing: Vec3;
}

interface Layout {
  centre: Vec;
  radius: number;
  harmonics: Harmonic[];
  /** Upper bound of the organ radius over all directions. */
  maxRadius: number;
  wall: { axis: Vec; cosCap: number; thickness: number };
  slab: { normal: Vec; top: number; thickness: number; bend: number; origin: Vec };
  vessel: { radius: number; side: Vec; anchor: Vec; tilt: [number, number]; bend: number };
  appendage: { points: Vec[]; radius: number };
}

/** How deep (voxels) each touching structure overlaps the organ, so contact survives the soft edges. */
const OVERLAP = 1.5;

export function generatePhantomCase(options: PhantomOptions): PhantomCase {
  const { shape } = options;
  const knobs = resolveAppearance(shape, options);
  const rng = streamFor(options.seed, 'phantom', options.index);
  const layout = drawLayout(rng, shape);
  const fields = {
    tissueTexture: valueNoise(shape, 4, rng),
    organTexture: valueNoise(shape, 3, rng),
    biasField: valueNoise(shape, Math.max(...shape) / 2, rng),
  };
  const look = drawLook(knobs, rng, streamFor(options.seed, 'phantom-look', options.index));
  return render(layout, shape, fields, look, vesselSign(options.vessel ?? 'brighter'), rng);
}

// ---------------------------------------------------------------------------------------------
// Geometry

function drawLayout(rng: Random, shape: Shape3): Layout {
  const [X, Y, Z] = shape;
  const minDim = Math.min(X, Y, Z);
  const radius = rng.range(0.15, 0.25) * minDim;
  const harmonics: Harmonic[] = [
    { dir: randomUnit(rng), order: 1, amp: rng.range(-0.12, 0.12) },
    { dir: randomUnit(rng), order: 2, amp: rng.range(-0.2, 0.2) },
    { dir: randomUnit(rng), order: 2, amp: rng.range(-0.2, 0.2) },
    { dir: randomUnit(rng), order: 3, amp: rng.range(-0.25, 0.25) },
    { dir: randomUnit(rng), order: 3, amp: rng.range(-0.25, 0.25) },
    { dir: randomUnit(rng), order: 4, amp: rng.range(-0.1, 0.1) },
  ];
  const maxRadius = lobedMaxRadius(radius, harmonics);

  const wallThickness = Math.max(2.5, 0.08 * minDim) * rng.range(0.85, 1.2);
  const slabThickness = Math.max(3, 0.12 * minDim) * rng.range(0.85, 1.2);
  const vesselRadius = Math.max(2, 0.07 * minDim) * rng.range(0.85, 1.2);

  // Keep the organ and the structures beside it inside the field of view.
  const centre: Vec = [
    placeCentre(rng, maxRadius + wallThickness + 1, X - 2 - maxRadius - 2 * vesselRadius),
    placeCentre(rng, maxRadius + slabThickness + 1, Y - 3 - maxRadius),
    placeCentre(rng, maxRadius + 2, Z - 3 - maxRadius),
  ];
  const organ = { centre, radius, harmonics };

  const wallAxis = jitter(rng, [-1, 0, 0], 0.25);
  const wall = { axis: wallAxis, cosCap: Math.cos((rng.range(55, 75) * Math.PI) / 180), thickness: wallThickness };

  const slabNormal = jitter(rng, [0, -1, 0], 0.15);
  const slabContact = supportPoint(organ, slabNormal);
  const slab = {
    normal: slabNormal,
    top: dot(sub(slabContact, centre), slabNormal) - OVERLAP,
    thickness: slabThickness,
    bend: rng.range(0, 0.012),
    origin: slabContact,
  };

  // The vessel runs along z; in every z-slice it is a disk whose centre drifts away from the organ.
  const sideAngle = rng.range(0.15, 0.55);
  const side: Vec = [Math.cos(sideAngle), Math.sin(sideAngle), 0];
  const vesselContact = supportPoint(organ, side);
  const vessel = {
    radius: vesselRadius,
    side,
    anchor: add(vesselContact, scale(side, vesselRadius - OVERLAP)),
    tilt: [rng.range(-0.12, 0.12), rng.range(-0.12, 0.12)] as [number, number],
    bend: rng.range(0.5, 1.5) / minDim,
  };

  const appendage = drawAppendage(rng, shape, organ, [wall.axis, slab.normal, side]);
  return { centre, radius, harmonics, maxRadius, wall, slab, vessel, appendage };
}

function placeCentre(rng: Random, lo: number, hi: number): number {
  return lo <= hi ? rng.range(lo, hi) : (lo + hi) / 2;
}

type Organ = Pick<Layout, 'centre' | 'radius' | 'harmonics'>;

function organRadius(organ: Organ, ux: number, uy: number, uz: number): number {
  return lobedRadius(organ.radius, organ.harmonics, ux, uy, uz);
}

/** The organ surface point farthest along `dir` (sampled over a Fibonacci sphere). */
function supportPoint(organ: Organ, dir: Vec): Vec {
  let best: Vec = organ.centre;
  let bestH = -Infinity;
  const n = 600;
  for (let i = 0; i < n; i++) {
    const z = 1 - (2 * (i + 0.5)) / n;
    const r = Math.sqrt(1 - z * z);
    const a = i * Math.PI * (3 - Math.sqrt(5));
    const u: Vec = [r * Math.cos(a), r * Math.sin(a), z];
    const p = add(organ.centre, scale(u, organRadius(organ, u[0], u[1], u[2])));
    const h = dot(p, dir);
    if (h > bestH) {
      bestH = h;
      best = p;
    }
  }
  return best;
}

/** A curved tube leaving the organ away from the touching structures (like the left atrial appendage). */
function drawAppendage(rng: Random, shape: Shape3, organ: Organ, avoid: Vec[]): Layout['appendage'] {
  const minDim = Math.min(...shape);
  let dir = randomUnit(rng);
  for (let tries = 0; tries < 50 && avoid.some((a) => dot(a, dir) > 0.2); tries++) dir = randomUnit(rng);
  const radius = rng.range(0.9, 1.5);
  const length = rng.range(Math.max(4, 0.1 * minDim), Math.max(5, 0.25 * minDim));
  const surface = organRadius(organ, dir[0], dir[1], dir[2]);
  const bendA = scale(perpendicular(rng, dir), length * rng.range(-0.3, 0.3));
  const bendB = scale(perpendicular(rng, dir), length * rng.range(-0.4, 0.4));
  const margin = radius + 1.5;
  const inside = (p: Vec): Vec => p.map((v, i) => Math.min(Math.max(v, margin), shape[i]! - 1 - margin)) as Vec;
  const p0 = add(organ.centre, scale(dir, 0.6 * surface));
  const p1 = inside(add(add(organ.centre, scale(dir, surface + 0.5 * length)), bendA));
  const p2 = inside(add(add(organ.centre, scale(dir, surface + length)), bendB));
  const steps = Math.ceil((surface + length) / 0.25);
  const points: Vec[] = [];
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    const a = (1 - t) * (1 - t);
    const b = 2 * t * (1 - t);
    const c = t * t;
    points.push([0, 1, 2].map((k) => a * p0[k]! + b * p1[k]! + c * p2[k]!) as Vec);
  }
  return { points, radius };
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Fields {
  tissueTexture: Float32Array;
  organTexture: Float32Array;
  biasField: Float32Array;
}


/** The vessel's offset of `vessel` (VESSEL_OFFSETS); throws on an unknown polarity. */
function vesselSign(vessel: string): number {
  if (!Object.hasOwn(VESSEL_OFFSETS, vessel)) throw new TracocoError(`expected one of ${VESSEL_POLARITIES.join(', ')}, got '${vessel}'`, { field: 'vessel' });
  return VESSEL_OFFSETS[vessel as VesselPolarity];
}

function render(layout: Layout, shape: Shape3, fields: Fields, look: CaseLook, vesselOffset: number, rng: Random): PhantomCase {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const image = new Float32Array(n);
  const label = new Uint8Array(n);
  const appendage = appendageDistance(layout.appendage, shape);

  const { tissue } = PHANTOM_INTENSITY;
  const span = (PHANTOM_INTENSITY.organ - tissue) * look.span;
  const organ = tissue + span;
  const wallLevel = organ - look.contrast * span;
  const vesselLevel = organ + vesselOffset * look.contrast * span;
  const slabLevel = organ - 1.2 * look.contrast * span;
  const sigma = look.noise * span;

  const [cx, cy, cz] = layout.centre;
  const { wall, slab, vessel } = layout;
  const reach = layout.maxRadius + wall.thickness + 2;
  const vesselCentres = vesselPath(vessel, Z);

  for (let x = 0, i = 0; x < X; x++) {
    const dx = x - cx;
    for (let y = 0; y < Y; y++) {
      const dy = y - cy;
      for (let z = 0; z < Z; z++, i++) {
        const dz = z - cz;
        const rho = Math.sqrt(dx * dx + dy * dy + dz * dz);

        let organDepth = -Infinity; // > 0 inside the organ, roughly in voxels
        let wallOcc = 0;
        if (rho < reach) {
          const inv = rho > 1e-6 ? 1 / rho : 0;
          const ux = dx * inv;
          const uy = dy * inv;
          const uz = dz * inv;
          const r = organRadius(layout, ux, uy, uz);
          organDepth = r - rho;
          const cosA = ux * wall.axis[0] + uy * wall.axis[1] + uz * wall.axis[2];
          if (cosA > wall.cosCap) {
            // full thickness near the cap's axis, thinning to nothing at its rim: a crescent
            const t = wall.thickness * smooth(Math.min(1, (3 * (cosA - wall.cosCap)) / (1 - wall.cosCap)));
            wallOcc = occupancy(Math.min(rho - (r - OVERLAP), r + t - rho));
          }
        }
        organDepth = Math.max(organDepth, appendage[i]!);

        const h = dx * slab.normal[0] + dy * slab.normal[1] + dz * slab.normal[2];
        const lateral = x - slab.origin[0];
        const slabTop = slab.top + slab.bend * lateral * lateral;
        const slabOcc = occupancy(Math.min(h - slabTop, slabTop + slab.thickness - h));

        const vx = x - vesselCentres[2 * z]!;
        const vy = y - vesselCentres[2 * z + 1]!;
        const vesselOcc = occupancy(vessel.radius - Math.sqrt(vx * vx + vy * vy));

        const tex = fields.tissueTexture[i]!;
        let v = tissue * (1 + 0.08 * tex);
        v += (slabLevel * (1 + 0.04 * tex) - v) * slabOcc;
        v += (vesselLevel * (1 + 0.03 * tex) - v) * vesselOcc;
        v += (wallLevel * (1 + 0.04 * tex) - v) * wallOcc;
        v += (organ * (1 + 0.05 * fields.organTexture[i]!) - v) * occupancy(organDepth);

        v *= look.scale * (1 + look.bias * fields.biasField[i]!);
        v += sigma * rng.normal();
        image[i] = v > 0 ? v : 0; // magnitude images are non-negative
        label[i] = organDepth > 0 ? 1 : 0;
      }
    }
  }
  return { image, label, shape: [X, Y, Z], spacing: PHANTOM_SPACING };
}

/** Per z-slice (x, y) centre of the vessel: touching the organ at its contact slice, bending away elsewhere. */
function vesselPath(vessel: Layout['vessel'], Z: number): Float64Array {
  const out = new Float64Array(2 * Z);
  const [ax, ay, az] = vessel.anchor;
  for (let z = 0; z < Z; z++) {
    const dz = z - az;
    const away = vessel.bend * dz * dz;
    out[2 * z] = ax + vessel.side[0] * away + vessel.tilt[0] * dz;
    out[2 * z + 1] = ay + vessel.side[1] * away + vessel.tilt[1] * dz;
  }
  return out;
}

/** Signed depth inside the appendage tube (radius − distance to its centre line), −Infinity far from it. */
function appendageDistance(tube: Layout['appendage'], shape: Shape3): Float32Array {
  const [X, Y, Z] = shape;
  const depth = new Float32Array(X * Y * Z).fill(-Infinity);
  const reach = tube.radius + EDGE + 1;
  for (const [px, py, pz] of tube.points) {
    const x0 = Math.max(0, Math.floor(px - reach));
    const x1 = Math.min(X - 1, Math.ceil(px + reach));
    const y0 = Math.max(0, Math.floor(py - reach));
    const y1 = Math.min(Y - 1, Math.ceil(py + reach));
    const z0 = Math.max(0, Math.floor(pz - reach));
    const z1 = Math.min(Z - 1, Math.ceil(pz + reach));
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        for (let z = z0; z <= z1; z++) {
          const d = tube.radius - Math.hypot(x - px, y - py, z - pz);
          const i = (x * Y + y) * Z + z;
          if (d > depth[i]!) depth[i] = d;
        }
      }
    }
  }
  return depth;
}
