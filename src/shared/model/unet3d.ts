/**
 * The BraTS19 3D UNet (GUIDE §5b, the published `unet_3D` with feature_scale 64/filters) on NDHWC
 * tensors, with PyTorch's state_dict names:
 *
 *   conv1..conv4, center: UnetConv3 = (Conv3d 3³ pad 1 → InstanceNorm3d → ReLU) × 2, keys
 *     `<block>.conv1.0.*`, `<block>.conv2.0.*` (InstanceNorm3d has no affine or running statistics);
 *   MaxPool3d(2) between them; channels f, 2f, 4f, 8f, 16f;
 *   up_concat4..1: trilinear ×2 (align_corners false), concat [skip, up], UnetConv3 → `up_concatK.conv.*`;
 *   Dropout(0.3) element-wise on the centre and on up_concat1's output in training;
 *   final: Conv3d 1³ → classes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { Random } from '../random.js';
import { instanceNormRelu } from './batchnorm.js';
import { cancelledBias, conv3dBias, NORM_EPSILON } from './layers.js';
import type { StateDict } from './layout.js';
import { checkedValues, initialValues, kaimingNormalWeight, ParameterStore, requireShape, type StateEntry, StoredNetwork } from './params.js';
import { trilinearUpsample2x } from './resize.js';
import { concatAxis, convSame, dropoutElementwise, maxPool2x } from './unet-layers.js';
import type { ForwardOptions } from './vnet.js';

export interface UNet3DConfig {
  inChannels: number;
  classes: number;
  /** First level's channels: 64 / feature_scale (16 = the published feature_scale 4). */
  filters: number;
  /** Dropout(p = UNET3D_DROPOUT_P) on the centre and the last decoder features in training. */
  dropout: boolean;
}

export const UNET3D_DROPOUT_P = 0.3;
/** Four 2× poolings: every spatial size must be a multiple of this. */
export const UNET3D_SPATIAL_MULTIPLE = 16;
const ENCODER = ['conv1', 'conv2', 'conv3', 'conv4', 'center'] as const;
const DECODER = ['up_concat4', 'up_concat3', 'up_concat2', 'up_concat1'] as const;

/** Channels of the five levels. */
export function unet3dChannels(filters: number): number[] {
  return [1, 2, 4, 8, 16].map((m) => m * filters);
}

/** State_dict entries in module order. */
export function unet3dEntries(config: UNet3DConfig): StateEntry[] {
  const ch = unet3dChannels(config.filters);
  const entries: StateEntry[] = [];
  const block = (name: string, cin: number, cout: number) => {
    for (const [i, inputs] of [[1, cin], [2, cout]] as const) {
      entries.push({ key: `${name}.conv${i}.0.weight`, torchShape: [cout, inputs, 3, 3, 3], role: 'weight' });
      entries.push({ key: `${name}.conv${i}.0.bias`, torchShape: [cout], role: 'bias' });
    }
  };
  ENCODER.forEach((name, level) => block(name, level === 0 ? config.inChannels : ch[level - 1]!, ch[level]!));
  // up_concatK joins level K-1's skip with the upsampled level K: in = ch[K] + ch[K-1].
  DECODER.forEach((name, i) => block(`${name}.conv`, ch[4 - i]! + ch[3 - i]!, ch[3 - i]!));
  entries.push({ key: 'final.weight', torchShape: [config.classes, ch[0]!, 1, 1, 1], role: 'weight' });
  entries.push({ key: 'final.bias', torchShape: [config.classes], role: 'bias' });
  return entries;
}

/** Validates a config; a bad value is a TracocoError naming the field. */
export function checkUNet3DConfig(config: UNet3DConfig, source = 'UNet3D config'): UNet3DConfig {
  for (const field of ['inChannels', 'classes', 'filters'] as const) {
    const v = config[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new TracocoError(`expected a positive integer, got ${String(v)}`, { file: source, field });
    }
  }
  if (typeof config.dropout !== 'boolean') throw new TracocoError(`expected true or false, got ${String(config.dropout)}`, { file: source, field: 'dropout' });
  return config;
}

