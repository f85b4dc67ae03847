/**
 * NIfTI-1 (`.nii`, `.nii.gz`) reading and writing.
 *
 * Headers are parsed by nifti-reader-js; we add the checks it leaves out (magic, sizes, datatypes),
 * the affine choice (sform, else qform, else pixdim), scaling and the axis order: NIfTI stores x
 * fastest, tracoco volumes are row-major [X, Y, Z(, C)] with the last axis fastest (volume.ts), so
 * voxels are transposed both ways. Files are written little-endian with vox_offset 352, both sform
 * and qform set from the affine, spatial units mm, atomically, gzip-compressed when named `.gz`.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { NIFTI1 } from 'nifti-reader-js';
import { fileError, TracocoError } from '../errors.js';
import { elementCount, type Affine, type Vec3, type Volume, type VoxelArray } from '../volume.js';
import { writeFileAtomic } from './atomic.js';
import { formatVoxel } from './validate.js';

export type NiftiDatatype = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

/** Header fields kept from the file (for inspection and for writing a volume back faithfully). */
export interface NiftiHeaderFields {
  description: string;
  qformCode: number;
  sformCode: number;
  /** pixdim[0..7] as stored; pixdim[0] is the qform handedness (qfac). */
  pixdim: number[];
  xyztUnits: number;
  intentCode: number;
  sclSlope: number;
  sclInter: number;
  littleEndian: boolean;
}

/**
 * A volume read from NIfTI. `datatype` is the datatype stored in the file; `data` has that type,
 * except when a non-identity scl_slope/scl_inter was applied, in which case it is a Float32Array.
 * A 4D file whose 4th (and higher) dimensions are all 1 is returned as 3D.
 */
export interface NiftiVolume extends Volume {
  datatype: NiftiDatatype;
  header: NiftiHeaderFields;
}

export interface WriteNiftiOptions {
  /** Datatype on disk; default from the array type. Values must fit it exactly (integers in range). */
  datatype?: NiftiDatatype;
  /** Header `descrip`: at most 79 characters kept, non-ASCII ones written as '?'. */
  description?: string;
  /** gzip level for `.gz` files (default 1: these volumes are large and noisy, higher levels buy little). */
  compressionLevel?: number;
}

type VoxelArrayConstructor = {
  new (length: number): VoxelArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): VoxelArray;
};

interface DatatypeInfo {
  code: number;
  bytes: 1 | 2 | 4 | 8;
  array: VoxelArrayConstructor;
  integer: boolean;
  min: number;
  max: number;
}

const DATATYPES: Record<NiftiDatatype, DatatypeInfo> = {
  uint8: { code: 2, bytes: 1, array: Uint8Array, integer: true, min: 0, max: 255 },
  int8: { code: 256, bytes: 1, array: Int8Array, integer: true, min: -128, max: 127 },
  int16: { code: 4, bytes: 2, array: Int16Array, integer: true, min: -32768, max: 32767 },
  uint16: { code: 512, bytes: 2, array: Uint16Array, integer: true, min: 0, max: 65535 },
  int32: { code: 8, bytes: 4, array: Int32Array, integer: true, min: -2147483648, max: 2147483647 },
  uint32: { code: 768, bytes: 4, array: Uint32Array, integer: true, min: 0, max: 4294967295 },
  float32: { code: 16, bytes: 4, array: Float32Array, integer: false, min: -Infinity, max: Infinity },
  float64: { code: 64, bytes: 8, array: Float64Array, integer: false, min: -Infinity, max: Infinity },
};

const HEADER_SIZE = 348;
const VOX_OFFSET = 352;
const NIFTI_UNITS_MM = 2;
const NIFTI_XFORM_SCANNER_ANAT = 1;
const HOST_LITTLE_ENDIAN = endianness() === 'LE';

export const NIFTI_DATATYPES = Object.keys(DATATYPES) as NiftiDatatype[];

/** The datatype name of a typed array (the default on-disk datatype when writing it). */
export function datatypeOfArray(data: VoxelArray): NiftiDatatype {
  for (const name of NIFTI_DATATYPES) if (data instanceof DATATYPES[name].array) return name;
  throw new TypeError(`unsupported voxel array type ${(data as object).constructor.name}`);
}

