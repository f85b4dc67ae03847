/**
 * Exact Euclidean distance transform of a 3D binary mask in linear time.
 *
 * Convention: the value at each voxel is the distance to the NEAREST NONZERO voxel of `mask`
 * (0 on the mask itself, +Infinity everywhere when the mask is empty). That is scipy's
 * `distance_transform_edt(mask == 0, sampling=spacing)`, and what medpy needs: the distance
 * to a surface is the transform of the surface mask.
 *
 * Separable over the axes (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", 2012): the z pass is a two-sweep 1D distance, the y and x passes take the lower
 * envelope of the parabolas `spacing² (q - p)² + f(p)` of the previous pass. Distances are in
 * the units of `spacing` (voxels when it is 1,1,1).
 */
import type { Shape3, Vec3 } from '../volume.js';
import { checkMaskShape, checkSpacing } from './overlap.js';

const UNIT_SPACING: Vec3 = [1, 1, 1];

/** Per-line scratch, allocated once per transform and reused by every line. */
interface LineScratch {
  /** The line's input values (squared distances of the previous pass). */
  f: Float64Array;
  /** Grid positions of the parabolas in the lower envelope. */
  v: Int32Array;
  /** Boundaries between envelope parabolas (one more than `v`). */
  z: Float64Array;
}

function lineScratch(maxLength: number): LineScratch {
  return { f: new Float64Array(maxLength), v: new Int32Array(maxLength), z: new Float64Array(maxLength + 1) };
}

/**
 * Squared distances (see the module comment for the convention), written into `out` when given
 * (it must hold X*Y*Z values) so repeated calls can reuse one buffer.
 */
export function squaredDistanceTransform(
  mask: Uint8Array,
  shape: Shape3,
  spacing: Vec3 = UNIT_SPACING,
  out?: Float64Array,
): Float64Array {
  const voxels = checkMaskShape(mask, shape);
  checkSpacing(spacing);
  const [X, Y, Z] = shape;
  const dist = out ?? new Float64Array(voxels);
  if (dist.length !== voxels) throw new RangeError(`squaredDistanceTransform: out has ${dist.length} values, need ${voxels}`);

  zPass(mask, dist, X * Y, Z, spacing[2] * spacing[2]);
  const scratch = lineScratch(Math.max(X, Y));
  const sy2 = spacing[1] * spacing[1];
  for (let x = 0; x < X; x++) {
    const plane = x * Y * Z;
    for (let z = 0; z < Z; z++) envelopeLine(dist, plane + z, Z, Y, sy2, scratch);
  }
  const sx2 = spacing[0] * spacing[0];
  for (let yz = 0; yz < Y * Z; yz++) envelopeLine(dist, yz, Y * Z, X, sx2, scratch);
  return dist;
}

/** Distances to the nearest nonzero voxel of `mask` (see the module comment). */
export function euclideanDistanceTransform(mask: Uint8Array, shape: Shape3, spacing: Vec3 = UNIT_SPACING): Float64Array {
  const dist = squaredDistanceTransform(mask, shape, spacing);
  for (let i = 0; i < dist.length; i++) dist[i] = Math.sqrt(dist[i]!);
  return dist;
}

/** First pass along contiguous z lines: squared distance to the nearest mask voxel on the line. */
function zPass(mask: Uint8Array, dist: Float64Array, lines: number, Z: number, sz2: number): void {
  for (let line = 0; line < lines; line++) {
    const base = line * Z;
    let last = -1;
    for (let z = 0; z < Z; z++) {
      if (mask[base + z] !== 0) last = z;
      dist[base + z] = last < 0 ? Infinity : z - last;
    }
    last = -1;
    for (let z = Z - 1; z >= 0; z--) {
      const i = base + z;
      if (mask[i] !== 0) last = z;
      let gap = dist[i]!;
      if (last >= 0 && last - z < gap) gap = last - z;
      dist[i] = gap * gap * sz2;
    }
  }
}

/**
 * One line (n values, `stride` apart from `base`): replaces f(q) with min_p s2 (q-p)² + f(p).
 * Sites with f = Infinity carry no parabola; a line without finite sites stays Infinity.
 */
function envelopeLine(dist: Float64Array, base: number, stride: number, n: number, s2: number, scratch: LineScratch): void {
  const { f, v, z } = scratch;
  let k = -1;
  for (let q = 0, i = base; q < n; q++, i += stride) {
    const fq = dist[i]!;
    f[q] = fq;
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    const heightQ = fq + s2 * q * q;
    let s: number;
    for (;;) {
      const p = v[k]!;
      // Where the parabolas of p and q cross; z[0] = -Infinity stops the loop at k = 0.
      s = (heightQ - (f[p]! + s2 * p * p)) / (2 * s2 * (q - p));
      if (s <= z[k]!) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) return;
  k = 0;
  for (let q = 0, i = base; q < n; q++, i += stride) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    const d = q - p;
    dist[i] = s2 * d * d + f[p]!;
  }
}
