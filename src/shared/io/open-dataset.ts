/**
 * Opens a dataset directory in any supported layout and loads validated cases:
 * - MSD: `ROOT/dataset.json` (msd.ts); splits training -> 'train', validation -> 'eval', test -> 'test';
 *   its `labels` declare the classes.
 * - Case lists `ROOT/{train,eval,test}.list` (`val.list`, the reference BraTS name, when there is no
 *   `eval.list`), each case found by list-layouts.ts: the reference HDF5 family (Left Atrium
 *   `ROOT/<id>/mri_norm2.h5`, Pancreas `ROOT/<id>_norm.h5`, BraTS19 `ROOT/<id>.h5`) or ACDC (NIfTI
 *   pairs or HDF5 volumes, 4 classes).
 * Opening reads the lists and checks that every listed file exists, so a broken dataset fails
 * before training starts; `load` reads one case and validates it (validate.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TracocoError } from '../errors.js';
import { spacingAffine, shape3, type Vec3 } from '../volume.js';
import { readCaseList } from './case-list.js';
import type { Case, CaseSource, Dataset, Split } from './dataset.js';
import { readHdf5Case } from './hdf5.js';
import { ACDC_CLASSES, listCaseSources, listLayoutOf, reverseAxes, sliceAxisOf } from './list-layouts.js';
import { MSD_JSON, readMsdDatasetJson } from './msd.js';
import { readNifti } from './nifti.js';
import { checkSameShape, toImageArray, toLabelArray, validateCase } from './validate.js';

export type VolumeFormat = 'nifti' | 'hdf5';
export type { CaseSource };

export interface LoadOptions {
  /** Label values must lie in 0..classes-1 (default: any uint8 value). */
  classes?: number;
}

/** The format a file name says: `.nii`/`.nii.gz` -> nifti, `.h5`/`.hdf5` -> hdf5, else null. */
export function volumeFormat(path: string): VolumeFormat | null {
  const name = path.toLowerCase();
  if (name.endsWith('.nii') || name.endsWith('.nii.gz')) return 'nifti';
  if (name.endsWith('.h5') || name.endsWith('.hdf5')) return 'hdf5';
  return null;
}

const SPLIT_LISTS: Record<Split, string> = { train: 'train.list', eval: 'eval.list', test: 'test.list' };
/** The reference BraTS code names its evaluation list `val.list`. */
const EVAL_ALIAS = 'val.list';
const MSD_SPLITS: Record<Split, 'training' | 'validation' | 'test'> = { train: 'training', eval: 'validation', test: 'test' };

/** Opens `root` (a directory, or the path of its dataset.json). */
export function openDataset(root: string): Dataset {
  const info = statOrNull(root);
  if (!info) throw new TracocoError('dataset not found', { file: root });
  if (info.isFile() && basename(root) === MSD_JSON) return openMsd(dirname(resolve(root)));
  if (!info.isDirectory()) throw new TracocoError(`expected a dataset directory (with ${MSD_JSON} or case lists)`, { file: root });
  const dir = resolve(root);
  if (existsSync(join(dir, MSD_JSON))) return openMsd(dir);
  if ([...Object.values(SPLIT_LISTS), EVAL_ALIAS].some((list) => existsSync(join(dir, list)))) return openLists(dir);
  throw new TracocoError(`no ${MSD_JSON} and no case list (${Object.values(SPLIT_LISTS).join(', ')}) in the dataset directory`, { file: root });
}

/**
 * Reads and validates one case from its files. HDF5: image and label from one file. NIfTI: the
 * image (a 4D file must have a single channel) and, when given, the label; geometry from the image.
 */
