/**
 * The phantom kinds `tracoco synth --kind` writes, each with the classes it labels (written as the
 * MSD `labels` of its dataset.json, so the class count can be read from the dataset):
 * - `organ` (phantom.ts): 2 classes, one organ against touching background structures (LA-like);
 * - `cardiac` (phantom-cardiac.ts): 4 classes in the ACDC convention (1 RV, 2 myocardium, 3 LV);
 * - `tumour` (phantom-tumour.ts): 2 classes, several tumour blobs of very different sizes (BraTS-like).
 */
import { TracocoError } from '../errors.js';
import { CARDIAC_LABELS, generateCardiacCase } from './phantom-cardiac.js';
import { generatePhantomCase, type PhantomCase, type PhantomOptions } from './phantom.js';
import { generateTumourCase, TUMOUR_LABELS } from './phantom-tumour.js';

export const PHANTOM_KINDS = ['organ', 'cardiac', 'tumour'] as const;
export type PhantomKind = (typeof PHANTOM_KINDS)[number];

export interface PhantomKindSpec {
  /** MSD `labels`: class index (as a string) -> name, every class from 0 up. */
  labels: Readonly<Record<string, string>>;
  /** MSD `modality` of channel 0. */
  modality: string;
  /** What the cases hold, for the dataset description. */
  summary: string;
  generate(options: PhantomOptions): PhantomCase;
}

export const PHANTOM_KIND_SPECS: Readonly<Record<PhantomKind, PhantomKindSpec>> = {
  organ: {
    labels: { '0': 'background', '1': 'organ' },
    modality: 'MRI',
    summary: 'one organ with an appendage against touching background structures',
    generate: generatePhantomCase,
  },
  cardiac: {
    labels: CARDIAC_LABELS,
    modality: 'MRI',
    summary: 'short-axis heart: right ventricle, myocardium and left ventricle (ACDC classes) with touching atrium, fat, liver and RV wall',
    generate: generateCardiacCase,
  },
  tumour: {
    labels: TUMOUR_LABELS,
    modality: 'FLAIR',
    summary: 'skull-stripped brain with several tumour blobs of very different sizes and tumour-like mimics',
    generate: generateTumourCase,
  },
};

export function isPhantomKind(value: string): value is PhantomKind {
  return (PHANTOM_KINDS as readonly string[]).includes(value);
}

/** The spec of `kind`; throws a TracocoError naming field `kind` for an unknown one. */
export function phantomKindSpec(kind: string): PhantomKindSpec {
  if (!isPhantomKind(kind)) throw new TracocoError(`expected one of ${PHANTOM_KINDS.join(', ')}, got '${kind}'`, { field: 'kind' });
  return PHANTOM_KIND_SPECS[kind];
}

/** Number of classes (background included) a kind labels. */
export function phantomClasses(kind: PhantomKind): number {
  return Object.keys(PHANTOM_KIND_SPECS[kind].labels).length;
}
