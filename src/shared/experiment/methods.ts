/**
 * The methods an experiment compares (GUIDE §10), each a set of overrides of one base config, so
 * every method gets the same model, budget, augmentation and evaluation. Ablations drop one part
 * of the published method each.
 */
import type { ConfigInput, TracocoConfig } from '../config/index.js';
import { deepMerge, validateConfig } from '../config/load.js';
import { iterationsPerEpoch } from '../data/batch-sampler.js';
import { TracocoError } from '../errors.js';
import { commaList } from '../names.js';

export interface MethodSpec {
  /** What the table calls it. */
  label: string;
  /** Overrides of the base config. */
  overrides: ConfigInput;
  /** Every training case labelled (the supervised ceiling). */
  labelAll?: boolean;
}

const PUBLISHED: ConfigInput = { train: { semi_supervised: true, pairing: 'intra', kl: 'reference', cutmix: true, crc: true, translation_loss: true, pseudo_labels: 'peer' } };
const published = (train: NonNullable<ConfigInput['train']>): ConfigInput => deepMerge(PUBLISHED as never, { train } as never) as ConfigInput;

export const METHODS = {
  supervised: { label: 'supervised (labelled cases only)', overrides: { train: { semi_supervised: false } } },
  'supervised-all': { label: 'supervised-all (every case labelled: ceiling)', overrides: { train: { semi_supervised: false } }, labelAll: true },
  tracoco: { label: 'TraCoCo (published: intra pairing, reference KL)', overrides: PUBLISHED },
  'tracoco-cross': { label: 'TraCoCo, cross pairing + class KL', overrides: published({ pairing: 'cross', kl: 'class' }) },
  'no-translation': { label: 'TraCoCo without the translation term', overrides: published({ translation_loss: false }) },
  'ce-instead-of-crc': { label: 'TraCoCo with plain CE instead of CRC', overrides: published({ crc: false }) },
  'no-cutmix': { label: 'TraCoCo without CutMix', overrides: published({ cutmix: false }) },
  // Not a method: what the published losses make of perfect pseudo-labels in the same budget.
  'oracle-pseudo-labels': { label: 'TraCoCo trained on ground-truth pseudo-labels (upper bound)', overrides: published({ pseudo_labels: 'ground-truth' }) },
} as const satisfies Record<string, MethodSpec>;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** Parses a comma-separated method list, naming an unknown one. */
export function parseMethods(list: string): MethodName[] {
  const names = commaList(list);
  if (names.length === 0) throw new TracocoError('no methods given', { flag: '--methods' });
  for (const n of names) {
    if (!(n in METHODS)) throw new TracocoError(`unknown method '${n}' (expected ${METHOD_NAMES.join(', ')})`, { flag: '--methods' });
  }
  return [...new Set(names)] as MethodName[];
}

/** Models a method trains (and the table reports). */
export function methodModels(config: TracocoConfig): (1 | 2)[] {
  return config.train.semi_supervised ? [1, 2] : [1];
}

/**
 * One run's config: the base with the method's overrides and the seed. Evaluation cadence is
 * fixed in iterations from the base's labelled count, so every method is evaluated at the same
 * iterations (epochs differ when `supervised-all` labels every case).
 */
export function methodConfig(base: TracocoConfig, method: MethodName, seed: number, trainCases: number): TracocoConfig {
  const spec: MethodSpec = METHODS[method];
  const every = base.eval.every_epochs !== null ? base.eval.every_epochs * iterationsPerEpoch(base.data.labeled, base.train.batch_size) : base.eval.every;
  let merged = deepMerge(structuredClone(base) as never, spec.overrides as never);
  merged = deepMerge(merged, { seed, eval: { every, every_epochs: null } } as never);
  if (spec.labelAll) merged = deepMerge(merged, { data: { labeled: trainCases, labeled_ids: null, unlabeled: null } } as never);
  return validateConfig(merged, `method '${method}'`);
}
