/**
 * The ACDC 2D UNet (GUIDE §5b, the published `UNet` of SSL4MIS) on NHWC slices, with PyTorch's
 * state_dict names:
 *
 *   ConvBlock `conv_conv`: 0 Conv2d 3×3 pad 1, 1 BatchNorm2d, 2 LeakyReLU(0.01), 3 Dropout(p),
 *     4 Conv2d 3×3 pad 1, 5 BatchNorm2d, 6 LeakyReLU;
 *   encoder: `in_conv` then `down1..4` = MaxPool2d(2) + ConvBlock (`maxpool_conv.1`), channels
 *     c0..c4 (16..256), dropout p0..p4 (0.05, 0.1, 0.2, 0.3, 0.5);
 *   decoder `upK`: `conv1x1` to the skip's channels, bilinear ×2 (align_corners true), concat
 *     [skip, up], ConvBlock without dropout (`conv.conv_conv`); `out_conv` Conv2d 3×3 pad 1.
 *
 * Internally a batch of slices runs as [N, 1, H, W, C] (see unet-layers.ts). BatchNorm follows
 * PyTorch: batch statistics in training with running statistics updated (momentum 0.1, unbiased
 * variance), running statistics in eval.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { Random } from '../random.js';
import { batchNormTrain } from './batchnorm.js';
import { cancelledBias, foldBatchNorm, NORM_EPSILON } from './layers.js';
import type { StateDict } from './layout.js';
import { checkedValues, initialValues, ParameterStore, requireShape, torchDefaultWeight, type StateEntry, StoredNetwork } from './params.js';
import { upsampleLinear2x } from './resize.js';
import { concatAxis, convSame, dropoutElementwise, leakyRelu, maxPool2x } from './unet-layers.js';
import { BATCH_NORM_MOMENTUM, type ForwardOptions } from './vnet.js';

export interface UNet2DConfig {
  inChannels: number;
  classes: number;
  /** Channels of the five levels (published: 16, 32, 64, 128, 256). */
  channels: readonly number[];
  /** Dropout probability in each encoder block (published: 0.05, 0.1, 0.2, 0.3, 0.5). */
  dropout: readonly number[];
}

export const UNET2D_CHANNELS: readonly number[] = [16, 32, 64, 128, 256];
export const UNET2D_DROPOUT: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.5];
export const LEAKY_RELU_SLOPE = 0.01;
/** Four 2× poolings: height and width must be multiples of this. */
export const UNET2D_SPATIAL_MULTIPLE = 16;

const ENCODER_BLOCKS = ['encoder.in_conv', 'encoder.down1.maxpool_conv.1', 'encoder.down2.maxpool_conv.1', 'encoder.down3.maxpool_conv.1', 'encoder.down4.maxpool_conv.1'].map(
  (p) => `${p}.conv_conv`,
);
const UP_BLOCKS = ['decoder.up1', 'decoder.up2', 'decoder.up3', 'decoder.up4'];

/** State_dict entries in module order. */
export function unet2dEntries(config: UNet2DConfig): StateEntry[] {
  const ch = config.channels;
  const entries: StateEntry[] = [];
  const conv = (key: string, cout: number, cin: number, k: number) => {
    entries.push({ key: `${key}.weight`, torchShape: [cout, cin, k, k], role: 'weight' });
    entries.push({ key: `${key}.bias`, torchShape: [cout], role: 'bias' });
  };
  const block = (prefix: string, cin: number, cout: number) => {
    for (const [convIndex, inputs] of [[0, cin], [4, cout]] as const) {
      conv(`${prefix}.${convIndex}`, cout, inputs, 3);
      const bn = `${prefix}.${convIndex + 1}`;
      entries.push({ key: `${bn}.weight`, torchShape: [cout], role: 'normWeight' });
      entries.push({ key: `${bn}.bias`, torchShape: [cout], role: 'normBias' });
      entries.push({ key: `${bn}.running_mean`, torchShape: [cout], role: 'runningMean' });
      entries.push({ key: `${bn}.running_var`, torchShape: [cout], role: 'runningVar' });
      entries.push({ key: `${bn}.num_batches_tracked`, torchShape: [], role: 'batchesTracked' });
    }
  };
  ENCODER_BLOCKS.forEach((prefix, level) => block(prefix, level === 0 ? config.inChannels : ch[level - 1]!, ch[level]!));
  UP_BLOCKS.forEach((prefix, i) => {
    const [deep, skip] = [ch[4 - i]!, ch[3 - i]!];
    conv(`${prefix}.conv1x1`, skip, deep, 1);
    block(`${prefix}.conv.conv_conv`, 2 * skip, skip);
  });
  conv('decoder.out_conv', config.classes, ch[0]!, 3);
  return entries;
}

