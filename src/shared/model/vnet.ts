/**
 * The reference VNet (GUIDE §5) on NDHWC tensors, with PyTorch's state_dict names.
 *
 * Blocks are `ConvBlock` (n stages of Conv3d k3 p1 + norm + ReLU), `DownsamplingConvBlock`
 * (Conv3d k2 s2 + norm + ReLU) and `UpsamplingDeconvBlock` (ConvTranspose3d k2 s2 + norm + ReLU);
 * within a block the modules of stage i sit at `conv.{s*i}` (conv) and `conv.{s*i+1}` (norm), where
 * s = 3 with a norm module (batchnorm, groupnorm, instancenorm) and s = 2 without ('none').
 * Parameters live in tf.Variables in tfjs layout; `stateDict` / `loadStateDict` speak PyTorch layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { Random } from '../random.js';
import { batchNormTrain, instanceNormRelu } from './batchnorm.js';
import { torchDefaultConvInit } from './init.js';
import {
  addChannelBias,
  type BiasOp,
  cancelledBias,
  conv3dBias,
  conv3dBiasInference,
  dropout3d,
  foldBatchNorm,
  groupNorm,
  NORM_EPSILON,
  upsample2x,
} from './layers.js';
import { InferenceProgramBuilder, runInferenceProgram, type InferenceProgram } from './inference-program.js';
import { torchToTfjs, type StateDict } from './layout.js';
import { checkedValues, ParameterStore, StoredNetwork, type LayoutValue, type StateEntry } from './params.js';
import { elementCount } from '../volume.js';

export const NORMALIZATIONS = ['batchnorm', 'groupnorm', 'instancenorm', 'none'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

export interface VNetConfig {
  inChannels: number;
  classes: number;
  filters: number;
  normalization: Normalization;
  dropout: boolean;
}

export const DROPOUT_P = 0.5;
export const GROUP_NORM_GROUPS = 16;
export const BATCH_NORM_MOMENTUM = 0.1;
/** Four 2x downsamplings: every spatial size must be a multiple of this. */
export const SPATIAL_MULTIPLE = 16;

export type BlockKind = 'conv' | 'down' | 'up';

export interface BlockSpec {
  name: string;
  kind: BlockKind;
  stages: number;
  cin: number;
  cout: number;
}

/** The blocks in module (state_dict) order; `out_conv` (1x1x1, filters -> classes) follows them. */
export function vnetBlocks(config: VNetConfig): BlockSpec[] {
  const f = config.filters;
  const b = (name: string, kind: BlockKind, stages: number, cin: number, cout: number): BlockSpec => ({ name, kind, stages, cin, cout });
  return [
    b('block_one', 'conv', 1, config.inChannels, f),
    b('block_one_dw', 'down', 1, f, 2 * f),
    b('block_two', 'conv', 2, 2 * f, 2 * f),
    b('block_two_dw', 'down', 1, 2 * f, 4 * f),
    b('block_three', 'conv', 3, 4 * f, 4 * f),
    b('block_three_dw', 'down', 1, 4 * f, 8 * f),
    b('block_four', 'conv', 3, 8 * f, 8 * f),
    b('block_four_dw', 'down', 1, 8 * f, 16 * f),
    b('block_five', 'conv', 3, 16 * f, 16 * f),
    b('block_five_up', 'up', 1, 16 * f, 8 * f),
    b('block_six', 'conv', 3, 8 * f, 8 * f),
    b('block_six_up', 'up', 1, 8 * f, 4 * f),
    b('block_seven', 'conv', 3, 4 * f, 4 * f),
    b('block_seven_up', 'up', 1, 4 * f, 2 * f),
    b('block_eight', 'conv', 2, 2 * f, 2 * f),
    b('block_eight_up', 'up', 1, 2 * f, f),
    b('block_nine', 'conv', 1, f, f),
  ];
}

/** Normalisations an eval forward folds into the convs (running statistics, or none), so it runs as an inference program. */
const FOLDABLE: ReadonlySet<Normalization> = new Set(['batchnorm', 'none']);

