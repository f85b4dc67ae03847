/**
 * Cardiac phantom for `tracoco synth --kind cardiac`: a short-axis cine-MRI-like stack (z = the
 * heart's long axis, as ACDC volumes are stored) with the ACDC label convention
 *
 *   0 background, 1 right ventricle (RV) cavity, 2 left-ventricle myocardium, 3 LV cavity,
 *
 * so a model or config made for ACDC reads phantom labels unchanged. The LV is a bullet (ellipsoidal
 * apex, cut open at the base) whose bright blood pool is wrapped by a dark myocardial ring that also
 * caps the apex; the RV is a bright crescent pressed against the septal side of the ring. Class 3
 * touches only class 2 within a slice, class 1 touches class 2 but never class 3 (the septum lies
 * between them), as in real short-axis images.
 *
 * Nuisances, as in the organ phantom: unlabelled structures touch the labelled ones at nearly their
 * intensity (the left atrium above the base as bright as the blood pool, epicardial fat on the free
 * wall, a liver slab below at myocardial intensity, the thin RV free wall), textured tissue, a
 * multiplicative bias field, Gaussian noise and case-to-case appearance variability.
 *
 * Deterministic per (seed, index): geometry, fields and noise from
 * `streamFor(seed, 'phantom-cardiac', index)`, the case's look from `'phantom-cardiac-look'`.
 */
import { streamFor, type Random } from '../random.js';
import type { Shape3 } from '../volume.js';
import type { PhantomCase, PhantomOptions } from './phantom.js';
import { drawLook, occupancy, PHANTOM_SPACING, resolveAppearance, smooth, valueNoise, type CaseLook } from './phantom-fields.js';

/** The ACDC classes. */
export const CARDIAC_CLASSES = { background: 0, rightVentricle: 1, myocardium: 2, leftVentricle: 3 } as const;

/** MSD `labels` of a cardiac phantom dataset. */
export const CARDIAC_LABELS: Readonly<Record<string, string>> = {
  '0': 'background',
  '1': 'right ventricle',
  '2': 'myocardium',
  '3': 'left ventricle',
};

/** Mean intensities before bias and noise: blood is bright and myocardium dark, as in bSSFP cine MRI. */
export const CARDIAC_INTENSITY = { tissue: 400, blood: 800, myocardium: 180 } as const;

/** How deep (voxels) an unlabelled structure overlaps the one it touches, so contact survives soft edges. */
const OVERLAP = 1.2;

/** A bullet along z: ellipsoidal below `zEq`, straight above, cut at `zBase`. */
interface Bullet {
  zApex: number;
  zEq: number;
  zBase: number;
}

interface CardiacLayout {
  /** LV axis: centre (x, y) at z = 0 and its drift per slice. */
  axis: { x: number; y: number; tx: number; ty: number };
  cavity: Bullet & { radius: number; ecc: number; theta: number; wobble: number; theta3: number };
  thickness: number;
  rv: Bullet & { angle: number; along: number; across: number; kappa: number; wall: number };
  fat: { angle: number; cosCap: number; thickness: number };
  liver: { nx: number; ny: number; top: number; thickness: number; bend: number };
  atrium: { x: number; y: number; z: number; r: number; rz: number } | null;
}

export function generateCardiacCase(options: PhantomOptions): PhantomCase {
  const { shape } = options;
  const knobs = resolveAppearance(shape, options);
  const rng = streamFor(options.seed, 'phantom-cardiac', options.index);
  const layout = drawCardiacLayout(rng, shape);
  const fields = {
    tissue: valueNoise(shape, 4, rng),
    blood: valueNoise(shape, 3, rng),
    bias: valueNoise(shape, Math.max(...shape) / 2, rng),
  };
  const look = drawLook(knobs, rng, streamFor(options.seed, 'phantom-cardiac-look', options.index));
  return renderCardiac(layout, shape, fields, look, rng);
}

