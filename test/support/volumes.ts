/** Small voxel helpers shared by the phantom and I/O tests ([X, Y, Z] row-major volumes). */
import h5wasm from 'h5wasm/node';
import type { Shape3 } from '../../src/shared/volume.js';

/** The bytes of a typed array, to compare two volumes exactly. */
export function bytes(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

const FACES = [[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]] as const;

/** Calls `visit(i, j, dz)` for every voxel i and each face neighbour j inside the volume (dz: the step in z). */
export function forEachFacePair(shape: Shape3, visit: (i: number, j: number, dz: number) => void): void {
  const [X, Y, Z] = shape;
  for (let x = 0, i = 0; x < X; x++) for (let y = 0; y < Y; y++) for (let z = 0; z < Z; z++, i++) {
    for (const [dx, dy, dz] of FACES) {
      const nx = x + dx, ny = y + dy, nz = z + dz;
      if (nx >= 0 && nx < X && ny >= 0 && ny < Y && nz >= 0 && nz < Z) visit(i, (nx * Y + ny) * Z + nz, dz);
    }
  }
}

/** The mask of voxels whose label is `value`. */
export function maskOf(label: Uint8Array, value: number): Uint8Array {
  return Uint8Array.from(label, (v) => (v === value ? 1 : 0));
}

export function count(label: Uint8Array, value: number): number {
  let n = 0;
  for (const v of label) if (v === value) n++;
  return n;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Intensities of the voxels labelled `value`. */
export function valuesOf(image: Float32Array, label: Uint8Array, value: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < label.length; i++) if (label[i] === value) out.push(image[i]!);
  return out;
}

/** Inclusive z range of the voxels labelled `value`. */
export function zRange(label: Uint8Array, shape: Shape3, value: number): [number, number] {
  const Z = shape[2];
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < label.length; i++) {
    if (label[i] !== value) continue;
    const z = i % Z;
    lo = Math.min(lo, z);
    hi = Math.max(hi, z);
  }
  return [lo, hi];
}

/** An HDF5 file written directly with h5wasm (datasets of any dtype and shape). */
export async function rawH5(file: string, datasets: { name: string; data: Float32Array | Uint8Array | Float64Array | Int16Array; shape: number[]; dtype: string }[]): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    for (const d of datasets) f.create_dataset(d);
  } finally {
    f.close();
  }
}
