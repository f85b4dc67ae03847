/**
 * The Medical Segmentation Decathlon layout (GUIDE §4): `dataset.json` lists `training` cases as
 * `{image, label}` and `test` cases as plain image paths (unlabelled) or `{image, label}` objects
 * (labelled, as `synth` writes them); an optional `validation` list has the training form. Paths
 * are relative to the json. A case's id is its image file name without `.nii.gz` / `.nii`; one id
 * names one image across the dataset.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileError, TracocoError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export type MsdSplitName = 'training' | 'validation' | 'test';

/** One case with absolute file paths. */
export interface MsdCase {
  id: string;
  image: string;
  label: string | null;
}

export interface MsdDataset {
  /** Absolute path of dataset.json. */
  file: string;
  name: string | null;
  /** `labels` as written (`{"0": "background", ...}`), or null. */
  labels: Record<string, string> | null;
  training: MsdCase[];
  test: MsdCase[];
  /** null when dataset.json has no `validation` list. */
  validation: MsdCase[] | null;
}

/** An entry as written in dataset.json: paths relative to it. */
export interface MsdEntry {
  image: string;
  label: string;
}

export interface MsdDatasetJson {
  name: string;
  description?: string;
  reference?: string;
  licence?: string;
  release?: string;
  tensorImageSize?: string;
  modality?: Record<string, string>;
  labels: Record<string, string>;
  /** Default: the length of `training` / `test`. */
  numTraining?: number;
  numTest?: number;
  training: MsdEntry[];
  test: (string | MsdEntry | { image: string; label?: string })[];
  validation?: MsdEntry[];
}

export const MSD_JSON = 'dataset.json';

/**
 * Reads and checks dataset.json: entry shapes, unique ids, and that every listed file exists
 * (a missing one is reported with its path and the json field that names it).
 */
export function readMsdDatasetJson(path: string): MsdDataset {
  const file = resolve(path);
  const doc = parseJson(file);
  const dir = dirname(file);
  // An id may appear in several splits (e.g. validation drawn from training) only for the same files.
  const seen = new Map<string, { field: string; image: string }>();
  const split = (name: MsdSplitName, labelRequired: boolean): MsdCase[] | null => {
    const entries = doc[name];
    if (entries === undefined) return null;
    if (!Array.isArray(entries)) throw new TracocoError('expected a list of entries', { file, field: name });
    return entries.map((entry, i) => {
      const c = parseEntry(entry, `${name}[${i}]`, labelRequired, dir, file);
      const other = seen.get(c.id);
      if (other && other.image !== c.image) {
        throw new TracocoError(`case id '${c.id}' (from the image file name) is also used by ${other.field} for another file`, {
          file,
          field: `${name}[${i}].image`,
        });
      }
      seen.set(c.id, { field: `${name}[${i}]`, image: c.image });
      return c;
    });
  };
  const training = split('training', true);
  if (!training) throw new TracocoError("missing the 'training' list", { file, field: 'training' });
  const test = split('test', false) ?? [];
  const validation = split('validation', true);
  return {
    file,
    name: typeof doc.name === 'string' ? doc.name : null,
    labels: parseLabels(doc.labels, file),
    training,
    test,
    validation,
  };
}

/** Writes `dir/dataset.json` atomically (the directory must exist). */
export async function writeMsdDatasetJson(dir: string, spec: MsdDatasetJson): Promise<void> {
  const doc = {
    name: spec.name,
    description: spec.description ?? '',
    ...(spec.reference !== undefined && { reference: spec.reference }),
    ...(spec.licence !== undefined && { licence: spec.licence }),
    ...(spec.release !== undefined && { release: spec.release }),
    tensorImageSize: spec.tensorImageSize ?? '3D',
    ...(spec.modality !== undefined && { modality: spec.modality }),
    labels: spec.labels,
    numTraining: spec.numTraining ?? spec.training.length,
    numTest: spec.numTest ?? spec.test.length,
    training: spec.training,
    test: spec.test,
    ...(spec.validation !== undefined && { validation: spec.validation }),
  };
  await writeFileAtomic(join(dir, MSD_JSON), JSON.stringify(doc, null, 2) + '\n');
}

/** `la_003.nii.gz` -> `la_003`. */
export function caseIdOfImage(imagePath: string): string {
  const name = basename(imagePath);
  const nifti = /^(.*)\.nii(\.gz)?$/i.exec(name);
  if (nifti) return nifti[1]!;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

function parseJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TracocoError('file not found', { file });
    throw fileError(file, 'cannot read dataset.json', err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fileError(file, 'invalid JSON', err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TracocoError('expected a JSON object', { file });
  return doc as Record<string, unknown>;
}

function parseEntry(entry: unknown, field: string, labelRequired: boolean, dir: string, file: string): MsdCase {
  let image: unknown;
  let label: unknown;
  if (typeof entry === 'string' && !labelRequired) {
    image = entry;
  } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    ({ image, label } = entry as { image?: unknown; label?: unknown });
  } else {
    const expected = labelRequired ? 'an {image, label} object' : 'an image path or an {image, label} object';
    throw new TracocoError(`expected ${expected}`, { file, field });
  }
  if (typeof image !== 'string' || image === '') throw new TracocoError('expected an image path', { file, field: `${field}.image` });
  if (label !== undefined && label !== null && (typeof label !== 'string' || label === '')) {
    throw new TracocoError('expected a label path', { file, field: `${field}.label` });
  }
  if (labelRequired && typeof label !== 'string') throw new TracocoError('missing the label path', { file, field: `${field}.label` });
  const c: MsdCase = { id: caseIdOfImage(image), image: resolve(dir, image), label: typeof label === 'string' ? resolve(dir, label) : null };
  for (const [key, p] of [['image', c.image], ['label', c.label]] as const) {
    if (p !== null && !existsSync(p)) {
      throw new TracocoError(`file listed in ${file} (field '${field}.${key}') not found`, { file: p });
    }
  }
  return c;
}

function parseLabels(labels: unknown, file: string): Record<string, string> | null {
  if (labels === undefined) return null;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string')) {
    throw new TracocoError('expected an object of label names, e.g. {"0": "background", "1": "organ"}', { file, field: 'labels' });
  }
  return labels as Record<string, string>;
}