function drawCardiacLayout(rng: Random, shape: Shape3): CardiacLayout {
  const [X, Y, Z] = shape;
  const minXY = Math.min(X, Y);
  const radius = Math.max(2, rng.range(0.08, 0.12) * minXY);
  const thickness = Math.max(2.5, rng.range(0.035, 0.05) * minXY);
  const outer = radius * 1.25 + thickness; // bound of the outer radius over all directions
  const zApex = thickness + 1 + rng.range(0, 0.1) * Z;
  const zBase = Math.max(zApex + 3, Z - 1 - rng.range(0.12, 0.22) * Z);
  const cavity = {
    zApex,
    zBase,
    zEq: zApex + rng.range(0.35, 0.55) * (zBase - zApex),
    radius,
    ecc: rng.range(0, 0.15),
    theta: rng.range(0, Math.PI),
    wobble: rng.range(0, 0.06),
    theta3: rng.range(0, 2 * Math.PI),
  };
  // The RV sits on the -x side (the patient's right in radiological display), its apex above the LV's.
  const along = outer * rng.range(0.55, 0.8);
  const across = outer * rng.range(1.05, 1.35);
  const rvApex = zApex + rng.range(0.15, 0.3) * (zBase - zApex);
  const rv = {
    zApex: rvApex,
    zBase,
    zEq: rvApex + rng.range(0.3, 0.5) * (zBase - rvApex),
    angle: Math.PI + rng.range(-0.35, 0.35),
    along,
    across,
    kappa: rng.range(0.25, 0.45),
    wall: rng.range(1, 1.6),
  };
  const tilt = 0.1 * minXY / Math.max(Z, 1);
  const tx = rng.range(-tilt, tilt);
  const ty = rng.range(-tilt, tilt);
  // Keep the LV, the RV reaching out on -x and the structures around them in the field of view.
  const reachRv = outer + (1 + rv.kappa) * along + rv.wall + 1;
  const zMid = (zApex + zBase) / 2;
  const cx = place(rng, reachRv + Math.abs(tx) * zMid, X - outer - 3 - Math.abs(tx) * zMid);
  const cy = place(rng, Math.max(across, outer) + 3 + Math.abs(ty) * zMid, Y - Math.max(across, outer) - 3 - Math.abs(ty) * zMid);
  const axis = { x: cx - tx * zMid, y: cy - ty * zMid, tx, ty };

  const fat = { angle: rv.angle + Math.PI + rng.range(-0.6, 0.6), cosCap: Math.cos(rng.range(0.6, 1.1)), thickness: rng.range(1.5, 2.5) };
  const liverAngle = -Math.PI / 2 + rng.range(-0.35, 0.35); // below the heart (-y)
  const nx = Math.cos(liverAngle);
  const ny = Math.sin(liverAngle);
  const liver = {
    nx,
    ny,
    // top plane at the outer wall in the liver's direction, at the widest slice, minus the overlap
    top: cavityRadius(cavity, liverAngle) + thickness - OVERLAP,
    thickness: Math.max(4, rng.range(0.2, 0.3) * minXY),
    bend: rng.range(0.005, 0.02),
  };
  let atrium: CardiacLayout['atrium'] = null;
  const room = Z - 1 - zBase;
  if (room >= 2) {
    // The left atrium sits on the LV's base plane, cut by it, so the two touch across the plane.
    const rz = Math.max(1.5, rng.range(0.6, 0.9) * room);
    atrium = { x: axis.x + tx * zBase, y: axis.y + ty * zBase, z: zBase + 0.5 + 0.5 * rz, r: radius * rng.range(0.8, 1.1), rz };
  }
  return { axis, cavity, thickness, rv, fat, liver, atrium };
}

function place(rng: Random, lo: number, hi: number): number {
  return lo <= hi ? rng.range(lo, hi) : (lo + hi) / 2;
}

/** In-plane radius of the LV cavity at angle `phi`: an ellipse with a gentle three-lobed wobble. */
function cavityRadius(c: CardiacLayout['cavity'], phi: number): number {
  return c.radius * (1 + c.ecc * Math.cos(2 * (phi - c.theta)) + c.wobble * Math.cos(3 * (phi - c.theta3)));
}

/**
 * Signed depth (> 0 inside, about in voxels) in a bullet at normalised in-plane radius `q` (1 = the
 * wall at the widest slice) and height `z`, `scale` converting q to voxels: the smaller of the
 * in-plane depth, the height above the ellipsoidal apex and the distance below the base plane.
 */
function bulletDepth(b: Bullet, q: number, scale: number, z: number): number {
  const inPlane = (bulletProfile(b, z) - q) * scale;
  if (q >= 1) return inPlane;
  const apex = z - (b.zEq - (b.zEq - b.zApex) * Math.sqrt(1 - q * q));
  return Math.min(inPlane, apex, b.zBase + 0.5 - z);
}

interface CardiacFields {
  tissue: Float32Array;
  blood: Float32Array;
  bias: Float32Array;
}

