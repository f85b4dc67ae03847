/**
 * The reference HDF5 case layout (GUIDE §4): one file per case with datasets `image` (float32)
 * and `label` (uint8), both [X, Y, Z] in C order, which is tracoco's row-major layout, so no
 * transpose. Read and written with h5wasm's Node build, loaded on first use (it instantiates a
 * large wasm module, which commands that never touch HDF5 should not pay for).
 *
 * h5wasm cannot silence the HDF5 library's own diagnostics, so files are checked (existence,
 * HDF5 signature, dataset names) before they are handed to it: bad input then fails with our
 * error alone instead of an HDF5 error stack on stderr.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileError, TracocoError } from '../errors.js';
import { shape3, elementCount, type Shape3 } from '../volume.js';
import { withAtomicPath } from './atomic.js';
import { checkSameShape, toLabelArray } from './validate.js';

export interface Hdf5Case {
  image: Float32Array;
  label: Uint8Array | null;
  shape: Shape3;
}

export interface WriteHdf5Options {
  /** gzip level 0..9 (default 4, h5py's default for `compression='gzip'`). */
  compressionLevel?: number;
}

type H5wasm = typeof import('h5wasm/node');
type H5Dataset = InstanceType<H5wasm['Dataset']>;

let h5wasmModule: Promise<H5wasm> | null = null;

function loadH5wasm(): Promise<H5wasm> {
  h5wasmModule ??= import('h5wasm/node').then(async (mod) => {
    await mod.ready;
    return mod;
  });
  return h5wasmModule;
}

/** The 8-byte signature that starts an HDF5 superblock. */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads `image` (converted to float32 when stored otherwise) and `label` (uint8; other integer
 * types are accepted when their values fit; null when absent). Values are not range-checked here:
 * `openDataset(...).load` and `validate.ts` do that with the class count.
 */
export async function readHdf5Case(path: string): Promise<Hdf5Case> {
  await checkHdf5File(path);
  const h5 = await loadH5wasm();
  let file: InstanceType<H5wasm['File']>;
  try {
    file = new h5.File(resolve(path), 'r');
  } catch (err) {
    throw fileError(path, 'cannot open HDF5 file', err);
  }
  try {
    const names = file.keys();
    if (!names.includes('image')) {
      throw new TracocoError(`no 'image' dataset (found: ${names.join(', ') || 'nothing'})`, { file: path });
    }
    const image = readDataset(file.get('image') as H5Dataset, 'image', path);
    const shape = datasetShape(image.shape, 'image', path);
    let label: Uint8Array | null = null;
    if (names.includes('label')) {
      const raw = readDataset(file.get('label') as H5Dataset, 'label', path);
      checkSameShape(shape, raw.shape, { image: `${path} dataset 'image'`, label: `${path} dataset 'label'` });
      label = raw.values instanceof Uint8Array ? raw.values : toLabelArray(toNumbers(raw.values), shape, `${path} dataset 'label'`);
    }
    return { image: toFloat32(image.values), label, shape };
  } catch (err) {
    if (err instanceof TracocoError) throw err;
    throw fileError(path, 'cannot read HDF5 case', err);
  } finally {
    file.close();
  }
}

/** Writes `image` (float32) and `label` (uint8, when given) gzip-compressed, as h5py would chunk them. */
export async function writeHdf5Case(path: string, c: Hdf5Case, options: WriteHdf5Options = {}): Promise<void> {
  const shape = [...c.shape];
  const count = elementCount(shape);
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new TracocoError(`cannot write shape [${shape.join(', ')}]: expected [X, Y, Z] with positive integers`, { file: path });
  }
  if (c.image.length !== count) throw new TracocoError(`image has ${c.image.length} voxels, shape ${shape.join('x')} needs ${count}`, { file: path });
  if (c.label && c.label.length !== count) {
    throw new TracocoError(`label has ${c.label.length} voxels, shape ${shape.join('x')} needs ${count}`, { file: path });
  }
  const level = options.compressionLevel ?? 4;
  const h5 = await loadH5wasm();
  await withAtomicPath(path, (tempPath) => {
    const file = new h5.File(tempPath, 'w');
    try {
      file.create_dataset({
        name: 'image',
        data: c.image,
        shape,
        dtype: '<f',
        chunks: guessChunks(shape, 4),
        compression: 'gzip',
        compression_opts: level,
      });
      if (c.label) {
        file.create_dataset({
          name: 'label',
          data: c.label,
          shape,
          dtype: '<B',
          chunks: guessChunks(shape, 1),
          compression: 'gzip',
          compression_opts: level,
        });
      }
    } finally {
      file.close();
    }
  });
}

