/** Maps the validated run config onto the option objects of the data, step and model modules. */
import type { TracocoConfig } from '../config/index.js';
import { TracocoError } from '../errors.js';
import type { AugmentOptions } from '../data/index.js';
import { UNET2D_DROPOUT, type NetworkSpec, type VNetConfig } from '../model/index.js';
import type { StepSettings } from './step.js';

export function stepSettingsFrom(config: TracocoConfig): StepSettings {
  const t = config.train;
  if (config.model.architecture === 'unet2d') {
    throw new TracocoError('unet2d trains on axial slices (GUIDE §5b), which the training step does not do yet; it can be imported, evaluated and used by predict', { field: 'model.architecture' });
  }
  return {
    classes: config.data.classes,
    semiSupervised: t.semi_supervised,
    pairing: t.pairing,
    kl: t.kl,
    cutmix: t.cutmix,
    cutmixBoth: t.cutmix_both,
    pseudoLabelLcc: t.pseudo_label_lcc,
    pseudoDice: t.pseudo_dice,
    crc: t.crc !== false,
    // false (the plain-CE ablation) computes no CRC; the form is then unused.
    crcForm: t.crc === false ? 'least-likely' : t.crc,
    translationLoss: t.translation_loss,
    threshold: t.threshold,
    negThreshold: t.neg_threshold,
    spatialWeight: t.spatial_weight,
    entropyWeight: t.entropy_weight,
    inputNoise: t.input_noise,
    inputNoiseClamp: t.input_noise_clamp,
    exchangeDtype: t.exchange_dtype,
  };
}

export function augmentOptionsFrom(config: TracocoConfig): Partial<AugmentOptions> {
  const d = config.data;
  return {
    rot90: d.rot_flip,
    flipAxes: d.rot_flip ? [0, 1] : [],
    brightness: d.brightness,
    translation: d.translation,
    minOverlap: d.min_overlap,
    translationOffset: d.translation_offset,
  };
}

export function vnetConfigFrom(config: TracocoConfig): VNetConfig {
  const m = config.model;
  return { inChannels: m.in_channels, classes: config.data.classes, filters: m.filters, normalization: m.normalization, dropout: m.dropout };
}

/** The network of a run config (GUIDE §5b: the UNets' widths double from `filters`). */
export function networkSpecFrom(config: TracocoConfig): NetworkSpec {
  const m = config.model;
  const common = { inChannels: m.in_channels, classes: config.data.classes };
  switch (m.architecture) {
    case 'vnet':
      return { architecture: 'vnet', ...vnetConfigFrom(config) };
    case 'unet3d':
      return { architecture: 'unet3d', ...common, filters: m.filters, dropout: m.dropout };
    case 'unet2d':
      return { architecture: 'unet2d', ...common, channels: [1, 2, 4, 8, 16].map((k) => k * m.filters), dropout: m.dropout ? UNET2D_DROPOUT : UNET2D_DROPOUT.map(() => 0) };
  }
}
