import type { Affine, Shape3, Vec3 } from '../volume.js';

/** One training/evaluation case: an image with its (optional) label, both [X, Y, Z] row-major. */
export interface Case {
  id: string;
  image: Float32Array;
  /** null for unlabelled cases (e.g. an MSD `test` entry without label). */
  label: Uint8Array | null;
  shape: Shape3;
  spacing: Vec3;
  affine: Affine;
}

export type Split = 'train' | 'eval' | 'test';

/**
 * A dataset on disk in one of the supported layouts (reference HDF5 with case lists, MSD
 * `dataset.json`, or a folder of NIfTI pairs). Listing is cheap; `load` reads and validates one case.
 */
export interface Dataset {
  readonly root: string;
  readonly layout: 'hdf5' | 'msd';
  /** Case ids of a split, in file order; throws a TracocoError naming the list file when it is empty or missing. */
  ids(split: Split): string[];
  /** Whether the split exists in this dataset. */
  hasSplit(split: Split): boolean;
  load(id: string, options?: { classes?: number }): Promise<Case>;
}