export async function readNifti(path: string): Promise<NiftiVolume> {
  const bytes = await decompressIfGzip(await readFileBytes(path), path);
  const { header, view } = parseHeader(bytes, path);
  const datatype = datatypeOfCode(header.datatypeCode, path);
  const info = DATATYPES[datatype];
  const shape = shapeOf(header.dims, path);
  const count = elementCount(shape);
  const offset = voxelOffset(header.vox_offset, path);
  const byteCount = count * info.bytes;
  if (bytes.length < offset + byteCount) {
    throw new TracocoError(
      `file is shorter than its header says: ${shape.join('x')} ${datatype} voxels need ${byteCount} bytes from offset ${offset}, ` +
        `but only ${Math.max(0, bytes.length - offset)} follow`,
      { file: path },
    );
  }
  const rowMajor = new Uint8Array(byteCount);
  transposeBytes(bytes.subarray(offset, offset + byteCount), rowMajor, info.bytes, shape, 'toRowMajor');
  const stored = new info.array(rowMajor.buffer, 0, count);
  if (header.littleEndian !== HOST_LITTLE_ENDIAN) swapBytesInPlace(stored, info.bytes);
  const affine = niftiAffine(header, view);
  return {
    data: applyScaling(stored, header.scl_slope, header.scl_inter),
    shape,
    spacing: spacingOf(header.pixDims, affine),
    affine,
    datatype,
    header: {
      description: header.description,
      qformCode: header.qform_code,
      sformCode: header.sform_code,
      pixdim: header.pixDims.slice(0, 8),
      xyztUnits: header.xyzt_units,
      intentCode: header.intent_code,
      sclSlope: header.scl_slope,
      sclInter: header.scl_inter,
      littleEndian: header.littleEndian,
    },
  };
}

export async function writeNifti(path: string, volume: Volume, options: WriteNiftiOptions = {}): Promise<void> {
  const shape = checkWritableShape(volume, path);
  const datatype = options.datatype ?? datatypeOfArray(volume.data);
  const info = DATATYPES[datatype];
  const data = convertForWrite(volume.data, shape, datatype, path);
  const file = new Uint8Array(VOX_OFFSET + data.byteLength);
  file.set(encodeHeader(volume, shape, datatype, options.description ?? 'tracoco'), 0);
  const source = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  transposeBytes(source, file.subarray(VOX_OFFSET), info.bytes, shape, 'toNifti');
  if (!HOST_LITTLE_ENDIAN) swapBytesInPlace(new info.array(file.buffer, VOX_OFFSET, data.length), info.bytes);
  const out = path.endsWith('.gz') ? await promisify(gzip)(file, { level: options.compressionLevel ?? 1 }) : file;
  await writeFileAtomic(path, out);
}

// ---------------------------------------------------------------------------------------------
// Reading helpers

async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TracocoError('file not found', { file: path });
    if (code === 'EISDIR') throw new TracocoError('is a directory, expected a NIfTI file', { file: path });
    throw fileError(path, 'cannot read file', err);
  }
}

async function decompressIfGzip(bytes: Uint8Array, path: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return await promisify(gunzip)(bytes);
  } catch (err) {
    throw fileError(path, 'corrupt or truncated gzip data', err);
  }
}

function parseHeader(bytes: Uint8Array, path: string): { header: NIFTI1; view: DataView } {
  if (bytes.length < HEADER_SIZE) {
    throw new TracocoError(`not a NIfTI-1 file: ${bytes.length} bytes, shorter than the ${HEADER_SIZE}-byte header`, { file: path });
  }
  const headerBuffer = new Uint8Array(bytes.subarray(0, HEADER_SIZE)).buffer;
  const view = new DataView(headerBuffer);
  const sizeLE = view.getInt32(0, true);
  const sizeBE = view.getInt32(0, false);
  if (sizeLE === 540 || sizeBE === 540) throw new TracocoError('NIfTI-2 files are not supported (sizeof_hdr 540); save as NIfTI-1', { file: path });
  if (sizeLE !== HEADER_SIZE && sizeBE !== HEADER_SIZE) {
    throw new TracocoError(`not a NIfTI-1 file: sizeof_hdr is ${sizeLE}, expected ${HEADER_SIZE}`, { file: path });
  }
  const magic = String.fromCharCode(view.getUint8(344), view.getUint8(345), view.getUint8(346), view.getUint8(347));
  if (magic === 'ni1\0') throw new TracocoError('NIfTI .hdr/.img pairs are not supported; use a single .nii file', { file: path });
  if (magic !== 'n+1\0') throw new TracocoError(`not a NIfTI-1 file: magic is ${JSON.stringify(magic)}, expected "n+1"`, { file: path });
  const header = new NIFTI1();
  try {
    header.readHeader(headerBuffer);
  } catch (err) {
    throw fileError(path, 'unreadable NIfTI-1 header', err);
  }
  return { header, view };
}

