/**
 * Opens a dataset directory in either supported layout and loads validated cases:
 * - MSD: `ROOT/dataset.json` (msd.ts); splits training -> 'train', validation -> 'eval', test -> 'test'.
 * - Reference HDF5: case lists `ROOT/{train,eval,test}.list`, each case at `ROOT/<id>/mri_norm2.h5`
 *   (Left Atrium) or `ROOT/<id>_norm.h5` (Pancreas).
 * Opening reads the lists and checks that every listed file exists, so a broken dataset fails
 * before training starts; `load` reads one case and validates it (validate.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TracocoError } from '../errors.js';
import { spacingAffine, shape3, type Vec3 } from '../volume.js';
import { readCaseList } from './case-list.js';
import type { Case, Dataset, Split } from './dataset.js';
import { readHdf5Case } from './hdf5.js';
import { MSD_JSON, readMsdDatasetJson, type MsdCase } from './msd.js';
import { readNifti } from './nifti.js';
import { checkSameShape, toImageArray, toLabelArray, validateCase } from './validate.js';

export type VolumeFormat = 'nifti' | 'hdf5';

/** The files of one case: an HDF5 case file (image and label inside), or NIfTI image [+ label]. */
export interface CaseSource {
  id: string;
  image: string;
  label: string | null;
}

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
const MSD_SPLITS: Record<Split, 'training' | 'validation' | 'test'> = { train: 'training', eval: 'validation', test: 'test' };

/** Opens `root` (a directory, or the path of its dataset.json). */
export function openDataset(root: string): Dataset {
  const info = statOrNull(root);
  if (!info) throw new TracocoError('dataset not found', { file: root });
  if (info.isFile() && basename(root) === MSD_JSON) return openMsd(dirname(resolve(root)));
  if (!info.isDirectory()) throw new TracocoError(`expected a dataset directory (with ${MSD_JSON} or case lists)`, { file: root });
  const dir = resolve(root);
  if (existsSync(join(dir, MSD_JSON))) return openMsd(dir);
  if (Object.values(SPLIT_LISTS).some((list) => existsSync(join(dir, list)))) return openHdf5(dir);
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
    validateCase(c, { image: `${source.image} dataset 'image'`, label: `${source.image} dataset 'label'` }, options.classes);
    const spacing: Vec3 = [1, 1, 1];
    return { id: source.id, image: c.image, label: c.label, shape: c.shape, spacing, affine: spacingAffine(spacing) };
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
  }
  return { id: source.id, image: imageData, label, shape, spacing: image.spacing, affine: image.affine };
}

function openMsd(dir: string): Dataset {
  const msd = readMsdDatasetJson(join(dir, MSD_JSON));
  const splits = new Map<Split, MsdCase[]>();
  for (const split of ['train', 'eval', 'test'] as const) {
    const cases = msd[MSD_SPLITS[split]];
    if (cases && cases.length > 0) splits.set(split, cases);
  }
  return makeDataset(dir, 'msd', splits, (split) => {
    const field = MSD_SPLITS[split];
    return new TracocoError(msd[field] ? `the '${field}' list is empty` : `no '${field}' list`, { file: msd.file, field });
  });
}

function openHdf5(dir: string): Dataset {
  const splits = new Map<Split, CaseSource[]>();
  for (const split of ['train', 'eval', 'test'] as const) {
    const list = join(dir, SPLIT_LISTS[split]);
    if (!existsSync(list)) continue;
    splits.set(split, readCaseList(list).map((id) => ({ id, image: hdf5CaseFile(dir, id, list), label: null })));
  }
  return makeDataset(dir, 'hdf5', splits, (split) => new TracocoError('case list not found', { file: join(dir, SPLIT_LISTS[split]) }));
}

/** `ROOT/<id>/mri_norm2.h5` (Left Atrium) or `ROOT/<id>_norm.h5` (Pancreas), whichever exists. */
function hdf5CaseFile(dir: string, id: string, list: string): string {
  const candidates = [join(dir, id, 'mri_norm2.h5'), join(dir, `${id}_norm.h5`)];
  const found = candidates.find((p) => statOrNull(p)?.isFile());
  if (!found) throw new TracocoError(`case '${id}' listed in ${list} has no file (looked for ${candidates.join(' and ')})`, { file: candidates[0]! });
  return found;
}

function makeDataset(root: string, layout: Dataset['layout'], splits: Map<Split, CaseSource[]>, missing: (split: Split) => TracocoError): Dataset {
  const byId = new Map<string, CaseSource>();
  for (const cases of splits.values()) for (const c of cases) byId.set(c.id, c);
  return {
    root,
    layout,
    ids(split: Split): string[] {
      const cases = splits.get(split);
      if (!cases) throw missing(split);
      return cases.map((c) => c.id);
    },
    hasSplit: (split: Split) => splits.has(split),
    load(id: string, options?: LoadOptions): Promise<Case> {
      const source = byId.get(id);
      if (!source) return Promise.reject(new TracocoError(`unknown case id '${id}'`, { file: root }));
      return loadCase(source, options);
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
