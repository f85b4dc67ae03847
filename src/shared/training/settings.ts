/** Maps the validated run config onto the option objects of the data, step and model modules. */
import type { TracocoConfig } from '../config/index.js';
import { TracocoError } from '../errors.js';
import type { AugmentOptions } from '../data/index.js';
import type { VNetConfig } from '../model/index.js';
import type { StepSettings } from './step.js';

export function stepSettingsFrom(config: TracocoConfig): StepSettings {
  const t = config.train;
  // The step computes the `least-likely` form only; refuse `reference` rather than ignore it.
  if (t.crc === 'reference') {
    throw new TracocoError(`'reference' is not supported by the training step yet (use least-likely)`, { field: 'train.crc' });
  }
  return {
    classes: config.data.classes,
    semiSupervised: t.semi_supervised,
    pairing: t.pairing,
    kl: t.kl,
    cutmix: t.cutmix,
    crc: t.crc !== false,
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