function datatypeOfCode(code: number, path: string): NiftiDatatype {
  for (const name of NIFTI_DATATYPES) if (DATATYPES[name].code === code) return name;
  throw new TracocoError(`unsupported NIfTI datatype code ${code}; supported: ${NIFTI_DATATYPES.join(', ')}`, { file: path });
}

/** [X, Y, Z] or [X, Y, Z, C]; dimensions past the 3rd collapse into C, which must be the only one above 1. */
function shapeOf(dims: number[], path: string): number[] {
  const ndim = dims[0]!;
  if (!(ndim >= 1 && ndim <= 7)) throw new TracocoError(`invalid dim[0] = ${ndim} (number of dimensions must be 1..7)`, { file: path });
  const sizes = [1, 2, 3, 4, 5, 6, 7].map((i) => (i <= ndim ? dims[i]! : 1));
  sizes.forEach((n, i) => {
    if (!(n >= 1)) throw new TracocoError(`invalid dim[${i + 1}] = ${n}`, { file: path });
  });
  const extra = sizes.slice(3).filter((n) => n > 1);
  if (extra.length > 1) throw new TracocoError(`volumes with more than 4 dimensions are not supported (dim = [${dims.join(', ')}])`, { file: path });
  return extra.length === 1 ? [sizes[0]!, sizes[1]!, sizes[2]!, extra[0]!] : sizes.slice(0, 3);
}

function voxelOffset(voxOffset: number, path: string): number {
  if (!Number.isInteger(voxOffset) || voxOffset < HEADER_SIZE) {
    throw new TracocoError(`invalid vox_offset ${voxOffset} (must be an integer >= ${HEADER_SIZE})`, { file: path });
  }
  return voxOffset;
}

/** Applies scl_slope/scl_inter when set and not the identity (slope 0 or NaN means "not set"). */
function applyScaling(data: VoxelArray, slope: number, inter: number): VoxelArray {
  const intercept = Number.isFinite(inter) ? inter : 0;
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && intercept === 0)) return data;
  const out = data instanceof Float32Array ? data : new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * slope + intercept;
  return out;
}

/** sform when sform_code > 0, else qform when qform_code > 0, else pixdim scaling (nibabel's order). */
function niftiAffine(h: NIFTI1, view: DataView): Affine {
  if (h.sform_code > 0) {
    const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat32(280 + (r * 4 + c) * 4, h.littleEndian)));
    return [...rows, [0, 0, 0, 1]];
  }
  if (h.qform_code > 0) {
    return qformToAffine(h.quatern_b, h.quatern_c, h.quatern_d, [h.qoffset_x, h.qoffset_y, h.qoffset_z], h.pixDims);
  }
  const zoom = (v: number | undefined) => (v !== undefined && v > 0 ? v : 1);
  return [
    [zoom(h.pixDims[1]), 0, 0, 0],
    [0, zoom(h.pixDims[2]), 0, 0],
    [0, 0, zoom(h.pixDims[3]), 0],
    [0, 0, 0, 1],
  ];
}

/** pixdim[1..3] when positive, else the affine's column norms. */
function spacingOf(pixdim: number[], affine: Affine): Vec3 {
  const norms = columnNorms(affine);
  const pick = (i: 0 | 1 | 2) => {
    const p = Math.abs(pixdim[i + 1] ?? 0);
    return Number.isFinite(p) && p > 0 ? p : norms[i] > 0 ? norms[i] : 1;
  };
  return [pick(0), pick(1), pick(2)];
}

// ---------------------------------------------------------------------------------------------
// Writing helpers

