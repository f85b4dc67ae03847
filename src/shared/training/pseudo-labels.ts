/**
 * The pseudo-labels one model trains on, from its peer's probabilities of the f crops (GUIDE §5,
 * §5b): optionally only each class's largest connected component (the ACDC filter), then CutMixed
 * like the model's unlabelled input (model 2, or both models with `cutmixBoth`).
 */
import { largestComponentPseudoLabels } from '../metrics/class-components.js';
import { cutMixSlots, type ReplicaBatch } from './replica-batch.js';

export interface PseudoLabelSettings {
  cutmix: boolean;
  cutmixBoth: boolean;
  pseudoLabelLcc: boolean;
}

/** Whether model `role` trains on a CutMix of its unlabelled input and pseudo-labels. */
export function mixesInput(settings: PseudoLabelSettings, role: 1 | 2): boolean {
  return settings.cutmixBoth || (role === 2 && settings.cutmix);
}

/**
 * `values` [B, X, Y, Z, C]. The filter runs on every slot before CutMix, since CutMix can paste
 * any slot of a shard into an unlabelled one; components are those of the uncut crops.
 */
export function pseudoLabelsFor(values: Float32Array, shape: number[], rb: ReplicaBatch, settings: PseudoLabelSettings, role: 1 | 2): Float32Array {
  const filtered = settings.pseudoLabelLcc ? largestComponentPseudoLabels(values, shape) : values;
  return mixesInput(settings, role) ? cutMixSlots(filtered, shape, rb.cutmix) : filtered;
}

/**
 * Labels [B, X, Y, Z] as one-hot probabilities [B, X, Y, Z, C]: the pseudo-labels of
 * `train.pseudo_labels: ground-truth`. Every voxel passes CRC's threshold with p = 1, and the
 * negative term vanishes (its weight, min p, is 0).
 */
export function groundTruthPseudoLabels(labels: Uint8Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + labels[i]!] = 1;
  return out;
}