function renderCardiac(layout: CardiacLayout, shape: Shape3, fields: CardiacFields, look: CaseLook, rng: Random): PhantomCase {
  const [X, Y, Z] = shape;
  const image = new Float32Array(X * Y * Z);
  const label = new Uint8Array(X * Y * Z);
  const { axis, cavity, thickness, rv, fat, liver, atrium } = layout;
  const outer: Bullet = { zApex: cavity.zApex - thickness, zEq: cavity.zEq, zBase: cavity.zBase };

  const { tissue } = CARDIAC_INTENSITY;
  const span = (CARDIAC_INTENSITY.blood - tissue) * look.span;
  const blood = tissue + span;
  const myo = tissue - ((tissue - CARDIAC_INTENSITY.myocardium) / (CARDIAC_INTENSITY.blood - tissue)) * span;
  const level = {
    rv: blood - 0.4 * look.contrast * span,
    atrium: blood - look.contrast * span,
    fat: blood - 1.2 * look.contrast * span,
    liver: myo + look.contrast * span,
    rvWall: myo + 0.5 * look.contrast * span,
  };
  const sigma = look.noise * span;
  const [ux, uy] = [Math.cos(rv.angle), Math.sin(rv.angle)];
  const rvNear = cavityRadius(cavity, rv.angle) + thickness; // outer LV radius towards the RV
  const zMid = cavity.zEq;

  for (let x = 0, i = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      for (let z = 0; z < Z; z++, i++) {
        const dx = x - (axis.x + axis.tx * z);
        const dy = y - (axis.y + axis.ty * z);
        const rho = Math.hypot(dx, dy);
        const phi = Math.atan2(dy, dx);
        const rc = cavityRadius(cavity, phi);
        const cavityDepth = bulletDepth(cavity, rho / rc, rc, z);
        const outerDepth = bulletDepth(outer, rho / (rc + thickness), rc + thickness, z);

        // RV: an ellipse whose centre follows the LV's outer wall slice by slice, minus the LV.
        const rvScale = bulletProfile(rv, z);
        const along = dx * ux + dy * uy - (rvNear * bulletProfile(outer, z) + rv.kappa * rv.along * rvScale);
        const across = -dx * uy + dy * ux;
        const q = Math.hypot(along / rv.along, across / rv.across);
        const rvDepth = bulletDepth(rv, q, Math.min(rv.along, rv.across), z);
        const rvCavity = Math.min(rvDepth, -outerDepth);
        const rvWallOcc = occupancy(Math.min(rvDepth + rv.wall, OVERLAP - rvDepth));

        let fatOcc = 0;
        const cosF = Math.cos(phi - fat.angle);
        if (cosF > fat.cosCap) {
          // thickest mid-sector, thinning to nothing at its edges
          const t = fat.thickness * smooth(Math.min(1, (3 * (cosF - fat.cosCap)) / (1 - fat.cosCap)));
          fatOcc = occupancy(Math.min(outerDepth + t, OVERLAP - outerDepth));
        }
        const dxm = x - (axis.x + axis.tx * zMid);
        const dym = y - (axis.y + axis.ty * zMid);
        const h = dxm * liver.nx + dym * liver.ny;
        const top = liver.top + liver.bend * (z - zMid) ** 2;
        const liverOcc = occupancy(Math.min(h - top, top + liver.thickness - h));
        let atriumOcc = 0;
        if (atrium) {
          const qa = Math.hypot((x - atrium.x) / atrium.r, (y - atrium.y) / atrium.r, (z - atrium.z) / atrium.rz);
          // only above the base plane, where the open LV meets it
          atriumOcc = occupancy(Math.min((1 - qa) * Math.min(atrium.r, atrium.rz), z - (cavity.zBase + 0.5)));
        }

        const tex = fields.tissue[i]!;
        const btex = fields.blood[i]!;
        let v = tissue * (1 + 0.08 * tex);
        v += (level.liver * (1 + 0.04 * tex) - v) * liverOcc;
        v += (level.fat * (1 + 0.04 * tex) - v) * fatOcc;
        v += (level.rvWall * (1 + 0.04 * tex) - v) * rvWallOcc;
        v += (myo * (1 + 0.05 * tex) - v) * occupancy(outerDepth);
        v += (level.rv * (1 + 0.05 * btex) - v) * occupancy(rvCavity);
        v += (blood * (1 + 0.05 * btex) - v) * occupancy(cavityDepth);
        v += (level.atrium * (1 + 0.04 * btex) - v) * atriumOcc; // last: it is what lies beyond the open base

        v *= look.scale * (1 + look.bias * fields.bias[i]!);
        v += sigma * rng.normal();
        image[i] = v > 0 ? v : 0; // magnitude images are non-negative
        label[i] = cavityDepth > 0 ? 3 : outerDepth > 0 ? 2 : rvCavity > 0 ? 1 : 0;
      }
    }
  }
  return { image, label, shape: [X, Y, Z], spacing: PHANTOM_SPACING };
}

/** Width of a bullet's slice at height z relative to its widest slice (0 below the apex). */
function bulletProfile(b: Bullet, z: number): number {
  if (z >= b.zEq) return 1;
  const s = (b.zEq - z) / (b.zEq - b.zApex);
  return s < 1 ? Math.sqrt(1 - s * s) : 0;
}
