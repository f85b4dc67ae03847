/** Medical image I/O and datasets: NIfTI-1, the reference HDF5 layouts (LA, Pancreas, BraTS), ACDC, case lists, MSD, validation. */
export type { Case, Dataset, Split } from './dataset.js';
export { ACDC_CLASSES, listLayoutOf, reverseAxes, sliceAxisOf, type ListLayout } from './list-layouts.js';
export { writeFileAtomic, withAtomicPath } from './atomic.js';
export {
  readNifti,
  writeNifti,
  datatypeOfArray,
  affineToQform,
  qformToAffine,
  NIFTI_DATATYPES,
  type NiftiDatatype,
  type NiftiHeaderFields,
  type NiftiVolume,
  type WriteNiftiOptions,
  type Qform,
} from './nifti.js';
export { readHdf5Case, writeHdf5Case, guessChunks, type Hdf5Case, type WriteHdf5Options } from './hdf5.js';
export { readCaseList } from './case-list.js';
export {
  readMsdDatasetJson,
  writeMsdDatasetJson,
  caseIdOfImage,
  MSD_JSON,
  type MsdCase,
  type MsdDataset,
  type MsdDatasetJson,
  type MsdEntry,
  type MsdSplitName,
} from './msd.js';
export { openDataset, loadCase, volumeFormat, type CaseSource, type LoadOptions, type VolumeFormat } from './open-dataset.js';
export {
  checkFinite,
  checkLabelRange,
  checkSameShape,
  formatVoxel,
  toImageArray,
  toLabelArray,
  validateCase,
  type CaseVolumes,
} from './validate.js';