/**
 * The VNet's block graph, shared by the tensor forward and the inference program: `run` applies a
 * conv or down block, `up` an up block then the encoder's skip, `drop` the Dropout3d after blocks
 * five and nine. Returns block nine's output (out_conv follows).
 */
function vnetGraph<A>(x: A, run: (block: string, input: A) => A, up: (block: string, input: A, skip: A) => A, drop: (a: A) => A): A {
  const x1 = run('block_one', x);
  const x2 = run('block_two', run('block_one_dw', x1));
  const x3 = run('block_three', run('block_two_dw', x2));
  const x4 = run('block_four', run('block_three_dw', x3));
  const x5 = drop(run('block_five', run('block_four_dw', x4)));
  const x6 = run('block_six', up('block_five_up', x5, x4));
  const x7 = run('block_seven', up('block_six_up', x6, x3));
  const x8 = run('block_eight', up('block_seven_up', x7, x2));
  return drop(run('block_nine', up('block_eight_up', x8, x1)));
}

/** One conv (+ norm) + ReLU stage of a block, with its state_dict key prefixes. */
interface Unit {
  kind: BlockKind;
  cin: number;
  cout: number;
  convKey: string;
  /** Key prefix of the norm module, null for normalization 'none'. */
  normKey: string | null;
}

function blockUnits(block: BlockSpec, normalization: Normalization): Unit[] {
  const perStage = normalization === 'none' ? 2 : 3;
  return Array.from({ length: block.stages }, (_, i) => ({
    kind: block.kind,
    cin: i === 0 ? block.cin : block.cout,
    cout: block.cout,
    convKey: `${block.name}.conv.${perStage * i}`,
    normKey: normalization === 'none' ? null : `${block.name}.conv.${perStage * i + 1}`,
  }));
}

type Entry = StateEntry;

function unitEntries(unit: Unit, normalization: Normalization): Entry[] {
  const k = 3;
  const convShape = unit.kind === 'conv' ? [unit.cout, unit.cin, k, k, k] : unit.kind === 'down' ? [unit.cout, unit.cin, 2, 2, 2] : [unit.cin, unit.cout, 2, 2, 2];
  const entries: Entry[] = [
    { key: `${unit.convKey}.weight`, torchShape: convShape, role: 'weight' },
    { key: `${unit.convKey}.bias`, torchShape: [unit.cout], role: 'bias' },
  ];
  if (unit.normKey && (normalization === 'batchnorm' || normalization === 'groupnorm')) {
    entries.push({ key: `${unit.normKey}.weight`, torchShape: [unit.cout], role: 'normWeight' });
    entries.push({ key: `${unit.normKey}.bias`, torchShape: [unit.cout], role: 'normBias' });
  }
  if (unit.normKey && normalization === 'batchnorm') {
    entries.push({ key: `${unit.normKey}.running_mean`, torchShape: [unit.cout], role: 'runningMean' });
    entries.push({ key: `${unit.normKey}.running_var`, torchShape: [unit.cout], role: 'runningVar' });
    entries.push({ key: `${unit.normKey}.num_batches_tracked`, torchShape: [], role: 'batchesTracked' });
  }
  return entries;
}

/** Validates a config; a bad value is a TracocoError naming the field. */
export function checkVNetConfig(config: VNetConfig, source = 'VNet config'): VNetConfig {
  const positive: (keyof VNetConfig)[] = ['inChannels', 'classes', 'filters'];
  for (const field of positive) {
    const v = config[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new TracocoError(`expected a positive integer, got ${String(v)}`, { file: source, field });
    }
  }
  if (!(NORMALIZATIONS as readonly string[]).includes(config.normalization)) {
    throw new TracocoError(`expected one of ${NORMALIZATIONS.join(', ')}, got '${String(config.normalization)}'`, { file: source, field: 'normalization' });
  }
  if (config.normalization === 'groupnorm' && config.filters % GROUP_NORM_GROUPS !== 0) {
    throw new TracocoError(`groupnorm uses ${GROUP_NORM_GROUPS} groups, so filters must be a multiple of ${GROUP_NORM_GROUPS} (got ${config.filters})`, { file: source, field: 'filters' });
  }
  return config;
}

