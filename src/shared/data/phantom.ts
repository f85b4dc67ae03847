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
}

export const PHANTOM_DEFAULTS = { contrast: 0.25, noise: 0.12, bias: 0.2, variability: 0.6 } as const;

/** Smallest accepted size of each axis. */
export const PHANTOM_MIN_SIZE = 16;

/** Isotropic 1 mm voxels: metrics in voxels and in mm coincide. */
export const PHANTOM_SPACING: Vec3 = [1, 1, 1];

/** Mean intensities before bias and noise, in an MRI-like range (not normalised). */
export const PHANTOM_INTENSITY = { tissue: 300, organ: 700 } as const;

export interface PhantomCase {
  /** [X, Y, Z] row-major float32 intensities. */
  image: Float32Array;
  /** [X, Y, Z] row-major: 1 = organ (with appendage), 0 = everything else. */
  label: Uint8Array;
  shape: Shape3;
  spacing: Vec3;
}

type Vec = [number, number, number];

/** Radius of the organ in direction u: r0 · (1 + Σ amp · P_order(dir · u)), smooth low-order harmonics. */
interface Harmonic {
  dir: Vec;
  order: 1 | 2 | 3 | 4;
  amp: number;
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

/** Half-width (voxels) of the soft edge that imitates partial-volume blurring. */
const EDGE = 0.8;
/** How deep (voxels) each touching structure overlaps the organ, so contact survives the soft edges. */
const OVERLAP = 1.5;

export function generatePhantomCase(options: PhantomOptions): PhantomCase {
  const { shape } = options;
  const contrast = options.contrast ?? PHANTOM_DEFAULTS.contrast;
  const noise = options.noise ?? PHANTOM_DEFAULTS.noise;
  const bias = options.bias ?? PHANTOM_DEFAULTS.bias;
  const variability = options.variability ?? PHANTOM_DEFAULTS.variability;
  validate(shape, contrast, noise, bias);
  if (!(variability >= 0 && variability <= 1)) throw new TracocoError(`expected 0..1, got ${variability}`, { field: 'variability' });

  const rng = streamFor(options.seed, 'phantom', options.index);
  const layout = drawLayout(rng, shape);
  const fields = {
    tissueTexture: valueNoise(shape, 4, rng),
    organTexture: valueNoise(shape, 3, rng),
    biasField: valueNoise(shape, Math.max(...shape) / 2, rng),
  };
  const scale = rng.range(0.85, 1.15); // scanners differ in global gain
  // A stream of its own, so the geometry of a case does not depend on the variability.
  const look = streamFor(options.seed, 'phantom-look', options.index);
  const v = variability;
  return render(
    layout,
    shape,
    fields,
    {
      contrast: contrast * look.range(1 - 0.7 * v, 1 + 0.7 * v),
      noise: noise * Math.exp(look.range(-0.7 * v, 0.7 * v)),
      bias,
      scale,
      span: look.range(1 - 0.4 * v, 1 + 0.4 * v),
    },
    rng,
  );
}

/** Throws a TracocoError naming field `shape` unless it is 3 integers >= PHANTOM_MIN_SIZE. */
export function checkPhantomShape(shape: readonly number[]): void {
  if (shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v >= PHANTOM_MIN_SIZE)) {
    throw new TracocoError(`phantom shape must be 3 integers >= ${PHANTOM_MIN_SIZE}, got [${shape.join(', ')}]`, { field: 'shape' });
  }
}

