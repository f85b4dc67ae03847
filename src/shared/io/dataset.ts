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

/** The files of one case: an HDF5 case file (image and label inside), or NIfTI image [+ label]. */
export interface CaseSource {
  id: string;
  image: string;
  label: string | null;
  /**
   * A stack of 2D slices (ACDC) whose slice axis must end up last: an HDF5 volume with its fewest
   * voxels on the first axis ([Z, Y, X], as SimpleITK writes it) is read with its axes reversed.
   */
  sliceStack?: boolean;
  /** A missing label is an error naming the file rather than an unlabelled case. */
  requireLabel?: boolean;
}

/**
 * A dataset on disk in one of the supported layouts (reference HDF5 with case lists — Left Atrium,
 * Pancreas, BraTS19 —, ACDC with case lists, MSD `dataset.json`). Listing is cheap; `load` reads
 * and validates one case.
 */
export interface Dataset {
  readonly root: string;
  readonly layout: 'hdf5' | 'msd' | 'acdc';
  /**
   * Classes the dataset declares (MSD: one per `labels` entry; ACDC: 4), null when the layout says
   * nothing. `load` checks labels against it unless given `classes`.
   */
  readonly classes: number | null;
  /** Case ids of a split, in file order; throws a TracocoError naming the list file when it is empty or missing. */
  ids(split: Split): string[];
  /** Whether the split exists in this dataset. */
  hasSplit(split: Split): boolean;
  /** Reads and validates case `id`; label values must lie in 0..classes-1 (default: the declared classes, else any). */
  load(id: string, options?: { classes?: number }): Promise<Case>;
}
