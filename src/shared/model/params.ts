/**
 * The parameters and buffers of a network (VNet, UNets) as tf.Variables in tfjs layout, keyed by
 * their PyTorch state_dict names, with strict conversion from and to PyTorch-layout state dicts.
 *
 * Weight layouts: Conv3d `[out, in, kx, ky, kz]` <-> tfjs `[kx, ky, kz, in, out]` (layout.ts);
 * Conv2d `[out, in, kh, kw]` <-> tfjs conv2d's `[kh, kw, in, out]`. Vectors and scalars are shared.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import type { Random } from '../random.js';
import { elementCount, sameShape } from '../volume.js';
import { permute, tfjsToTorch, torchToTfjs, type StateDict, type StateTensor } from './layout.js';

export type EntryRole = 'weight' | 'bias' | 'normWeight' | 'normBias' | 'runningMean' | 'runningVar' | 'batchesTracked';

/** One state_dict entry: key, PyTorch shape, and what it is. */
export interface StateEntry {
  key: string;
  torchShape: number[];
  role: EntryRole;
}

/** A variable's value in tfjs layout. */
export interface LayoutValue {
  data: Float32Array | Int32Array;
  shape: number[];
}

const TORCH_TO_TFJS_2D = [2, 3, 1, 0] as const;
const TFJS_TO_TORCH_2D = [3, 2, 0, 1] as const;

/** A PyTorch-layout parameter in tfjs layout (rank-4 and rank-5 conv weights permuted). */
export function torchParamToTfjs(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  return shape.length === 4 ? permute(data, shape, TORCH_TO_TFJS_2D) : torchToTfjs(data, shape);
}

/** A tfjs-layout parameter in PyTorch layout (inverse of torchParamToTfjs). */
export function tfjsParamToTorch(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  return shape.length === 4 ? permute(data, shape, TFJS_TO_TORCH_2D) : tfjsToTorch(data, shape);
}

export function isBuffer(role: EntryRole): boolean {
  return role === 'runningMean' || role === 'runningVar' || role === 'batchesTracked';
}

function dtypeOf(e: StateEntry): 'int32' | 'float32' {
  return e.role === 'batchesTracked' ? 'int32' : 'float32';
}

let instanceCounter = 0;

/** Variables for `entries`: trainable parameters in `params`, BatchNorm statistics in `buffers`. */
export class ParameterStore {
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly buffers: ReadonlyMap<string, tf.Variable>;

  constructor(readonly entries: readonly StateEntry[], values: ReadonlyMap<string, LayoutValue>, namePrefix: string) {
    // Variable names are global to the engine: a counter keeps two models' names apart.
    const prefix = `${namePrefix}${++instanceCounter}/`;
    const params = new Map<string, tf.Variable>();
    const buffers = new Map<string, tf.Variable>();
    for (const e of entries) {
      const v = values.get(e.key)!;
      const initial = tf.tensor(v.data, v.shape, dtypeOf(e));
      (isBuffer(e.role) ? buffers : params).set(e.key, tf.variable(initial, !isBuffer(e.role), prefix + e.key, dtypeOf(e)));
      initial.dispose();
    }
    this.params = params;
    this.buffers = buffers;
  }

  param<T extends tf.Tensor>(key: string): T {
    return this.params.get(key)! as unknown as T;
  }

  buffer<T extends tf.Tensor>(key: string): tf.Variable & T {
    return this.buffers.get(key)! as tf.Variable & T;
  }

