/**
 * Reads a PyTorch state_dict saved with `torch.save` (zip format, PyTorch >= 1.6): a zip holding
 * `<name>/data.pkl` (the pickled dict) and `<name>/data/<key>` (raw little-endian storages).
 * Tensors are rebuilt from `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`,
 * honouring storage offsets and strides. Floating tensors become float32, integer/bool int64.
 */
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { fileError, TracocoError } from '../errors.js';
import type { StateDict, StateTensor } from '../model/layout.js';
import { elementCount } from '../volume.js';
import { unpickle } from './pickle.js';

type StorageDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_TYPES: Record<string, StorageDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ITEM_SIZE: Record<StorageDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** The storage class named in the pickle (`torch.FloatStorage`). */
class StorageType {
  constructor(readonly dtype: StorageDtype) {}
}

/** One storage file of the archive, as the persistent id refers to it. */
class Storage {
  constructor(readonly key: string, readonly dtype: StorageDtype, readonly bytes: Uint8Array) {}
  get numel(): number {
    return Math.floor(this.bytes.length / ITEM_SIZE[this.dtype]);
  }
}

/** A rebuilt tensor (the pickle's value for `_rebuild_tensor_v2`). */
class TorchTensor implements StateTensor {
  constructor(readonly shape: number[], readonly dtype: 'float32' | 'int64', readonly data: Float32Array | BigInt64Array) {}
}

/** Reads `path` as a torch.save'd state_dict. */
export async function loadTorchStateDict(path: string): Promise<StateDict> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw fileError(path, 'cannot read PyTorch checkpoint', err);
  }
  return readTorchStateDict(bytes, path);
}

