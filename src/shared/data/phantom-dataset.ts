/**
 * Writes a phantom dataset in the Medical Segmentation Decathlon layout (GUIDE §4):
 *
 *   OUT/dataset.json
 *   OUT/imagesTr/phantom_000.nii.gz  OUT/labelsTr/phantom_000.nii.gz   (training split)
 *   OUT/imagesTs/phantom_015.nii.gz  OUT/labelsTs/phantom_015.nii.gz   (test split, labelled)
 *
 * Case `phantom_<i>` is the kind's `generate({seed, index: i})` (phantom-kinds.ts), so a case's content
 * depends only on the kind, the seed and its number, not on the split; dataset.json's `labels` lists
 * the kind's classes. Nothing time-dependent is written: the same options
 * give byte-identical files. Files of an earlier, larger dataset in OUT are left in place.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TracocoError, fileError } from '../errors.js';
import { writeMsdDatasetJson, writeNifti } from '../io/index.js';
import { spacingAffine, type Shape3 } from '../volume.js';
import { checkPhantomShape, type AppearanceKnobs, type PhantomOptions } from './phantom.js';
import { phantomClasses, phantomKindSpec, type PhantomKind } from './phantom-kinds.js';

export interface PhantomDatasetOptions {
  /** Output directory, created when missing. */
  out: string;
  /** Total number of cases, training + test (at least 2). */
  cases: number;
  /** Cases held out as the test split; default `defaultTestCases(cases)`. */
  testCases?: number;
  shape: Shape3;
  seed: number;
  /** Which phantom (default `organ`). */
  kind?: PhantomKind;
  /** Appearance knobs applied to every case (defaults: PHANTOM_DEFAULTS). */
  appearance?: AppearanceKnobs & Pick<PhantomOptions, 'bias'>;
  /** Called after each case is written. */
  onProgress?: (done: number, total: number) => void;
}

export interface PhantomDataset {
  /** The output directory (absolute), holding dataset.json. */
  root: string;
  /** Case ids of the training split, e.g. `phantom_000`. */
  training: string[];
  /** Case ids of the test split. */
  test: string[];
  kind: PhantomKind;
  /** Number of classes, background included (the entries of dataset.json's `labels`). */
  classes: number;
}

/** 25% of the cases, at least 1. */
export function defaultTestCases(cases: number): number {
  return Math.max(1, Math.round(cases * 0.25));
}

export async function writePhantomDataset(options: PhantomDatasetOptions): Promise<PhantomDataset> {
  const { out, cases, shape, seed } = options;
  if (!Number.isInteger(cases) || cases < 2) {
    throw new TracocoError(`expected an integer >= 2 (training and test need a case each), got ${cases}`, { field: 'cases' });
  }
  const testCases = options.testCases ?? defaultTestCases(cases);
  if (!Number.isInteger(testCases) || testCases < 0 || testCases >= cases) {
    throw new TracocoError(`expected an integer in 0..${cases - 1} (fewer than cases), got ${testCases}`, { field: 'testCases' });
  }
  if (!Number.isInteger(seed) || seed < 0) throw new TracocoError(`expected a non-negative integer, got ${seed}`, { field: 'seed' });
  checkPhantomShape(shape);
  const kind = options.kind ?? 'organ';
  const spec = phantomKindSpec(kind);

  const ids = Array.from({ length: cases }, (_, i) => caseId(i, cases));
  const training = ids.slice(0, cases - testCases);
  const test = ids.slice(cases - testCases);
  const dirs = { imagesTr: join(out, 'imagesTr'), labelsTr: join(out, 'labelsTr'), imagesTs: join(out, 'imagesTs'), labelsTs: join(out, 'labelsTs') };
  for (const dir of Object.values(dirs)) {
    await mkdir(dir, { recursive: true }).catch((err: unknown) => {
      throw fileError(dir, 'cannot create the dataset directory', err);
    });
  }

  for (let index = 0; index < cases; index++) {
    const isTest = index >= training.length;
    const c = spec.generate({ seed, index, shape, ...options.appearance });
    const geometry = { shape: c.shape, spacing: c.spacing, affine: spacingAffine(c.spacing) };
    const file = `${ids[index]}.nii.gz`;
    // the organ's header text predates the kinds: kept, so organ files stay byte-identical
    const description = `tracoco ${kind === 'organ' ? 'phantom' : `${kind} phantom`} seed ${seed} case ${index}`;
    await writeNifti(join(isTest ? dirs.imagesTs : dirs.imagesTr, file), { data: c.image, ...geometry }, { description });
    await writeNifti(join(isTest ? dirs.labelsTs : dirs.labelsTr, file), { data: c.label, ...geometry }, { description });
    options.onProgress?.(index + 1, cases);
  }

  const entry = (split: 'Tr' | 'Ts') => (id: string) => ({
    image: `./images${split}/${id}.nii.gz`,
    label: `./labels${split}/${id}.nii.gz`,
  });
  await writeMsdDatasetJson(out, {
    name: kind === 'organ' ? 'phantom' : `phantom-${kind}`,
    description: `tracoco synthetic ${kind === 'organ' ? '' : `${kind} `}phantom, seed ${seed}, ${shape.join('x')} voxels of 1 mm: ${spec.summary}`,
    tensorImageSize: '3D',
    modality: { '0': spec.modality },
    labels: { ...spec.labels },
    numTraining: training.length,
    numTest: test.length,
    training: training.map(entry('Tr')),
    test: test.map(entry('Ts')),
  });
  return { root: resolve(out), training, test, kind, classes: phantomClasses(kind) };
}

/** `phantom_007`: zero-padded to 3 digits, or more when there are more cases, so names sort in order. */
function caseId(index: number, cases: number): string {
  return `phantom_${String(index).padStart(Math.max(3, String(cases - 1).length), '0')}`;
}