/** Validates a config; a bad value is a TracocoError naming the field. */
export function checkUNet2DConfig(config: UNet2DConfig, source = 'UNet2D config'): UNet2DConfig {
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  for (const field of ['inChannels', 'classes'] as const) {
    if (!positive(config[field])) throw new TracocoError(`expected a positive integer, got ${String(config[field])}`, { file: source, field });
  }
  if (!Array.isArray(config.channels) || config.channels.length !== 5 || !config.channels.every(positive)) {
    throw new TracocoError(`expected 5 positive integers, got ${JSON.stringify(config.channels)}`, { file: source, field: 'channels' });
  }
  if (!Array.isArray(config.dropout) || config.dropout.length !== 5 || !config.dropout.every((p) => typeof p === 'number' && p >= 0 && p < 1)) {
    throw new TracocoError(`expected 5 probabilities in [0, 1), got ${JSON.stringify(config.dropout)}`, { file: source, field: 'dropout' });
  }
  return config;
}

function describe(c: UNet2DConfig): string {
  return `UNet2D (channels ${c.channels.join('/')}, classes ${c.classes}, in_channels ${c.inChannels})`;
}

type Mode = 'eval' | 'train' | 'train+update';

export class UNet2D extends StoredNetwork<UNet2DConfig> {
  readonly architecture = 'unet2d' as const;

  private constructor(config: UNet2DConfig, store: ParameterStore) {
    super({ ...config, channels: [...config.channels], dropout: [...config.dropout] }, store, describe(config));
  }

  /** PyTorch's default initialisation (the published network keeps it) drawn from `seed`. */
  static create(config: UNet2DConfig, seed: number): UNet2D {
    checkUNet2DConfig(config);
    const entries = unet2dEntries(config);
    return new UNet2D(config, new ParameterStore(entries, initialValues(entries, new Random(seed), torchDefaultWeight), 'unet2d'));
  }

  /** A UNet2D holding the weights and statistics of `sd`, strict like PyTorch's `load_state_dict`. */
  static fromStateDict(config: UNet2DConfig, sd: StateDict, source: string): UNet2D {
    checkUNet2DConfig(config, source);
    const entries = unet2dEntries(config);
    return new UNet2D(config, new ParameterStore(entries, checkedValues(entries, sd, source, describe(config)), 'unet2d'));
  }

  /** inChannels, classes and channels from the shapes of `sd` (dropout is not stored in it). */
  static inferConfig(sd: StateDict, source: string): Omit<UNet2DConfig, 'dropout'> {
    const firstConv = ENCODER_BLOCKS.map((prefix) => requireShape(sd, `${prefix}.0.weight`, 4, source));
    const [classes] = requireShape(sd, 'decoder.out_conv.weight', 4, source) as [number];
    return { inChannels: firstConv[0]![1]!, classes, channels: firstConv.map((s) => s[0]!) };
  }

