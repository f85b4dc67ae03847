/**
 * Where the cases named by case lists (`train.list`, `eval.list` or the reference BraTS code's
 * `val.list`, `test.list`) live on disk. Two layouts share the lists:
 *
 * - `hdf5`, the reference HDF5 family (GUIDE §4, §5b): one file per case holding datasets `image` and
 *   `label`, found as `ROOT/<id>/mri_norm2.h5` (Left Atrium), `ROOT/<id>_norm.h5` (Pancreas) or
 *   `ROOT/<id>.h5` (BraTS19), whichever exists.
 * - `acdc` (GUIDE §5b), chosen when every listed id has the ACDC naming (`patient<N>` or
 *   `patient<N>_frame<NN>`): a frame is either the challenge's NIfTI pair
 *   `ROOT/<patient>/<id>.nii.gz` + `<id>_gt.nii.gz` or a volume `ROOT/<id>.h5`; a bare patient id
 *   stands for all of that patient's labelled frames, in frame order. ACDC labels have 4 classes
 *   (0 background, 1 right ventricle, 2 myocardium, 3 left ventricle) and are required.
 *
 * ACDC cases come out as [X, Y, Z] stacks of short-axis slices along z, whatever the format: an
 * HDF5 volume written by the reference preprocessing holds a SimpleITK array, [Z, Y, X] (the NIfTI
 * axes reversed), and is reversed back (see `sliceStack` in open-dataset.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';
import type { CaseSource } from './dataset.js';

export type ListLayout = 'hdf5' | 'acdc';

/** Classes of the ACDC labels. */
export const ACDC_CLASSES = 4;

const ACDC_ID = /^(patient\d+)(_frame\d+)?$/;
const NIFTI_EXTENSIONS = ['.nii.gz', '.nii'];

/**
 * `acdc` when every listed id has the ACDC naming, `hdf5` when none has; a mix is a TracocoError
 * naming the list of the odd one out (ACDC HDF5 volumes are read differently, so guessing is unsafe).
 */
export function listLayoutOf(lists: readonly { file: string; ids: readonly string[] }[]): ListLayout {
  const all = lists.flatMap((l) => l.ids.map((id) => ({ id, file: l.file, acdc: ACDC_ID.test(id) })));
  const acdc = all.filter((c) => c.acdc);
  if (acdc.length === 0) return 'hdf5';
  const other = all.find((c) => !c.acdc);
  if (other) {
    throw new TracocoError(`case '${other.id}' does not have the ACDC naming (patient<N>[_frame<NN>]) of '${acdc[0]!.id}': one layout per dataset`, {
      file: other.file,
    });
  }
  return 'acdc';
}

/** The case sources for the ids of one list; throws a TracocoError naming the list and the files looked for. */
export function listCaseSources(dir: string, list: string, ids: readonly string[], layout: ListLayout): CaseSource[] {
  const sources = layout === 'acdc' ? ids.flatMap((id) => acdcSources(dir, id, list)) : ids.map((id) => hdf5Source(dir, id, list));
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.id)) throw new TracocoError(`case '${s.id}' is listed twice (once through its patient id)`, { file: list });
    seen.add(s.id);
  }
  return sources;
}

/** `ROOT/<id>/mri_norm2.h5` (Left Atrium), `ROOT/<id>_norm.h5` (Pancreas) or `ROOT/<id>.h5` (BraTS), whichever exists. */
function hdf5Source(dir: string, id: string, list: string): CaseSource {
  const candidates = [join(dir, id, 'mri_norm2.h5'), join(dir, `${id}_norm.h5`), join(dir, `${id}.h5`)];
  const found = candidates.find(isFile);
  if (!found) throw new TracocoError(`case '${id}' listed in ${list} has no file (looked for ${candidates.join(', ')})`, { file: candidates[0]! });
  return { id, image: found, label: null };
}

function acdcSources(dir: string, id: string, list: string): CaseSource[] {
  const [, patient, frame] = ACDC_ID.exec(id)!;
  if (frame) return [acdcFrame(dir, patient!, id, list)];
  // A patient: every frame with a ground truth, as NIfTI pairs in its folder or flat HDF5 volumes.
  const frames = new Set<string>();
  const gt = new RegExp(`^(${patient}_frame\\d+)_gt\\.nii(\\.gz)?$`);
  const h5 = new RegExp(`^(${patient}_frame\\d+)\\.h5$`);
  for (const name of listDir(join(dir, patient!))) frames.add(gt.exec(name)?.[1] ?? '');
  for (const name of listDir(dir)) frames.add(h5.exec(name)?.[1] ?? '');
  frames.delete('');
  if (frames.size === 0) {
    throw new TracocoError(
      `patient '${id}' listed in ${list} has no labelled frame (looked for ${join(dir, id, `${id}_frameNN_gt.nii.gz`)} and ${join(dir, `${id}_frameNN.h5`)})`,
      { file: join(dir, id) },
    );
  }
  return [...frames].sort().map((f) => acdcFrame(dir, patient!, f, list));
}

/** One ACDC frame: `ROOT/<id>.h5`, or `ROOT/<patient>/<id>.nii[.gz]` with its `_gt` label. */
function acdcFrame(dir: string, patient: string, id: string, list: string): CaseSource {
  const h5 = join(dir, `${id}.h5`);
  if (isFile(h5)) return { id, image: h5, label: null, sliceStack: true, requireLabel: true };
  const images = NIFTI_EXTENSIONS.map((ext) => join(dir, patient, `${id}${ext}`));
  const image = images.find(isFile);
  if (!image) throw new TracocoError(`case '${id}' listed in ${list} has no file (looked for ${h5}, ${images.join(', ')})`, { file: h5 });
  const labels = NIFTI_EXTENSIONS.map((ext) => join(dir, patient, `${id}_gt${ext}`));
  const label = labels.find(isFile);
  if (!label) throw new TracocoError(`case '${id}' has no label file (looked for ${labels.join(', ')})`, { file: image });
  return { id, image, label, sliceStack: true, requireLabel: true };
}

/**
 * How a slice stack is stored: `last` when its last axis is the smallest (ties included), `first`
 * when only the first is (the reference preprocessing's [Z, Y, X]); else a TracocoError naming the file.
 */
export function sliceAxisOf(shape: Shape3, file: string): 'first' | 'last' {
  const [a, b, c] = shape;
  if (c <= a && c <= b) return 'last';
  if (a < b && a < c) return 'first';
  throw new TracocoError(`a stack of short-axis slices needs its fewest voxels on the first or last axis, got shape ${shape.join('x')}`, { file });
}

/** An [A, B, C] row-major array as [C, B, A]: (a, b, c) moves to (c, b, a). */
export function reverseAxes<T extends Float32Array | Uint8Array>(data: T, shape: Shape3): T {
  const [A, B, C] = shape;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let a = 0, i = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++, i++) out[(c * B + b) * A + a] = data[i]!;
    }
  }
  return out;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
