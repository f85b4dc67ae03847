/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the
 * raw little-endian tensor bytes, offsets relative to the end of the header.
 * Written like the Python library: header padded with spaces to 8 bytes, tensors sorted by
 * alignment then name, laid out contiguously (so `safetensors.torch.load_file` accepts it).
 */
import { TracocoError } from '../errors.js';
import type { StateTensor } from '../model/layout.js';
import { elementCount } from '../volume.js';

export interface SafetensorsContent {
  tensors: Map<string, StateTensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** A header larger than this is not a checkpoint (the Python library caps it at 100 MB too). */
const MAX_HEADER_BYTES = 100_000_000;

const WRITE_DTYPE: Record<StateTensor['dtype'], { name: string; size: number }> = {
  float32: { name: 'F32', size: 4 },
  int64: { name: 'I64', size: 8 },
};

/** Item size and decoder of each readable dtype; floats read as float32, integers as int64. */
const READ_DTYPE: Record<string, { size: number; float: boolean; read: (v: DataView, i: number) => number | bigint }> = {
  F32: { size: 4, float: true, read: (v, i) => v.getFloat32(4 * i, true) },
  F64: { size: 8, float: true, read: (v, i) => v.getFloat64(8 * i, true) },
  I64: { size: 8, float: false, read: (v, i) => v.getBigInt64(8 * i, true) },
  I32: { size: 4, float: false, read: (v, i) => v.getInt32(4 * i, true) },
  I16: { size: 2, float: false, read: (v, i) => v.getInt16(2 * i, true) },
  I8: { size: 1, float: false, read: (v, i) => v.getInt8(i) },
  U8: { size: 1, float: false, read: (v, i) => v.getUint8(i) },
  BOOL: { size: 1, float: false, read: (v, i) => v.getUint8(i) },
};

/** Serialises tensors (PyTorch layout) and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: ReadonlyMap<string, StateTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => {
    const bySize = WRITE_DTYPE[tensors.get(b)!.dtype].size - WRITE_DTYPE[tensors.get(a)!.dtype].size;
    return bySize !== 0 ? bySize : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (t.data.length !== elementCount(t.shape)) {
      throw new TracocoError(`holds ${t.data.length} values for shape [${t.shape.join(', ')}]`, { field: name });
    }
    const bytes = t.data.byteLength;
    header[name] = { dtype: WRITE_DTYPE[t.dtype].name, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  json += ' '.repeat((8 - (headerBytes.length % 8)) % 8);
  headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    // Typed arrays are little-endian on every platform Node runs on.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; any inconsistency is a TracocoError naming `source`. */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsContent {
  const fail = (reason: string, field?: string): never => {
    throw new TracocoError(reason, field ? { file: source, field } : { file: source });
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, not a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`corrupt: header length ${headerLength} is implausible`);
  const n = Number(headerLength);
  if (8 + n > bytes.length) fail(`truncated: header needs ${n} bytes, file has ${bytes.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    fail(`corrupt: header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('corrupt: header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, StateTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof entry !== 'object' || entry === null) fail('__metadata__ must be an object of strings', METADATA_KEY);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value of '${k}' is not a string`, METADATA_KEY);
        metadata[k] = v as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const kind = typeof dtype === 'string' ? READ_DTYPE[dtype] : undefined;
    if (!kind) fail(`unsupported dtype ${JSON.stringify(dtype)}`, name);
    const validShape = Array.isArray(shape) && shape.every((s) => Number.isInteger(s) && s >= 0);
    if (!validShape) fail('shape must be an array of non-negative integers', name);
    const validOffsets = Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => Number.isInteger(o) && o >= 0);
    if (!validOffsets || offsets[1] < offsets[0]) fail('data_offsets must be [begin, end] with begin <= end', name);
    const [begin, end] = offsets as [number, number];
    const count = elementCount(shape as number[]);
    if (end - begin !== count * kind!.size) fail(`data_offsets span ${end - begin} bytes, shape and dtype need ${count * kind!.size}`, name);
    if (end > dataLength) fail(`truncated: tensor data ends at byte ${end}, data section has ${dataLength}`, name);
    tensors.set(name, readTensor(bytes, dataStart + begin, count, shape as number[], kind!));
  }
  return { tensors, metadata };
}

function readTensor(bytes: Uint8Array, start: number, count: number, shape: number[], kind: (typeof READ_DTYPE)[string]): StateTensor {
  // F32 / I64 (what tracoco writes): one aligned copy of the little-endian bytes.
  if (kind === READ_DTYPE.F32 || kind === READ_DTYPE.I64) {
    // Copy through set(): a Node Buffer's slice() is a view into a shared pool, not a copy.
    const copy = new Uint8Array(count * kind.size);
    copy.set(bytes.subarray(start, start + copy.length));
    return kind.float
      ? { shape: [...shape], dtype: 'float32', data: new Float32Array(copy.buffer) }
      : { shape: [...shape], dtype: 'int64', data: new BigInt64Array(copy.buffer) };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * kind.size);
  if (kind.float) {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = kind.read(view, i) as number;
    return { shape: [...shape], dtype: 'float32', data };
  }
  const data = new BigInt64Array(count);
  for (let i = 0; i < count; i++) data[i] = BigInt(kind.read(view, i));
  return { shape: [...shape], dtype: 'int64', data };
}