/** Parses the bytes of a torch.save zip archive into a state_dict (PyTorch layout, file order). */
export function readTorchStateDict(bytes: Uint8Array, source: string): StateDict {
  const files = openArchive(bytes, source);
  const pickleName = findDataPickle(files, source);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteorder = files[`${prefix}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new TracocoError('big-endian torch.save archives are not supported', { file: source });
  }
  const root = unpickle(files[pickleName]!, source, {
    findGlobal: (module, name) => findTorchGlobal(module, name, source),
    persistentLoad: (pid) => loadStorage(pid, files, prefix, source),
  });
  return toStateDict(root, source);
}

function openArchive(bytes: Uint8Array, source: string): Record<string, Uint8Array> {
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b;
  if (!isZip) {
    const legacy = bytes.length > 0 && bytes[0] === 0x80;
    throw new TracocoError(
      legacy
        ? 'legacy (pre-1.6) torch.save format is not supported; re-save it with torch.save(state_dict, path) in PyTorch >= 1.6'
        : 'not a PyTorch checkpoint (expected the zip format of torch.save)',
      { file: source },
    );
  }
  try {
    return unzipSync(bytes);
  } catch (err) {
    throw fileError(source, 'corrupt or truncated zip archive', err);
  }
}

function findDataPickle(files: Record<string, Uint8Array>, source: string): string {
  const candidates = Object.keys(files).filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (candidates.length !== 1) {
    throw new TracocoError(`expected one data.pkl in the archive, found ${candidates.length}`, { file: source });
  }
  return candidates[0]!;
}

function findTorchGlobal(module: string, name: string, source: string): unknown {
  const qualified = `${module}.${name}`;
  if (module === 'torch' && name in STORAGE_TYPES) return new StorageType(STORAGE_TYPES[name]!);
  switch (qualified) {
    case 'collections.OrderedDict':
      return () => new Map();
    case 'torch._utils._rebuild_tensor_v2':
      return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuildTensor(storage, offset, size, stride, source);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return (data: unknown) => data;
    default:
      return undefined;
  }
}

function loadStorage(pid: unknown, files: Record<string, Uint8Array>, prefix: string, source: string): Storage {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType) || typeof pid[2] !== 'string') {
    throw new TracocoError('pickle: unsupported persistent id (expected a torch storage)', { file: source });
  }
  const key = pid[2];
  const bytes = files[`${prefix}data/${key}`];
  if (!bytes) throw new TracocoError(`storage data/${key} is missing from the archive`, { file: source });
  return new Storage(key, pid[1].dtype, bytes);
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
}

/** `_rebuild_tensor_v2`: a contiguous copy of `storage[offset + Σ i_k * stride_k]`. */
function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, source: string): TorchTensor {
  if (!(storage instanceof Storage) || typeof offset !== 'number' || !isIntArray(size) || !isIntArray(stride) || size.length !== stride.length) {
    throw new TracocoError('pickle: malformed _rebuild_tensor_v2 arguments', { file: source });
  }
  const numel = elementCount(size);
  const last = numel === 0 ? offset - 1 : offset + size.reduce((acc, s, i) => acc + (s - 1) * stride[i]!, 0);
  if (offset < 0 || last >= storage.numel) {
    throw new TracocoError(`tensor reaches element ${last} of storage data/${storage.key}, which holds ${storage.numel}`, { file: source });
  }
  const read = elementReader(storage);
  const isFloat = ['float32', 'float64', 'float16', 'bfloat16'].includes(storage.dtype);
  const out = isFloat ? new Float32Array(numel) : new BigInt64Array(numel);
  const index = new Array<number>(size.length).fill(0);
  let src = offset;
  for (let o = 0; o < numel; o++) {
    if (isFloat) (out as Float32Array)[o] = read(src) as number;
    else (out as BigInt64Array)[o] = BigInt(read(src));
    for (let axis = size.length - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += stride[axis]!;
      if (index[axis]! < size[axis]!) break;
      src -= stride[axis]! * size[axis]!;
      index[axis] = 0;
    }
  }
  return new TorchTensor([...size], isFloat ? 'float32' : 'int64', out);
}

function elementReader(storage: Storage): (i: number) => number | bigint {
  const b = storage.bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (storage.dtype) {
    case 'float32': return (i) => view.getFloat32(4 * i, true);
    case 'float64': return (i) => view.getFloat64(8 * i, true);
    case 'float16': return (i) => halfToFloat(view.getUint16(2 * i, true));
    case 'bfloat16': return (i) => bfloat16ToFloat(view.getUint16(2 * i, true));
    case 'int64': return (i) => view.getBigInt64(8 * i, true);
    case 'int32': return (i) => view.getInt32(4 * i, true);
    case 'int16': return (i) => view.getInt16(2 * i, true);
    case 'int8': return (i) => view.getInt8(i);
    case 'uint8':
    case 'bool': return (i) => view.getUint8(i);
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function bfloat16ToFloat(bits: number): number {
  u32Scratch[0] = bits << 16;
  return f32Scratch[0]!;
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Names under which training scripts commonly nest the state_dict in a bigger checkpoint dict. */
const NESTED_STATE_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network'];

function isTensorMap(v: unknown): v is Map<string, TorchTensor> {
  return v instanceof Map && v.size > 0 && [...v].every(([k, t]) => typeof k === 'string' && t instanceof TorchTensor);
}

function toStateDict(root: unknown, source: string): StateDict {
  let dict: Map<string, TorchTensor> | undefined;
  if (isTensorMap(root)) dict = root;
  else if (root instanceof Map) {
    const key = NESTED_STATE_KEYS.find((k) => isTensorMap(root.get(k)));
    if (key) dict = root.get(key) as Map<string, TorchTensor>;
  }
  if (!dict) {
    const keys = root instanceof Map ? [...root.keys()].slice(0, 8).map(String).join(', ') : typeof root;
    throw new TracocoError(`no state_dict of tensors found (top level: ${keys})`, { file: source });
  }
  // nn.DataParallel saves every key under 'module.'.
  const keys = [...dict.keys()];
  const strip = keys.every((k) => k.startsWith('module.')) ? 'module.'.length : 0;
  return new Map(keys.map((k) => [k.slice(strip), dict.get(k)!]));
}
