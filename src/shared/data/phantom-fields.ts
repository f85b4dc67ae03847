/**
 * What every phantom kind (organ, cardiac, tumour) shares: the appearance options and their
 * validation, soft partial-volume edges, smooth random fields (texture, bias) and small vector
 * helpers. Kept apart from the shapes so each kind's file holds only its own anatomy.
 */
import { TracocoError } from '../errors.js';
import type { Random } from '../random.js';
import type { Shape3, Vec3 } from '../volume.js';

/** Appearance knobs shared by every phantom kind (see PhantomOptions in phantom.ts for their meaning). */
export interface PhantomAppearance {
  contrast?: number;
  noise?: number;
  bias?: number;
  variability?: number;
  noiseSpread?: number;
}

export const PHANTOM_DEFAULTS = { contrast: 0.25, noise: 0.12, bias: 0.2, variability: 0.6 } as const;

/** Smallest accepted size of each axis. */
export const PHANTOM_MIN_SIZE = 16;

/** Isotropic 1 mm voxels: metrics in voxels and in mm coincide. */
export const PHANTOM_SPACING: Vec3 = [1, 1, 1];

/** Throws a TracocoError naming field `shape` unless it is 3 integers >= PHANTOM_MIN_SIZE. */
export function checkPhantomShape(shape: readonly number[]): void {
  if (shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v >= PHANTOM_MIN_SIZE)) {
    throw new TracocoError(`phantom shape must be 3 integers >= ${PHANTOM_MIN_SIZE}, got [${shape.join(', ')}]`, { field: 'shape' });
  }
}

/**
 * Default case-to-case spread of the noise sigma (the half-width of its log-uniform factor) per
 * unit of variability: at variability 1 a case's noise is the requested sigma × 0.5 … 2.
 */
export const NOISE_SPREAD_PER_VARIABILITY = 0.7;

/** Largest accepted `noiseSpread`: a factor of e^±3 (1/20 … 20) on the noise sigma. */
export const MAX_NOISE_SPREAD = 3;

/** The knobs with their defaults filled in; throws a TracocoError naming the first bad field. */
export function resolveAppearance(shape: Shape3, options: PhantomAppearance): Required<PhantomAppearance> {
  const contrast = options.contrast ?? PHANTOM_DEFAULTS.contrast;
  const noise = options.noise ?? PHANTOM_DEFAULTS.noise;
  const bias = options.bias ?? PHANTOM_DEFAULTS.bias;
  const variability = options.variability ?? PHANTOM_DEFAULTS.variability;
  checkPhantomShape(shape);
  if (!(contrast >= 0 && contrast <= 2)) throw new TracocoError(`expected 0..2, got ${contrast}`, { field: 'contrast' });
  if (!(noise >= 0 && noise <= 2)) throw new TracocoError(`expected 0..2, got ${noise}`, { field: 'noise' });
  if (!(bias >= 0 && bias < 1)) throw new TracocoError(`expected 0..<1, got ${bias}`, { field: 'bias' });
  if (!(variability >= 0 && variability <= 1)) throw new TracocoError(`expected 0..1, got ${variability}`, { field: 'variability' });
  const noiseSpread = options.noiseSpread ?? NOISE_SPREAD_PER_VARIABILITY * variability;
  if (!(noiseSpread >= 0 && noiseSpread <= MAX_NOISE_SPREAD)) {
    throw new TracocoError(`expected 0..${MAX_NOISE_SPREAD}, got ${noiseSpread}`, { field: 'noiseSpread' });
  }
  return { contrast, noise, bias, variability, noiseSpread };
}

/** One case's appearance after its own random draws (like a scanner and a patient). */
export interface CaseLook {
  /** Touching-structure contrast, as a fraction of the main span. */
  contrast: number;
  /** Noise sigma, as a fraction of the main span. */
  noise: number;
  bias: number;
  /** Global gain. */
  scale: number;
  /** Factor on the main intensity difference. */
  span: number;
}

/**
 * Draws a case's look the way the organ phantom does (same ranges, same order), from a stream of its
 * own so that the geometry of a case does not depend on the variability.
 */
