/**
 * Geometry of volumes and patches: axis-aligned boxes, numpy-style rot90 in the x-y plane, flips,
 * centred zero padding and crops. All are thin wrappers over one row-copying kernel,
 * `cropOriented`, which also lets the batch builder rotate, flip, pad and crop in one pass without
 * materialising the rotated or padded volume (LA volumes reach 576x576x88).
 */
import { TracocoError } from '../errors.js';
import type { Shape3, Vec3, VoxelArray } from '../volume.js';

/** Half-open box [start, end) per axis (x, y, z), in voxel coordinates of some frame. */
export interface Box3 {
  start: Vec3;
  end: Vec3;
}

export function boxShape(box: Box3): Vec3 {
  return [box.end[0] - box.start[0], box.end[1] - box.start[1], box.end[2] - box.start[2]];
}

export function boxVoxels(box: Box3): number {
  const [a, b, c] = boxShape(box);
  return Math.max(0, a) * Math.max(0, b) * Math.max(0, c);
}

export function isEmptyBox(box: Box3): boolean {
  return boxVoxels(box) === 0;
}

/** Whether the box lies inside a frame of `shape` (start >= 0, end <= shape, start <= end). */
export function boxWithin(box: Box3, shape: Vec3): boolean {
  return [0, 1, 2].every((i) => box.start[i]! >= 0 && box.start[i]! <= box.end[i]! && box.end[i]! <= shape[i]!);
}

/** A rotation by k quarter turns in the x-y plane followed by an optional flip of one axis. */
export interface Orientation {
  rot90: number;
  flipAxis: 0 | 1 | 2 | null;
}

export const IDENTITY_ORIENTATION: Orientation = { rot90: 0, flipAxis: null };

/** Shape after rot90 by k: odd k swaps x and y. */
export function rotatedShape(shape: Shape3, k: number): Shape3 {
  return quarterTurns(k) % 2 === 1 ? [shape[1], shape[0], shape[2]] : shape;
}

/** Shape after padding to at least the patch on every axis. */
export function paddedShape(shape: Shape3, patch: Shape3): Shape3 {
  return [Math.max(shape[0], patch[0]), Math.max(shape[1], patch[1]), Math.max(shape[2], patch[2])];
}

/** Zeros added before the volume on each axis: floor(pad / 2), the rest goes after (centred). */
export function padBefore(shape: Shape3, patch: Shape3): Vec3 {
  const p = paddedShape(shape, patch);
  return [Math.floor((p[0] - shape[0]) / 2), Math.floor((p[1] - shape[1]) / 2), Math.floor((p[2] - shape[2]) / 2)];
}

/** numpy `rot90(volume, k, axes=(0, 1))`: a new array of the rotated shape. */
export function rot90<T extends VoxelArray>(volume: T, shape: Shape3, k: number): { data: T; shape: Shape3 } {
  const out = rotatedShape(shape, k);
  return { data: cropOriented(volume, shape, { rot90: k, flipAxis: null }, [0, 0, 0], out, 0, alloc(volume, out)), shape: out };
}

/** numpy `flip(volume, axis)`: a new array. */
export function flip<T extends VoxelArray>(volume: T, shape: Shape3, axis: 0 | 1 | 2): T {
  return cropOriented(volume, shape, { rot90: 0, flipAxis: axis }, [0, 0, 0], shape, 0, alloc(volume, shape));
}

/**
 * Pads with zeros, centred, up to the patch on every axis where the volume is smaller; a volume
 * that already covers the patch is returned as it is (not copied).
 */
export function padToPatch<T extends VoxelArray>(volume: T, shape: Shape3, patch: Shape3): { data: T; shape: Shape3 } {
  const out = paddedShape(shape, patch);
  if (out.every((s, a) => s === shape[a])) return { data: volume, shape };
  return { data: cropOriented(volume, shape, IDENTITY_ORIENTATION, [0, 0, 0], out, 0, alloc(volume, out)), shape: out };
}