export interface ForwardOptions {
  training: boolean;
  /** Dropout3d randomness in training: one seeded stream, or one per sample of the batch. */
  dropout?: Random | readonly Random[];
  /** Training mode only: false normalises with batch statistics but leaves the running statistics alone. */
  updateStatistics?: boolean;
}

type Mode = 'eval' | 'train' | 'train+update';

export class VNet extends StoredNetwork<VNetConfig> {
  readonly architecture = 'vnet' as const;
  private readonly blocks: Map<string, Unit[]>;
  private programCache: { version: readonly object[]; program: InferenceProgram; folded: tf.Tensor[] } | null = null;

  private constructor(config: VNetConfig, values: ReadonlyMap<string, LayoutValue>) {
    super({ ...config }, new ParameterStore(VNet.entriesOf(config), values, 'vnet'), `VNet (${describeConfig(config)})`);
    this.blocks = new Map(vnetBlocks(config).map((b) => [b.name, blockUnits(b, config.normalization)]));
  }

  private static entriesOf(config: VNetConfig): Entry[] {
    const entries = vnetBlocks(config).flatMap((b) => blockUnits(b, config.normalization).flatMap((u) => unitEntries(u, config.normalization)));
    entries.push({ key: 'out_conv.weight', torchShape: [config.classes, config.filters, 1, 1, 1], role: 'weight' });
    entries.push({ key: 'out_conv.bias', torchShape: [config.classes], role: 'bias' });
    return entries;
  }