function checkWritableShape(volume: Volume, path: string): number[] {
  const shape = [...volume.shape];
  if (shape.length !== 3 && shape.length !== 4) {
    throw new TracocoError(`cannot write a ${shape.length}D volume as NIfTI: expected [X, Y, Z] or [X, Y, Z, C]`, { file: path });
  }
  if (!shape.every((n) => Number.isInteger(n) && n >= 1 && n <= 32767)) {
    throw new TracocoError(`cannot write shape [${shape.join(', ')}]: NIfTI-1 dimensions are integers 1..32767`, { file: path });
  }
  if (elementCount(shape) !== volume.data.length) {
    throw new TracocoError(`shape [${shape.join(', ')}] has ${elementCount(shape)} voxels but the data has ${volume.data.length}`, { file: path });
  }
  const affine = volume.affine;
  if (affine.length !== 4 || !affine.every((row) => row.length === 4 && row.every(Number.isFinite))) {
    throw new TracocoError('the affine must be a finite 4x4 matrix', { file: path });
  }
  return shape;
}

/** The data as the target datatype's array; integer targets require integral values in range. */
function convertForWrite(data: VoxelArray, shape: readonly number[], datatype: NiftiDatatype, path: string): VoxelArray {
  const info = DATATYPES[datatype];
  if (data instanceof info.array) return data;
  if (info.integer) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!(Number.isInteger(v) && v >= info.min && v <= info.max)) {
        throw new TracocoError(`cannot write voxel ${formatVoxel(i, shape)} = ${v} as ${datatype} (needs integers ${info.min}..${info.max})`, {
          file: path,
        });
      }
    }
  }
  const out = new info.array(data.length);
  out.set(data);
  return out;
}

function encodeHeader(volume: Volume, shape: number[], datatype: NiftiDatatype, description: string): Uint8Array {
  const info = DATATYPES[datatype];
  const bytes = new Uint8Array(VOX_OFFSET);
  const v = new DataView(bytes.buffer);
  const affine = volume.affine;
  const q = affineToQform(affine);
  const kept = (volume as Partial<NiftiVolume>).header;
  v.setInt32(0, HEADER_SIZE, true);
  v.setUint8(38, 'r'.charCodeAt(0)); // `regular`, as nibabel and FSL write it
  const dims = [shape.length, shape[0]!, shape[1]!, shape[2]!, shape[3] ?? 1, 1, 1, 1];
  dims.forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, info.code, true);
  v.setInt16(72, info.bytes * 8, true);
  const pixdim = [q.qfac, q.spacing[0], q.spacing[1], q.spacing[2], 1, 1, 1, 1];
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, VOX_OFFSET, true);
  v.setFloat32(112, 1, true); // scl_slope 1, scl_inter 0: values are stored as they are
  v.setFloat32(116, 0, true);
  v.setUint8(123, NIFTI_UNITS_MM);
  writeAscii(bytes, 148, 80, description);
  v.setInt16(252, kept && kept.qformCode > 0 ? kept.qformCode : NIFTI_XFORM_SCANNER_ANAT, true);
  v.setInt16(254, kept && kept.sformCode > 0 ? kept.sformCode : NIFTI_XFORM_SCANNER_ANAT, true);
  q.quaternion.forEach((x, i) => v.setFloat32(256 + 4 * i, x, true));
  q.offset.forEach((x, i) => v.setFloat32(268 + 4 * i, x, true));
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) v.setFloat32(280 + (r * 4 + c) * 4, affine[r]![c]!, true);
  writeAscii(bytes, 344, 4, 'n+1');
  return bytes;
}

/** Writes `text` NUL-terminated into a fixed-size header field; non-printable or non-ASCII characters become '?'. */
function writeAscii(bytes: Uint8Array, offset: number, size: number, text: string): void {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  for (let i = 0; i < Math.min(ascii.length, size - 1); i++) bytes[offset + i] = ascii.charCodeAt(i);
}

// ---------------------------------------------------------------------------------------------
// Axis order and byte order

/**
 * Transposes between row-major [X, Y, Z, C] (C fastest) and NIfTI order (x fastest, then y, z, c),
 * moving whole elements through an unsigned view of their size so every datatype shares four
 * monomorphic loops. `dst` must be aligned to the element size.
 */