  /** Parameters and buffers in PyTorch layout and state_dict order. */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const e of this.entries) {
      const variable = this.params.get(e.key) ?? this.buffers.get(e.key)!;
      if (e.role === 'batchesTracked') {
        sd.set(e.key, { shape: [], dtype: 'int64', data: BigInt64Array.of(BigInt(variable.dataSync()[0]!)) });
        continue;
      }
      const torch = tfjsParamToTorch(Float32Array.from(variable.dataSync() as Float32Array), variable.shape);
      sd.set(e.key, { shape: torch.shape, dtype: 'float32', data: torch.data });
    }
    return sd;
  }

  /** Replaces every value (already checked by `checkedValues`). */
  assign(values: ReadonlyMap<string, LayoutValue>): void {
    tf.tidy(() => {
      for (const e of this.entries) {
        const v = values.get(e.key)!;
        (this.params.get(e.key) ?? this.buffers.get(e.key)!).assign(tf.tensor(v.data, v.shape, dtypeOf(e)));
      }
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

/** Which published network a state dict's keys belong to (for error messages and import). */
export function stateDictArchitecture(sd: StateDict): 'vnet' | 'unet3d' | 'unet2d' | null {
  if (sd.has('block_one.conv.0.weight')) return 'vnet';
  if (sd.has('conv1.conv1.0.weight')) return 'unet3d';
  if (sd.has('encoder.in_conv.conv_conv.0.weight')) return 'unet2d';
  return null;
}

/**
 * The values of `sd` in tfjs layout, one per entry. Strict like PyTorch's `load_state_dict`: a
 * missing or unexpected key or a wrong shape is a TracocoError naming `source` and the key;
 * `model` describes the expected network in the message.
 */
export function checkedValues(entries: readonly StateEntry[], sd: StateDict, source: string, model: string): Map<string, LayoutValue> {
  const found = stateDictArchitecture(sd);
  const hint = found && !model.toLowerCase().startsWith(found) ? `; the file holds a ${found} state_dict` : '';
  const expected = new Set(entries.map((e) => e.key));
  for (const e of entries) {
    if (!sd.has(e.key)) throw new TracocoError(`missing key '${e.key}' for this ${model}${hint}`, { file: source, field: e.key });
  }
  for (const key of sd.keys()) {
    if (!expected.has(key)) throw new TracocoError(`unexpected key '${key}' for this ${model}${hint}`, { file: source, field: key });
  }
  const values = new Map<string, LayoutValue>();
  for (const e of entries) {
    const t = sd.get(e.key)!;
    if (!sameShape(t.shape, e.torchShape)) {
      throw new TracocoError(`shape [${t.shape.join(', ')}] does not match the model's [${e.torchShape.join(', ')}]`, { file: source, field: e.key });
    }
    if (t.data.length !== elementCount(t.shape)) {
      throw new TracocoError(`holds ${t.data.length} values for shape [${t.shape.join(', ')}]`, { file: source, field: e.key });
    }
    values.set(e.key, entryValue(t, e));
  }
  return values;
}

function entryValue(t: StateTensor, e: StateEntry): LayoutValue {
  if (e.role === 'batchesTracked') {
    const count = t.data instanceof BigInt64Array ? Number(t.data[0]) : Math.round(t.data[0]!);
    return { data: Int32Array.of(count), shape: [] };
  }
  const data = t.data instanceof BigInt64Array ? Float32Array.from(t.data, Number) : Float32Array.from(t.data);
  return torchParamToTfjs(data, t.shape);
}

/** A tensor of `sd` that config inference reads: present, of the given rank, else a TracocoError. */
export function requireShape(sd: StateDict, key: string, rank: number, source: string): number[] {
  const t = sd.get(key);
  const found = stateDictArchitecture(sd);
  if (!t) throw new TracocoError(`missing key '${key}'${found ? ` (the file holds a ${found} state_dict)` : ''}`, { file: source, field: key });
  if (t.shape.length !== rank) throw new TracocoError(`expected a rank-${rank} tensor, got shape [${t.shape.join(', ')}]`, { file: source, field: key });
  return t.shape;
}

/** Draws a conv weight in PyTorch layout. */
export type WeightInit = (random: Random, torchShape: readonly number[]) => Float32Array;

/** fan_in of a conv weight in PyTorch layout `[out, in, k...]`. */
export function fanIn(torchShape: readonly number[]): number {
  return elementCount(torchShape.slice(1));
}

/** PyTorch's default conv weight init: U(−1/√fan_in, 1/√fan_in) (kaiming_uniform_ with a = √5). */
export const torchDefaultWeight: WeightInit = (random, shape) => {
  const bound = 1 / Math.sqrt(fanIn(shape));
  return Float32Array.from({ length: elementCount(shape) }, () => random.range(-bound, bound));
};

/** kaiming_normal_(a=0, mode='fan_in'): N(0, 2/fan_in). */
export const kaimingNormalWeight: WeightInit = (random, shape) => {
  const std = Math.sqrt(2 / fanIn(shape));
  return Float32Array.from({ length: elementCount(shape) }, () => random.normal() * std);
};

/**
 * Initial values in entry order: conv weights from `weightInit`, each bias U(±1/√fan_in) of the
 * weight before it (PyTorch's default, which the published inits keep), norm weights and running
 * variances 1, everything else 0.
 */
export function initialValues(entries: readonly StateEntry[], random: Random, weightInit: WeightInit): Map<string, LayoutValue> {
  const values = new Map<string, LayoutValue>();
  let lastFanIn = 1;
  for (const e of entries) {
    if (e.role === 'weight') {
      lastFanIn = fanIn(e.torchShape);
      values.set(e.key, torchParamToTfjs(weightInit(random, e.torchShape), e.torchShape));
    } else if (e.role === 'bias') {
      const bound = 1 / Math.sqrt(lastFanIn);
      values.set(e.key, { data: Float32Array.from({ length: e.torchShape[0]! }, () => random.range(-bound, bound)), shape: e.torchShape });
    } else if (e.role === 'batchesTracked') {
      values.set(e.key, { data: new Int32Array(1), shape: [] });
    } else {
      const fill = e.role === 'normWeight' || e.role === 'runningVar' ? 1 : 0;
      values.set(e.key, { data: new Float32Array(elementCount(e.torchShape)).fill(fill), shape: e.torchShape });
    }
  }
  return values;
}

/**
 * A network whose weights live in a ParameterStore: the state_dict side the UNets share (PyTorch
 * names and layout, strict loading). `describe` names the network in load errors.
 */
export abstract class StoredNetwork<C> {
  protected constructor(
    readonly config: C,
    protected readonly store: ParameterStore,
    private readonly describe: string,
  ) {}

  /** Trainable parameters keyed by state_dict name (tfjs layout). */
  get params(): ReadonlyMap<string, tf.Variable> {
    return this.store.params;
  }

  /** Running statistics and batch counters (none for InstanceNorm), keyed by state_dict name. */
  get buffers(): ReadonlyMap<string, tf.Variable> {
    return this.store.buffers;
  }

  /** Parameters and buffers in PyTorch layout and state_dict order. */
  stateDict(): StateDict {
    return this.store.stateDict();
  }

  /** Replaces every parameter and buffer from a PyTorch state_dict (strict; nothing changes on error). */
  loadStateDict(sd: StateDict, source: string): void {
    this.store.assign(checkedValues(this.store.entries, sd, source, this.describe));
  }

  dispose(): void {
    this.store.dispose();
  }
}