/** Copies the patch at `start` (which must lie inside the volume) into `out` at `outOffset`. */
export function cropPatch<T extends VoxelArray>(
  volume: T,
  shape: Shape3,
  start: Vec3,
  patch: Shape3,
  out: T = alloc(volume, patch),
  outOffset = 0,
): T {
  if (!boxWithin({ start, end: [start[0] + patch[0], start[1] + patch[1], start[2] + patch[2]] }, shape)) {
    throw new TracocoError(`crop [${start.join(', ')}] + [${patch.join(', ')}] leaves the volume [${shape.join(', ')}]`, { field: 'start' });
  }
  return cropOriented(volume, shape, IDENTITY_ORIENTATION, start, patch, 0, out, outOffset);
}

/**
 * The patch at `start` of the volume rotated, flipped and padded (centred) to at least `patch`,
 * written to `out` at `outOffset`; padding voxels get `fill`. Works row by row (z is contiguous and
 * untouched by rot90), so the cost is one copy of the patch whatever the volume size.
 */
export function cropOriented<T extends VoxelArray>(
  volume: T,
  shape: Shape3,
  orientation: Orientation,
  start: Vec3,
  patch: Shape3,
  fill: number,
  out: T,
  outOffset = 0,
): T {
  const [X, Y, Z] = shape;
  if (volume.length !== X * Y * Z) throw new TracocoError(`volume has ${volume.length} voxels, shape [${shape.join(', ')}] needs ${X * Y * Z}`, { field: 'shape' });
  const k = quarterTurns(orientation.rot90);
  const oriented = rotatedShape(shape, k);
  const frame = paddedShape(oriented, patch);
  if (!boxWithin({ start, end: [start[0] + patch[0], start[1] + patch[1], start[2] + patch[2]] }, frame)) {
    throw new TracocoError(`crop [${start.join(', ')}] + [${patch.join(', ')}] leaves the padded volume [${frame.join(', ')}]`, { field: 'start' });
  }
  const [P0, P1, P2] = patch;
  if (outOffset < 0 || outOffset + P0 * P1 * P2 > out.length) throw new TracocoError('output buffer too small for the patch', { field: 'out' });
  const pad = padBefore(oriented, patch);
  const [R0, R1] = oriented;
  const flipAxis = orientation.flipAxis;
  // z range of the patch that falls inside the volume; the rest is padding.
  const z0 = start[2] - pad[2];
  const zLo = Math.max(0, -z0);
  const zHi = Math.min(P2, Z - z0);
  for (let cx = 0; cx < P0; cx++) {
    const qi = start[0] + cx - pad[0];
    for (let cy = 0; cy < P1; cy++) {
      const qj = start[1] + cy - pad[1];
      const dst = outOffset + (cx * P1 + cy) * P2;
      if (qi < 0 || qi >= R0 || qj < 0 || qj >= R1 || zHi <= zLo) {
        out.fill(fill, dst, dst + P2);
        continue;
      }
      // Undo the flip, then the rotation: (i, j) in the rotated frame -> (x, y) in the volume.
      const i = flipAxis === 0 ? R0 - 1 - qi : qi;
      const j = flipAxis === 1 ? R1 - 1 - qj : qj;
      let x = i;
      let y = j;
      if (k === 1) {
        x = j;
        y = Y - 1 - i;
      } else if (k === 2) {
        x = X - 1 - i;
        y = Y - 1 - j;
      } else if (k === 3) {
        x = X - 1 - j;
        y = i;
      }
      const row = (x * Y + y) * Z;
      if (zLo > 0) out.fill(fill, dst, dst + zLo);
      if (zHi < P2) out.fill(fill, dst + zHi, dst + P2);
      if (flipAxis === 2) {
        for (let cz = zLo; cz < zHi; cz++) out[dst + cz] = volume[row + Z - 1 - (z0 + cz)]!;
      } else {
        out.set(volume.subarray(row + z0 + zLo, row + z0 + zHi), dst + zLo);
      }
    }
  }
  return out;
}

function quarterTurns(k: number): number {
  if (!Number.isInteger(k)) throw new TracocoError(`rot90 needs an integer number of quarter turns, got ${k}`, { field: 'rot90' });
  return ((k % 4) + 4) % 4;
}

function alloc<T extends VoxelArray>(like: T, shape: readonly number[]): T {
  const ctor = like.constructor as new (length: number) => T;
  return new ctor(shape[0]! * shape[1]! * shape[2]!);
}