function transposeBytes(
  src: Uint8Array,
  dst: Uint8Array,
  elementBytes: 1 | 2 | 4 | 8,
  shape: readonly number[],
  direction: 'toRowMajor' | 'toNifti',
): void {
  const count = src.length / elementBytes;
  const out = dst.buffer;
  const at = dst.byteOffset;
  const aligned = src.byteOffset % elementBytes === 0 ? src : new Uint8Array(src); // copy to offset 0
  const [X, Y, Z, C] = [shape[0]!, shape[1]!, shape[2]!, shape[3] ?? 1];
  const run = direction === 'toRowMajor' ? niftiToRowMajor : rowMajorToNifti;
  switch (elementBytes) {
    case 1:
      run(new Uint8Array(aligned.buffer, aligned.byteOffset, count), new Uint8Array(out, at, count), X, Y, Z, C);
      break;
    case 2:
      run(new Uint16Array(aligned.buffer, aligned.byteOffset, count), new Uint16Array(out, at, count), X, Y, Z, C);
      break;
    case 4:
      run(new Uint32Array(aligned.buffer, aligned.byteOffset, count), new Uint32Array(out, at, count), X, Y, Z, C);
      break;
    case 8:
      run(new Float64Array(aligned.buffer, aligned.byteOffset, count), new Float64Array(out, at, count), X, Y, Z, C);
      break;
  }
}

type Elements = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** Tile edge for the transposes: a 16x16 tile of reads and writes stays in cache. */
const TILE = 16;

/**
 * dst[((x*Y + y)*Z + z)*C + c] = src[x + X*(y + Y*(z + Z*c))]. For fixed (y, c) this is a 2D
 * transpose of an X x Z plane (x contiguous in src, z contiguous in dst), done in tiles: about
 * 4x faster than a strided loop on LA-sized volumes.
 */
function niftiToRowMajor(src: Elements, dst: Elements, X: number, Y: number, Z: number, C: number): void {
  const srcStrideZ = X * Y;
  const dstStrideX = Y * Z * C;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < Y; y++) {
      const srcBase = X * y + X * Y * Z * c;
      const dstBase = y * Z * C + c;
      for (let z0 = 0; z0 < Z; z0 += TILE) {
        const z1 = Math.min(Z, z0 + TILE);
        for (let x0 = 0; x0 < X; x0 += TILE) {
          const x1 = Math.min(X, x0 + TILE);
          for (let z = z0; z < z1; z++) {
            let i = srcBase + z * srcStrideZ + x0;
            let o = dstBase + z * C + x0 * dstStrideX;
            for (let x = x0; x < x1; x++, i++, o += dstStrideX) dst[o] = src[i]!;
          }
        }
      }
    }
  }
}

/** The inverse of niftiToRowMajor, with the same tiling. */
function rowMajorToNifti(src: Elements, dst: Elements, X: number, Y: number, Z: number, C: number): void {
  const niftiStrideZ = X * Y;
  const rowStrideX = Y * Z * C;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < Y; y++) {
      const niftiBase = X * y + X * Y * Z * c;
      const rowBase = y * Z * C + c;
      for (let z0 = 0; z0 < Z; z0 += TILE) {
        const z1 = Math.min(Z, z0 + TILE);
        for (let x0 = 0; x0 < X; x0 += TILE) {
          const x1 = Math.min(X, x0 + TILE);
          for (let z = z0; z < z1; z++) {
            let o = niftiBase + z * niftiStrideZ + x0;
            let i = rowBase + z * C + x0 * rowStrideX;
            for (let x = x0; x < x1; x++, o++, i += rowStrideX) dst[o] = src[i]!;
          }
        }
      }
    }
  }
}