/**
 * Chunk shape by h5py's heuristic (a target of 16 KiB scaled with the dataset size, 8 KiB..1 MiB),
 * halving axes in turn, so our files chunk like the reference's (183x140x88 float32 -> 23x18x22).
 */
export function guessChunks(shape: readonly number[], bytesPerVoxel: number): number[] {
  const chunks = [...shape];
  const datasetBytes = elementCount(shape) * bytesPerVoxel;
  const target = Math.min(1024 * 1024, Math.max(8 * 1024, 16 * 1024 * 2 ** Math.log10(datasetBytes / (1024 * 1024))));
  for (let i = 0; ; i++) {
    const chunkBytes = elementCount(chunks) * bytesPerVoxel;
    const closeEnough = chunkBytes < target || Math.abs(chunkBytes - target) / target < 0.5;
    if ((closeEnough && chunkBytes < 1024 * 1024) || elementCount(chunks) === 1) return chunks;
    const axis = i % chunks.length;
    chunks[axis] = Math.ceil(chunks[axis]! / 2);
  }
}

async function checkHdf5File(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TracocoError('file not found', { file: path });
    throw fileError(path, 'cannot read file', err);
  }
  try {
    const info = await handle.stat();
    const size = info.size;
    if (!info.isFile()) throw new TracocoError('not a regular file, expected an HDF5 file', { file: path });
    // The superblock sits at 0 or, after a user block, at 512, 1024, 2048, ...
    const probe = new Uint8Array(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      const { bytesRead } = await handle.read(probe, 0, 8, offset);
      if (bytesRead === 8 && HDF5_SIGNATURE.every((b, i) => probe[i] === b)) {
        const superblock = new Uint8Array(64);
        await handle.read(superblock, 0, 64, offset);
        const end = declaredEnd(superblock);
        if (end !== null && end > size) {
          throw new TracocoError(`truncated HDF5 file: its superblock declares ${end} bytes, the file has ${size}`, { file: path });
        }
        return;
      }
    }
    throw new TracocoError('not an HDF5 file (no HDF5 signature)', { file: path });
  } catch (err) {
    if (err instanceof TracocoError) throw err;
    throw fileError(path, 'cannot read file', err);
  } finally {
    await handle.close();
  }
}

/**
 * The end-of-file address the superblock declares (base address + EOF address), or null when the
 * superblock version or offset size is one we do not check. Layouts from the HDF5 file format spec:
 * versions 0/1 keep it after the B-tree parameters, versions 2/3 right after the extension address.
 */
function declaredEnd(superblock: Uint8Array): number | null {
  const view = new DataView(superblock.buffer);
  const version = view.getUint8(8);
  const offsetSize = version <= 1 ? view.getUint8(13) : view.getUint8(9);
  const baseAt = version === 0 ? 24 : version === 1 ? 28 : version <= 3 ? 12 : -1;
  if (offsetSize !== 8 || baseAt < 0) return null;
  const base = view.getBigUint64(baseAt, true);
  const eof = view.getBigUint64(baseAt + 16, true); // after the base and one more address in every version
  const undefinedAddress = 0xffffffffffffffffn;
  return base === undefinedAddress || eof === undefinedAddress ? null : Number(base + eof);
}

type NumberArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;
type NumericArray = NumberArray | BigInt64Array | BigUint64Array;

function readDataset(dataset: H5Dataset | null, name: string, path: string): { values: NumericArray; shape: number[] } {
  const shape = dataset?.shape;
  if (!dataset || !shape) throw new TracocoError(`'${name}' is not a dataset with a shape`, { file: path });
  const values = dataset.value;
  if (!ArrayBuffer.isView(values) || values instanceof DataView) {
    throw new TracocoError(`dataset '${name}' is not numeric (dtype ${JSON.stringify(dataset.dtype)})`, { file: path });
  }
  return { values: values as NumericArray, shape };
}

function datasetShape(shape: number[], name: string, path: string): Shape3 {
  if (shape.length !== 3 || !shape.every((n) => n >= 1)) {
    throw new TracocoError(`dataset '${name}' has shape [${shape.join(', ')}], expected [X, Y, Z]`, { file: path });
  }
  return shape3(shape);
}

/** Typed numbers (BigInt datasets, e.g. int64 labels written by numpy, converted). */
function toNumbers(values: NumericArray): NumberArray {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!);
    return out;
  }
  return values;
}

function toFloat32(values: NumericArray): Float32Array {
  if (values instanceof Float32Array) return values;
  const out = new Float32Array(values.length);
  out.set(toNumbers(values));
  return out;
}