  /** A VNet with PyTorch's default initialisation drawn from `seed` (entries in state_dict order). */
  static create(config: VNetConfig, seed: number): VNet {
    checkVNetConfig(config);
    const random = new Random(seed);
    const values = new Map<string, LayoutValue>();
    const entries = VNet.entriesOf(config);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.role === 'weight') {
        const bias = entries[i + 1]!;
        const init = torchDefaultConvInit(random, e.torchShape, bias.torchShape[0]!);
        values.set(e.key, torchToTfjs(init.weight, e.torchShape));
        values.set(bias.key, { data: init.bias, shape: bias.torchShape });
        i++;
        continue;
      }
      const fill = e.role === 'normWeight' || e.role === 'runningVar' ? 1 : 0;
      values.set(e.key, { data: new Float32Array(elementCount(e.torchShape)).fill(fill), shape: e.torchShape });
    }
    return new VNet(config, values);
  }

  /** A VNet holding the weights of `sd` (strict, see loadStateDict). */
  static fromStateDict(config: VNetConfig, sd: StateDict, source: string): VNet {
    checkVNetConfig(config, source);
    return new VNet(config, checkedValues(VNet.entriesOf(config), sd, source, `VNet (${describeConfig(config)})`));
  }

  /**
   * Logits `[N, x, y, z, classes]`. Training mode normalises with batch statistics and, unless
   * `updateStatistics` is false, updates the BN running statistics (like PyTorch, also without a
   * gradient tape). Dropout (training only) draws from `dropout`: one stream, or one per sample.
   */
  forward(x: tf.Tensor5D, opts: ForwardOptions): tf.Tensor5D {
    this.checkInput(x);
    const training = opts.training;
    const drop = training && this.config.dropout ? opts.dropout : undefined;
    if (training && this.config.dropout && !drop) {
      throw new Error('VNet.forward: training with dropout needs a seeded Random in opts.dropout');
    }
    if (Array.isArray(drop) && drop.length !== x.shape[0]) {
      throw new Error(`VNet.forward: ${drop.length} dropout streams for a batch of ${x.shape[0]}`);
    }
    const mode: Mode = training ? (opts.updateStatistics === false ? 'train' : 'train+update') : 'eval';
    return tf.tidy(() => {
      if (mode === 'eval' && FOLDABLE.has(this.config.normalization)) return runInferenceProgram(x, this.foldedProgram());
      const x9 = vnetGraph<tf.Tensor5D>(
        x,
        (name, input) => this.blocks.get(name)!.reduce((h, u) => this.unit(u, h, mode), input),
        (name, input, skip) => this.unit(this.blocks.get(name)![0]!, input, mode, skip),
        (t) => (drop ? dropout3d(t, DROPOUT_P, drop) : t),
      );
      const [outWeight, outBias] = [this.store.param<tf.Tensor5D>('out_conv.weight'), this.store.param<tf.Tensor1D>('out_conv.bias')];
      return mode === 'eval' ? conv3dBiasInference(x9, outWeight, outBias, 1, false) : conv3dBias(x9, outWeight, outBias, 1);
    });
  }

  /**
   * The eval forward (batchnorm folded, or no normalisation) as an inference program: each unit a
   * fused conv + bias + ReLU step, each up unit also adding its skip. Tensors are the caller's to
   * dispose (call inside tf.tidy).
   */
  inferenceProgram(): InferenceProgram {
    if (!FOLDABLE.has(this.config.normalization)) {
      throw new TracocoError(`a VNet with ${this.config.normalization} has no inference program (its statistics depend on the input)`);
    }
    const program = new InferenceProgramBuilder();
    const step = (u: Unit, input: number, skip?: number): number => {
      const { weight, bias } = this.evalWeights(u);
      if (u.kind === 'up') return program.up(input, weight, bias, skip!);
      return program.conv(input, weight, bias, u.kind === 'down' ? 2 : 1, true);
    };
    const x9 = vnetGraph<number>(
      0,
      (name, input) => this.blocks.get(name)!.reduce((a, u) => step(u, a), input),
      (name, input, skip) => step(this.blocks.get(name)![0]!, input, skip),
      (a) => a,
    );
    program.conv(x9, this.store.param<tf.Tensor5D>('out_conv.weight'), this.store.param<tf.Tensor1D>('out_conv.bias'), 1, false);
    return program.build();
  }

  /**
   * `inferenceProgram()`, folded again only when a parameter or running statistic has been assigned
   * since the last call (an assign gives a variable new data), so a sliding-window evaluation folds
   * once per volume, not once per window. The folded tensors live until then, or `dispose()`.
   */
  private foldedProgram(): InferenceProgram {
    const version = [...this.params.values(), ...this.buffers.values()].map((v) => v.dataId);
    const cached = this.programCache;
    if (cached && cached.version.length === version.length && cached.version.every((id, i) => id === version[i])) return cached.program;
    this.disposeProgramCache();
    // Called inside forward's tidy, which disposes the folding's intermediates; the results are kept.
    const program = this.inferenceProgram();
    const variables = new Set<tf.Tensor>([...this.params.values()]);
    const folded = [...program.weights, ...program.biases].filter((t) => !variables.has(t));
    for (const t of folded) tf.keep(t);
    this.programCache = { version, program, folded };
    return program;
  }

  private disposeProgramCache(): void {
    this.programCache?.folded.forEach((t) => t.dispose());
    this.programCache = null;
  }

  override dispose(): void {
    this.disposeProgramCache();
    super.dispose();
  }

  /** A unit's conv filter and bias for inference: batchnorm folded in, or as stored. */
  private evalWeights(u: Unit): { weight: tf.Tensor5D; bias: tf.Tensor1D } {
    const weight = this.store.param<tf.Tensor5D>(`${u.convKey}.weight`);
    const bias = this.store.param<tf.Tensor1D>(`${u.convKey}.bias`);
    if (this.config.normalization !== 'batchnorm' || !u.normKey) return { weight, bias };
    const norm = {
      gamma: this.store.param<tf.Tensor1D>(`${u.normKey}.weight`),
      beta: this.store.param<tf.Tensor1D>(`${u.normKey}.bias`),
      runningMean: this.buffers.get(`${u.normKey}.running_mean`)! as tf.Variable<tf.Rank.R1>,
      runningVar: this.buffers.get(`${u.normKey}.running_var`)! as tf.Variable<tf.Rank.R1>,
    };
    return foldBatchNorm(weight, bias, norm, u.kind === 'up' ? 'deconv' : 'conv');
  }

  private checkInput(x: tf.Tensor): void {
    const [, d, h, w, c] = x.shape;
    if (x.rank !== 5 || c !== this.config.inChannels) {
      throw new TracocoError(`VNet input must be [N, x, y, z, ${this.config.inChannels}], got [${x.shape.join(', ')}]`);
    }
    if ([d, h, w].some((s) => s! % SPATIAL_MULTIPLE !== 0)) {
      throw new TracocoError(`VNet input size ${d}x${h}x${w} is not a multiple of ${SPATIAL_MULTIPLE} on every axis`);
    }
  }

  /** One unit; with `skip`, its output plus `skip`. */
  private unit(u: Unit, x: tf.Tensor5D, mode: Mode, skip?: tf.Tensor5D): tf.Tensor5D {
    const y = this.unitOutput(u, x, mode);
    return skip ? tf.add(y, skip) : y;
  }

  /** The unit's output in training, or in eval with statistics of the input (instance, group norm). */
  private unitOutput(u: Unit, x: tf.Tensor5D, mode: Mode): tf.Tensor5D {
    const weight = this.store.param<tf.Tensor5D>(`${u.convKey}.weight`);
    const bias = this.store.param<tf.Tensor1D>(`${u.convKey}.bias`);
    const linear = (w: tf.Tensor5D, b: tf.Tensor1D, applyBias: BiasOp = addChannelBias): tf.Tensor5D =>
      u.kind === 'up' ? upsample2x(x, w, b, applyBias) : conv3dBias(x, w, b, u.kind === 'down' ? 2 : 1, applyBias);
    const norm = this.config.normalization;
    if (norm === 'none' || !u.normKey) return tf.relu(linear(weight, bias));
    if (norm === 'instancenorm') return instanceNormRelu(linear(weight, bias, cancelledBias), NORM_EPSILON);
    const gamma = this.store.param<tf.Tensor1D>(`${u.normKey}.weight`);
    const beta = this.store.param<tf.Tensor1D>(`${u.normKey}.bias`);
    if (norm === 'groupnorm') return tf.relu(groupNorm(linear(weight, bias), gamma, beta, GROUP_NORM_GROUPS));
    const runningMean = this.buffers.get(`${u.normKey}.running_mean`)! as tf.Variable<tf.Rank.R1>;
    const runningVar = this.buffers.get(`${u.normKey}.running_var`)! as tf.Variable<tf.Rank.R1>;
    // Batch statistics cancel the bias; the running mean still tracks conv + bias, as PyTorch's.
    const z = linear(weight, bias, cancelledBias);
    const perChannel = z.size / u.cout;
    if (perChannel <= 1) {
      throw new TracocoError(`batchnorm ${u.normKey} needs more than one value per channel in training (input too small)`);
    }
    const batchesTracked = this.buffers.get(`${u.normKey}.num_batches_tracked`)!;
    const updateRunningStatistics = (mean: tf.Tensor1D, variance: tf.Tensor1D) => {
      // PyTorch: running stats use momentum 0.1 and the unbiased variance.
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - BATCH_NORM_MOMENTUM), tf.mul(tf.add(mean, bias), BATCH_NORM_MOMENTUM)));
      const unbiased = tf.mul(variance, perChannel / (perChannel - 1));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - BATCH_NORM_MOMENTUM), tf.mul(unbiased, BATCH_NORM_MOMENTUM)));
      batchesTracked.assign(tf.add(batchesTracked, tf.scalar(1, 'int32')));
    };
    return batchNormTrain(z, gamma, beta, {
      epsilon: NORM_EPSILON,
      relu: true,
      onStatistics: mode === 'train+update' ? updateRunningStatistics : undefined,
    });
  }
}

function describeConfig(c: VNetConfig): string {
  return `n_filters ${c.filters}, n_classes ${c.classes}, n_channels ${c.inChannels}, ${c.normalization}`;
}