function describe(c: UNet3DConfig): string {
  return `UNet3D (filters ${c.filters}, classes ${c.classes}, in_channels ${c.inChannels})`;
}

export class UNet3D extends StoredNetwork<UNet3DConfig> {
  readonly architecture = 'unet3d' as const;

  private constructor(config: UNet3DConfig, store: ParameterStore) {
    super({ ...config }, store, describe(config));
  }

  /** Kaiming-normal conv weights (fan_in, gain √2) and PyTorch-default biases drawn from `seed`. */
  static create(config: UNet3DConfig, seed: number): UNet3D {
    checkUNet3DConfig(config);
    const entries = unet3dEntries(config);
    return new UNet3D(config, new ParameterStore(entries, initialValues(entries, new Random(seed), kaimingNormalWeight), 'unet3d'));
  }

  /** A UNet3D holding the weights of `sd`, strict like PyTorch's `load_state_dict`. */
  static fromStateDict(config: UNet3DConfig, sd: StateDict, source: string): UNet3D {
    checkUNet3DConfig(config, source);
    const entries = unet3dEntries(config);
    return new UNet3D(config, new ParameterStore(entries, checkedValues(entries, sd, source, describe(config)), 'unet3d'));
  }

  /** inChannels, classes and filters from the shapes of `sd` (dropout is not stored in it). */
  static inferConfig(sd: StateDict, source: string): Omit<UNet3DConfig, 'dropout'> {
    const [filters, inChannels] = requireShape(sd, 'conv1.conv1.0.weight', 5, source) as [number, number];
    const [classes] = requireShape(sd, 'final.weight', 5, source) as [number];
    return { inChannels, classes, filters };
  }

  /**
   * Logits `[N, x, y, z, classes]` of `x` `[N, x, y, z, inChannels]` (sizes multiples of 16).
   * Instance statistics are the same in both modes; training only adds the dropout, drawn from
   * `opts.dropout` (one stream, or one per sample).
   */
  forward(x: tf.Tensor5D, opts: ForwardOptions): tf.Tensor5D {
    this.checkInput(x);
    const drop = opts.training && this.config.dropout ? opts.dropout : undefined;
    if (opts.training && this.config.dropout && !drop) {
      throw new TracocoError('UNet3D.forward: training with dropout needs a seeded Random in opts.dropout');
    }
    return tf.tidy(() => {
      const skips: tf.Tensor5D[] = [];
      let h = x;
      for (const [level, name] of ENCODER.entries()) {
        h = this.block(name, level === 0 ? h : maxPool2x(h));
        if (level < 4) skips.push(h);
      }
      if (drop) h = dropoutElementwise(h, UNET3D_DROPOUT_P, drop);
      for (const name of DECODER) {
        h = this.block(`${name}.conv`, concatAxis([skips.pop()!, trilinearUpsample2x(h)], 4));
      }
      if (drop) h = dropoutElementwise(h, UNET3D_DROPOUT_P, drop);
      return conv3dBias(h, this.store.param('final.weight'), this.store.param('final.bias'), 1);
    });
  }

  /** UnetConv3: two (conv → instance norm → ReLU); the norm cancels the conv bias. */
  private block(name: string, x: tf.Tensor5D): tf.Tensor5D {
    let h = x;
    for (const i of [1, 2]) {
      const z = convSame(h, this.store.param(`${name}.conv${i}.0.weight`), this.store.param(`${name}.conv${i}.0.bias`), cancelledBias);
      h = instanceNormRelu(z, NORM_EPSILON);
    }
    return h;
  }

  private checkInput(x: tf.Tensor): void {
    const [, d, h, w, c] = x.shape;
    if (x.rank !== 5 || c !== this.config.inChannels) {
      throw new TracocoError(`UNet3D input must be [N, x, y, z, ${this.config.inChannels}], got [${x.shape.join(', ')}]`);
    }
    if ([d, h, w].some((s) => s! % UNET3D_SPATIAL_MULTIPLE !== 0 || s === 0)) {
      throw new TracocoError(`UNet3D input size ${d}x${h}x${w} is not a positive multiple of ${UNET3D_SPATIAL_MULTIPLE} on every axis`);
    }
  }
}