function swapBytesInPlace(data: VoxelArray, elementBytes: number): void {
  if (elementBytes === 1) return;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < bytes.length; i += elementBytes) {
    for (let lo = i, hi = i + elementBytes - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo]!;
      bytes[lo] = bytes[hi]!;
      bytes[hi] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// qform <-> affine (the algorithms of nifti1_io.c: quatern_to_mat44 and mat44_to_quatern)

export function qformToAffine(b: number, c: number, d: number, offset: Vec3, pixdim: readonly number[]): Affine {
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    // b, c, d hold a (nearly) 180-degree rotation: renormalise them, a = 0.
    const n = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= n;
    c *= n;
    d *= n;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const positive = (v: number | undefined) => (v !== undefined && v > 0 ? v : 1);
  const qfac = (pixdim[0] ?? 1) < 0 ? -1 : 1;
  const zoom = [positive(pixdim[1]), positive(pixdim[2]), qfac * positive(pixdim[3])];
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  return [
    [r[0]![0]! * zoom[0]!, r[0]![1]! * zoom[1]!, r[0]![2]! * zoom[2]!, offset[0]],
    [r[1]![0]! * zoom[0]!, r[1]![1]! * zoom[1]!, r[1]![2]! * zoom[2]!, offset[1]],
    [r[2]![0]! * zoom[0]!, r[2]![1]! * zoom[1]!, r[2]![2]! * zoom[2]!, offset[2]],
    [0, 0, 0, 1],
  ];
}

export interface Qform {
  /** quatern_b, quatern_c, quatern_d */
  quaternion: Vec3;
  offset: Vec3;
  /** Column norms of the affine (pixdim[1..3]). */
  spacing: Vec3;
  /** pixdim[0]: -1 when the affine is left-handed. */
  qfac: 1 | -1;
}

/** The qform closest to `affine`: shear cannot be represented, so the rotation is orthogonalised. */
export function affineToQform(affine: Affine): Qform {
  const spacing: number[] = [];
  const unit = [0, 1, 2].map((j) => {
    const col = [affine[0]![j]!, affine[1]![j]!, affine[2]![j]!];
    const n = Math.hypot(col[0]!, col[1]!, col[2]!);
    spacing.push(n > 0 ? n : 1);
    return n > 0 ? col.map((v) => v / n) : [0, 1, 2].map((i) => (i === j ? 1 : 0));
  });
  // Rotation matrix with columns = unit vectors: m[i][j] = unit[j][i].
  let m = [0, 1, 2].map((i) => [0, 1, 2].map((j) => unit[j]![i]!));
  m = polarOrthogonal(m);
  let qfac: 1 | -1 = 1;
  if (det3(m) < 0) {
    qfac = -1;
    for (let i = 0; i < 3; i++) m[i]![2] = -m[i]![2]!;
  }
  return {
    quaternion: rotationToQuaternion(m),
    offset: [affine[0]![3]!, affine[1]![3]!, affine[2]![3]!],
    spacing: [spacing[0]!, spacing[1]!, spacing[2]!],
    qfac,
  };
}

function rotationToQuaternion(m: number[][]): Vec3 {
  const [r11, r12, r13] = m[0]! as [number, number, number];
  const [r21, r22, r23] = m[1]! as [number, number, number];
  const [r31, r32, r33] = m[2]! as [number, number, number];
  let a = r11 + r22 + r33 + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return [b, c, d];
}

/** Nearest orthogonal matrix (polar decomposition by Newton iteration X <- (X + X^-T) / 2). */
function polarOrthogonal(m: number[][]): number[][] {
  let x = m.map((row) => [...row]);
  for (let iter = 0; iter < 100; iter++) {
    const inv = invert3(x);
    if (!inv) return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
    const next = x.map((row, i) => row.map((v, j) => 0.5 * (v + inv[j]![i]!)));
    const change = next.reduce((s, row, i) => s + row.reduce((t, v, j) => t + Math.abs(v - x[i]![j]!), 0), 0);
    x = next;
    if (change < 1e-12) break;
  }
  return x;
}

function det3(m: number[][]): number {
  const [a, b, c] = m[0]! as [number, number, number];
  const [d, e, f] = m[1]! as [number, number, number];
  const [g, h, i] = m[2]! as [number, number, number];
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

function invert3(m: number[][]): number[][] | null {
  const det = det3(m);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return null;
  const [a, b, c] = m[0]! as [number, number, number];
  const [d, e, f] = m[1]! as [number, number, number];
  const [g, h, i] = m[2]! as [number, number, number];
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

function columnNorms(affine: Affine): Vec3 {
  const norm = (j: number) => Math.hypot(affine[0]![j]!, affine[1]![j]!, affine[2]![j]!);
  return [norm(0), norm(1), norm(2)];
}
