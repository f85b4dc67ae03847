/** Maps the validated run config onto the option objects of the data, step and model modules. */
import type { TracocoConfig } from '../config/index.js';
import { TracocoError } from '../errors.js';
import type { AugmentOptions } from '../data/index.js';
import { ARCHITECTURE_FACTS, UNET2D_DROPOUT, type NetworkSpec, type VNetConfig } from '../model/index.js';
import type { StepSettings } from './step.js';

export function stepSettingsFrom(config: TracocoConfig): StepSettings {
  const t = config.train;
  // A 2D network's patch must be a slice: refused here, before any step.
  sliceSizeFrom(config);
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
    pseudoLabels: t.pseudo_labels,
    threshold: t.threshold,
    negThreshold: t.neg_threshold,
    spatialWeight: t.spatial_weight,
    entropyWeight: t.entropy_weight,
    inputNoise: t.input_noise,
    inputNoiseClamp: t.input_noise_clamp,
    exchangeDtype: t.exchange_dtype,
  };
}

/**
 * The (x, y) a 2D network's axial slices are resized to (GUIDE §5b), or null for a 3D network,
 * which trains on volume crops. A 2D network's patch must have depth 1: it sees one slice.
 */
export function sliceSizeFrom(config: TracocoConfig): readonly [number, number] | null {
  if (ARCHITECTURE_FACTS[config.model.architecture].spatialDims === 3) return null;
  const patch = config.data.patch;
  if (patch[2] !== 1) {
    throw new TracocoError(`${config.model.architecture} trains on axial slices: the patch must be [x, y, 1], got [${patch.join(', ')}]`, { field: 'data.patch' });
  }
  return config.data.slice_size;
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