export function drawLook(knobs: Required<PhantomAppearance>, gain: Random, look: Random): CaseLook {
  const v = knobs.variability;
  const scale = gain.range(0.85, 1.15); // scanners differ in global gain
  return {
    contrast: knobs.contrast * look.range(1 - 0.7 * v, 1 + 0.7 * v),
    noise: knobs.noise * Math.exp(look.range(-knobs.noiseSpread, knobs.noiseSpread)),
    bias: knobs.bias,
    scale,
    span: look.range(1 - 0.4 * v, 1 + 0.4 * v),
  };
}

/** Half-width (voxels) of the soft edge that imitates partial-volume blurring. */
export const EDGE = 0.8;

/** Soft membership from a signed depth: 0 outside, 1 inside, a smooth ramp of width 2·EDGE at the boundary. */
export function occupancy(depth: number): number {
  if (depth <= -EDGE) return 0;
  if (depth >= EDGE) return 1;
  return smooth((depth + EDGE) / (2 * EDGE));
}

export function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * Smooth random field in about [-1, 1]: uniform values on a grid of `cell` voxels (randomly offset),
 * interpolated trilinearly with smoothstep weights.
 */
export function valueNoise(shape: Shape3, cell: number, rng: Random): Float32Array {
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
// Lobed blobs

/** One term of a lobed radius: amp · P_order(dir · u), a smooth low-order harmonic. */
export interface Harmonic {
  dir: Vec;
  order: 1 | 2 | 3 | 4;
  amp: number;
}

/** Radius of a lobed blob in unit direction u: r0 · (1 + Σ amp · P_order(dir · u)). */
export function lobedRadius(radius: number, harmonics: readonly Harmonic[], ux: number, uy: number, uz: number): number {
  let k = 1;
  for (const h of harmonics) {
    const t = h.dir[0] * ux + h.dir[1] * uy + h.dir[2] * uz;
    const t2 = t * t;
    // zero-mean polynomials of the direction cosine (Legendre-like): smooth lobes, dents and bulges
    const p = h.order === 1 ? t : h.order === 2 ? t2 - 1 / 3 : h.order === 3 ? t * (t2 - 0.6) : (35 * t2 * t2 - 30 * t2 + 3) / 8;
    k += h.amp * p;
  }
  return radius * k;
}

/** Upper bound of lobedRadius over all directions. */
export function lobedMaxRadius(radius: number, harmonics: readonly Harmonic[]): number {
  // max |P_k| on [-1, 1] for the polynomials in lobedRadius
  const peak = { 1: 1, 2: 2 / 3, 3: 0.4, 4: 1 } as const;
  return radius * (1 + harmonics.reduce((s, h) => s + Math.abs(h.amp) * peak[h.order], 0));
}

// ---------------------------------------------------------------------------------------------
// Small vector helpers

export type Vec = [number, number, number];

export function randomUnit(rng: Random): Vec {
  for (;;) {
    const v: Vec = [rng.normal(), rng.normal(), rng.normal()];
    const len = Math.hypot(...v);
    if (len > 1e-6) return scale(v, 1 / len);
  }
}

/** `base` tilted by a random offset of up to about `amount` radians. */
export function jitter(rng: Random, base: Vec, amount: number): Vec {
  const v = add(base, [rng.range(-amount, amount), rng.range(-amount, amount), rng.range(-amount, amount)]);
  return scale(v, 1 / Math.hypot(...v));
}

export function perpendicular(rng: Random, dir: Vec): Vec {
  for (;;) {
    const r = randomUnit(rng);
    const p = sub(r, scale(dir, dot(r, dir)));
    const len = Math.hypot(...p);
    if (len > 1e-3) return scale(p, 1 / len);
  }
}

export function add(a: Vec, b: Vec): Vec {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

export function sub(a: Vec, b: Vec): Vec {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function scale(a: Vec, k: number): Vec {
  return [a[0] * k, a[1] * k, a[2] * k];
}

export function dot(a: Vec, b: Vec): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
