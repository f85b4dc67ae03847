/**
 * Array conventions shared by every module.
 *
 * A 3D volume is stored row-major ("C order") with shape [X, Y, Z]: z varies fastest, so
 * voxel (x, y, z) sits at index (x * Y + y) * Z + z. This is the reference HDF5 layout and
 * tfjs's NDHWC layout with D = x, H = y, W = z; NIfTI (x fastest) is transposed on read/write.
 * A 4D volume [X, Y, Z, C] keeps the class/channel index fastest.
 */
export type Shape3 = readonly [number, number, number];
export type Vec3 = readonly [number, number, number];
/** 4x4 voxel-to-world matrix, row-major. */
export type Affine = readonly (readonly number[])[];

export type VoxelArray =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array;

/** An image or label volume with its geometry. */
export interface Volume<T extends VoxelArray = VoxelArray> {
  data: T;
  /** [X, Y, Z] or [X, Y, Z, C]. */
  shape: readonly number[];
  /** Voxel size in mm per axis (x, y, z). */
  spacing: Vec3;
  /** Voxel-to-world transform; identity scaled by spacing when the source has none. */
  affine: Affine;
}

/** Number of elements of an array of `shape` (1 for a scalar shape []). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major element strides of `shape`. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  return strides;
}

export function shape3(shape: readonly number[]): Shape3 {
  if (shape.length !== 3) throw new RangeError(`expected a 3D shape, got [${shape.join(', ')}]`);
  return [shape[0]!, shape[1]!, shape[2]!];
}

export function formatShape(shape: readonly number[]): string {
  return shape.join('x');
}

/** Parses `XxYxZ` (CLI size/patch flags). */
export function parseShape3(text: string): Shape3 | null {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text.trim());
  if (!m) return null;
  const s: Shape3 = [Number(m[1]), Number(m[2]), Number(m[3])];
  return s.every((v) => v > 0) ? s : null;
}

export function spacingAffine(spacing: Vec3): Affine {
  return [
    [spacing[0], 0, 0, 0],
    [0, spacing[1], 0, 0],
    [0, 0, spacing[2], 0],
    [0, 0, 0, 1],
  ];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