  /**
   * Logits `[N, H, W, classes]` of slices `[N, H, W, inChannels]` (H, W multiples of 16). Training
   * normalises with batch statistics and, unless `updateStatistics` is false, updates the running
   * statistics; dropout (training only) draws from `opts.dropout`, one stream or one per sample.
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor4D {
    this.checkInput(x);
    const dropping = opts.training && this.config.dropout.some((p) => p > 0);
    if (dropping && !opts.dropout) throw new TracocoError('UNet2D.forward: training with dropout needs a seeded Random in opts.dropout');
    const drop = dropping ? opts.dropout : undefined;
    const mode: Mode = opts.training ? (opts.updateStatistics === false ? 'train' : 'train+update') : 'eval';
    const [n, height, width, c] = x.shape;
    return tf.tidy(() => {
      const skips: tf.Tensor5D[] = [];
      let h = tf.reshape(x, [n, 1, height, width, c]) as tf.Tensor5D;
      for (const [level, prefix] of ENCODER_BLOCKS.entries()) {
        h = this.block(prefix, level === 0 ? h : maxPool2x(h, true), mode, drop && this.config.dropout[level]! > 0 ? { p: this.config.dropout[level]!, random: drop } : null);
        skips.push(h);
      }
      skips.pop();
      for (const prefix of UP_BLOCKS) {
        const reduced = convSame(h, this.store.param(`${prefix}.conv1x1.weight`), this.store.param(`${prefix}.conv1x1.bias`));
        const up = upsampleLinear2x(reduced, { axes: [2, 3], alignCorners: true });
        h = this.block(`${prefix}.conv.conv_conv`, concatAxis([skips.pop()!, up], 4), mode, null);
      }
      const logits = convSame(h, this.store.param('decoder.out_conv.weight'), this.store.param('decoder.out_conv.bias'));
      return tf.reshape(logits, [n, height, width, this.config.classes]) as tf.Tensor4D;
    });
  }

  /** ConvBlock: conv → BN → LeakyReLU → Dropout → conv → BN → LeakyReLU. */
  private block(prefix: string, x: tf.Tensor5D, mode: Mode, dropout: { p: number; random: Random | readonly Random[] } | null): tf.Tensor5D {
    const first = this.convNorm(`${prefix}.0`, `${prefix}.1`, x, mode);
    return this.convNorm(`${prefix}.4`, `${prefix}.5`, dropout ? dropoutElementwise(first, dropout.p, dropout.random) : first, mode);
  }

  /** Conv2d 3×3 → BatchNorm2d → LeakyReLU. */
  private convNorm(convKey: string, normKey: string, x: tf.Tensor5D, mode: Mode): tf.Tensor5D {
    const weight = this.store.param<tf.Tensor4D>(`${convKey}.weight`);
    const bias = this.store.param<tf.Tensor1D>(`${convKey}.bias`);
    const gamma = this.store.param<tf.Tensor1D>(`${normKey}.weight`);
    const beta = this.store.param<tf.Tensor1D>(`${normKey}.bias`);
    const runningMean = this.store.buffer<tf.Tensor1D>(`${normKey}.running_mean`);
    const runningVar = this.store.buffer<tf.Tensor1D>(`${normKey}.running_var`);
    if (mode === 'eval') {
      const folded = foldBatchNorm(tf.expandDims(weight, 0) as tf.Tensor5D, bias, { gamma, beta, runningMean, runningVar }, 'conv');
      return leakyRelu(convSame(x, folded.weight, folded.bias), LEAKY_RELU_SLOPE);
    }
    // Batch statistics cancel the bias; the running mean still tracks conv + bias, as PyTorch's.
    const z = convSame(x, weight, bias, cancelledBias);
    const perChannel = z.size / z.shape[4];
    if (perChannel <= 1) throw new TracocoError(`batchnorm ${normKey} needs more than one value per channel in training (input too small)`);
    const batchesTracked = this.store.buffer(`${normKey}.num_batches_tracked`);
    const update = (mean: tf.Tensor1D, variance: tf.Tensor1D) => {
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - BATCH_NORM_MOMENTUM), tf.mul(tf.add(mean, bias), BATCH_NORM_MOMENTUM)));
      const unbiased = tf.mul(variance, perChannel / (perChannel - 1));
      runningVar.assign(tf.add(tf.mul(runningVar, 1 - BATCH_NORM_MOMENTUM), tf.mul(unbiased, BATCH_NORM_MOMENTUM)));
      batchesTracked.assign(tf.add(batchesTracked, tf.scalar(1, 'int32')));
    };
    const normalized = batchNormTrain(z, gamma, beta, { epsilon: NORM_EPSILON, relu: false, onStatistics: mode === 'train+update' ? update : undefined });
    return leakyRelu(normalized, LEAKY_RELU_SLOPE);
  }

  private checkInput(x: tf.Tensor): void {
    const [, h, w, c] = x.shape;
    if (x.rank !== 4 || c !== this.config.inChannels) {
      throw new TracocoError(`UNet2D input must be [N, H, W, ${this.config.inChannels}], got [${x.shape.join(', ')}]`);
    }
    if ([h, w].some((s) => s! % UNET2D_SPATIAL_MULTIPLE !== 0 || s === 0)) {
      throw new TracocoError(`UNet2D input size ${h}x${w} is not a positive multiple of ${UNET2D_SPATIAL_MULTIPLE} on both axes`);
    }
  }
}