function validate(shape: Shape3, contrast: number, noise: number, bias: number): void {
  checkPhantomShape(shape);
  if (!(contrast >= 0 && contrast <= 2)) throw new TracocoError(`expected 0..2, got ${contrast}`, { field: 'contrast' });
  if (!(noise >= 0 && noise <= 2)) throw new TracocoError(`expected 0..2, got ${noise}`, { field: 'noise' });
  if (!(bias >= 0 && bias < 1)) throw new TracocoError(`expected 0..<1, got ${bias}`, { field: 'bias' });
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
  // max |P_k| on [-1, 1] for the polynomials in organRadius
  const peak = { 1: 1, 2: 2 / 3, 3: 0.4, 4: 1 } as const;
  const maxRadius = radius * (1 + harmonics.reduce((s, h) => s + Math.abs(h.amp) * peak[h.order], 0));

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
  let k = 1;
  for (const h of organ.harmonics) {
    const t = h.dir[0] * ux + h.dir[1] * uy + h.dir[2] * uz;
    const t2 = t * t;
    // zero-mean polynomials of the direction cosine (Legendre-like): smooth lobes, dents and bulges
    const p = h.order === 1 ? t : h.order === 2 ? t2 - 1 / 3 : h.order === 3 ? t * (t2 - 0.6) : (35 * t2 * t2 - 30 * t2 + 3) / 8;
    k += h.amp * p;
  }
  return organ.radius * k;
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

interface Appearance {
  contrast: number;
  noise: number;
  bias: number;
  scale: number;
  /** Factor on the organ/tissue intensity difference. */
  span: number;
}

function render(layout: Layout, shape: Shape3, fields: Fields, look: Appearance, rng: Random): PhantomCase {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const image = new Float32Array(n);
  const label = new Uint8Array(n);
  const appendage = appendageDistance(layout.appendage, shape);

  const { tissue } = PHANTOM_INTENSITY;
  const span = (PHANTOM_INTENSITY.organ - tissue) * look.span;
  const organ = tissue + span;
  const wallLevel = organ - look.contrast * span;
  const vesselLevel = organ + look.contrast * span;
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

/** Soft membership from a signed depth: 0 outside, 1 inside, a smooth ramp of width 2·EDGE at the boundary. */
function occupancy(depth: number): number {
  if (depth <= -EDGE) return 0;
  if (depth >= EDGE) return 1;
  return smooth((depth + EDGE) / (2 * EDGE));
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * Smooth random field in about [-1, 1]: uniform values on a grid of `cell` voxels (randomly offset),
 * interpolated trilinearly with smoothstep weights.
 */
function valueNoise(shape: Shape3, cell: number, rng: Random): Float32Array {
  const axes = shape.map((size) => gridAxis(size, cell, rng.range(0, cell)));
  const [ax, ay, az] = axes as [GridAxis, GridAxis, GridAxis];
  const grid = new Float32Array(ax.cells * ay.cells * az.cells);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.range(-1, 1);
  const [X, Y, Z] = shape;
  const out = new Float32Array(X * Y * Z);
  const sy = az.cells;
  const sx = ay.cells * az.cells;
  for (let x = 0, i = 0; x < X; x++) {
    const gx = ax.index[x]! * sx;
    const tx = ax.weight[x]!;
    for (let y = 0; y < Y; y++) {
      const gxy = gx + ay.index[y]! * sy;
      const ty = ay.weight[y]!;
      for (let z = 0; z < Z; z++, i++) {
        const g = gxy + az.index[z]!;
        const tz = az.weight[z]!;
        const c00 = lerp(grid[g]!, grid[g + 1]!, tz);
        const c01 = lerp(grid[g + sy]!, grid[g + sy + 1]!, tz);
        const c10 = lerp(grid[g + sx]!, grid[g + sx + 1]!, tz);
        const c11 = lerp(grid[g + sx + sy]!, grid[g + sx + sy + 1]!, tz);
        out[i] = lerp(lerp(c00, c01, ty), lerp(c10, c11, ty), tx);
      }
    }
  }
  return out;
}

interface GridAxis {
  cells: number;
  index: Int32Array;
  weight: Float32Array;
}

function gridAxis(size: number, cell: number, offset: number): GridAxis {
  const index = new Int32Array(size);
  const weight = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const g = (i + offset) / cell;
    const f = Math.floor(g);
    index[i] = f;
    weight[i] = smooth(g - f);
  }
  return { cells: index[size - 1]! + 2, index, weight };
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

// ---------------------------------------------------------------------------------------------
// Small vector helpers

function randomUnit(rng: Random): Vec {
  for (;;) {
    const v: Vec = [rng.normal(), rng.normal(), rng.normal()];
    const len = Math.hypot(...v);
    if (len > 1e-6) return scale(v, 1 / len);
  }
}

/** `base` tilted by a random offset of up to about `amount` radians. */
function jitter(rng: Random, base: Vec, amount: number): Vec {
  const v = add(base, [rng.range(-amount, amount), rng.range(-amount, amount), rng.range(-amount, amount)]);
  return scale(v, 1 / Math.hypot(...v));
}

function perpendicular(rng: Random, dir: Vec): Vec {
  for (;;) {
    const r = randomUnit(rng);
    const p = sub(r, scale(dir, dot(r, dir)));
    const len = Math.hypot(...p);
    if (len > 1e-3) return scale(p, 1 / len);
  }
}

function add(a: Vec, b: Vec): Vec {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

function sub(a: Vec, b: Vec): Vec {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

function scale(a: Vec, k: number): Vec {
  return [a[0] * k, a[1] * k, a[2] * k];
}

function dot(a: Vec, b: Vec): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