export async function loadCase(source: CaseSource, options: LoadOptions = {}): Promise<Case> {
  const format = volumeFormat(source.image);
  if (format === 'hdf5') {
    if (source.label) throw new TracocoError('an HDF5 case holds its own label; a separate label file is not supported', { file: source.label });
    const c = await readHdf5Case(source.image);
    const files = { image: `${source.image} dataset 'image'`, label: `${source.image} dataset 'label'` };
    if (!c.label && source.requireLabel) throw new TracocoError("no 'label' dataset: this layout's cases are labelled", { file: source.image });
    validateCase(c, files, options.classes);
    const spacing: Vec3 = [1, 1, 1];
    const base = { id: source.id, spacing, affine: spacingAffine(spacing) };
    if (source.sliceStack && sliceAxisOf(c.shape, source.image) === 'first') {
      // [Z, Y, X] as SimpleITK stores it: reversed to the [X, Y, Z] of the NIfTI it came from
      const shape = shape3([c.shape[2], c.shape[1], c.shape[0]]);
      return { ...base, image: reverseAxes(c.image, c.shape), label: c.label && reverseAxes(c.label, c.shape), shape };
    }
    return { ...base, image: c.image, label: c.label, shape: c.shape };
  }
  if (format !== 'nifti') throw new TracocoError('unknown image format: expected .nii, .nii.gz, .h5 or .hdf5', { file: source.image });
  const image = await readNifti(source.image);
  const shape = shape3Of(image.shape, source.image);
  const imageData = toImageArray(image.data, shape, source.image);
  let label: Uint8Array | null = null;
  if (source.label) {
    const labelVolume = await readNifti(source.label);
    checkSameShape(shape, labelVolume.shape, { image: source.image, label: source.label });
    label = toLabelArray(labelVolume.data, shape, source.label, options.classes);
  } else if (source.requireLabel) {
    throw new TracocoError("no label file given: this layout's cases are labelled", { file: source.image });
  }
  return { id: source.id, image: imageData, label, shape, spacing: image.spacing, affine: image.affine };
}

function openMsd(dir: string): Dataset {
  const msd = readMsdDatasetJson(join(dir, MSD_JSON));
  const splits = new Map<Split, CaseSource[]>();
  for (const split of ['train', 'eval', 'test'] as const) {
    const cases = msd[MSD_SPLITS[split]];
    if (cases && cases.length > 0) splits.set(split, cases);
  }
  return makeDataset(dir, 'msd', msdClasses(msd.labels), splits, (split) => {
    const field = MSD_SPLITS[split];
    return new TracocoError(msd[field] ? `the '${field}' list is empty` : `no '${field}' list`, { file: msd.file, field });
  });
}

/** The number of `labels` entries when their keys are exactly 0..n-1; else null (no class count declared). */
function msdClasses(labels: Record<string, string> | null): number | null {
  if (!labels) return null;
  const keys = Object.keys(labels);
  return keys.length > 0 && keys.every((k) => /^\d+$/.test(k) && Number(k) < keys.length) ? keys.length : null;
}

function openLists(dir: string): Dataset {
  const lists = new Map<Split, { file: string; ids: string[] }>();
  for (const split of ['train', 'eval', 'test'] as const) {
    const file = splitList(dir, split);
    if (file) lists.set(split, { file, ids: readCaseList(file) });
  }
  // One layout for the whole dataset, from the ids of every list.
  const layout = listLayoutOf([...lists.values()]);
  const splits = new Map<Split, CaseSource[]>();
  for (const [split, { file, ids }] of lists) splits.set(split, listCaseSources(dir, file, ids, layout));
  const classes = layout === 'acdc' ? ACDC_CLASSES : null;
  return makeDataset(dir, layout, classes, splits, (split) => new TracocoError('case list not found', { file: join(dir, SPLIT_LISTS[split]) }));
}

/** The list file of a split, or null; the eval split falls back to `val.list`. */
function splitList(dir: string, split: Split): string | null {
  const names = split === 'eval' ? [SPLIT_LISTS.eval, EVAL_ALIAS] : [SPLIT_LISTS[split]];
  return names.map((name) => join(dir, name)).find((p) => existsSync(p)) ?? null;
}

function makeDataset(
  root: string,
  layout: Dataset['layout'],
  classes: number | null,
  splits: Map<Split, CaseSource[]>,
  missing: (split: Split) => TracocoError,
): Dataset {
  const byId = new Map<string, CaseSource>();
  for (const cases of splits.values()) for (const c of cases) byId.set(c.id, c);
  return {
    root,
    layout,
    classes,
    ids(split: Split): string[] {
      const cases = splits.get(split);
      if (!cases) throw missing(split);
      return cases.map((c) => c.id);
    },
    hasSplit: (split: Split) => splits.has(split),
    load(id: string, options?: LoadOptions): Promise<Case> {
      const source = byId.get(id);
      if (!source) return Promise.reject(new TracocoError(`unknown case id '${id}'`, { file: root }));
      return loadCase(source, { classes: options?.classes ?? classes ?? undefined });
    },
  };
}

function shape3Of(shape: readonly number[], file: string) {
  if (shape.length !== 3) {
    throw new TracocoError(`expected a 3D image, got shape ${shape.join('x')} (multi-channel images are not supported)`, { file });
  }
  return shape3(shape);
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
