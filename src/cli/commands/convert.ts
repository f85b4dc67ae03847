import type { Command } from 'commander';
import { TracocoError } from '../../shared/errors.js';
import { formatShape, spacingAffine, type Vec3 } from '../../shared/volume.js';
import { printResult } from '../options.js';

export interface ConvertOptions {
  input: string;
  output: string;
  /** NIfTI -> HDF5: the label volume to store as the `label` dataset. */
  label?: string;
  /** HDF5 -> NIfTI: where the `label` dataset goes (default: the output with `_label` before `.nii`). */
  outputLabel?: string;
}

/** The `--json` record. `datatype` is the input image's stored datatype (outputs are float32 images, uint8 labels). */
export interface ConvertReport {
  input: string;
  label?: string;
  output: string;
  outputLabel?: string;
  shape: number[];
  datatype: string;
}

/**
 * `tracoco convert` (GUIDE §3): between NIfTI (.nii/.nii.gz) and the reference HDF5 case layout
 * (`image` float32, `label` uint8). HDF5 has no geometry, so HDF5 -> NIfTI writes an identity
 * affine (1 mm voxels) and NIfTI -> HDF5 drops the affine.
 */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert a case between NIfTI (.nii/.nii.gz) and the reference HDF5 layout (.h5: image, label)')
    .requiredOption('--input <file>', 'input image: .h5/.hdf5 case file, or .nii/.nii.gz image')
    .requiredOption('--output <file>', 'output: .nii/.nii.gz image (from .h5), or .h5 case file (from NIfTI)')
    .option('--label <file>', 'NIfTI -> HDF5: label volume (.nii/.nii.gz) stored as the `label` dataset')
    .option('--output-label <file>', 'HDF5 -> NIfTI: output for the `label` dataset (default: OUTPUT with _label before .nii)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: ConvertOptions & { json?: boolean }) => {
      const report = await runConvert(opts);
      printResult(Boolean(opts.json), report, () => formatReport(report));
    });
}

export async function runConvert(options: ConvertOptions): Promise<ConvertReport> {
  // Lazy: the io modules (h5wasm) are only needed when converting.
  const { volumeFormat } = await import('../../shared/io/index.js');
  const from = volumeFormat(options.input);
  const to = volumeFormat(options.output);
  if (!from) throw unknownFormat(options.input);
  if (!to) throw unknownFormat(options.output);
  if (from === 'hdf5' && to === 'nifti') return hdf5ToNifti(options);
  if (from === 'nifti' && to === 'hdf5') return niftiToHdf5(options);
  throw new TracocoError(`convert goes between NIfTI and HDF5, but both files are ${from === 'nifti' ? 'NIfTI' : 'HDF5'}`, { file: options.output });
}

/** `case.nii.gz` -> `case_label.nii.gz`. */
export function defaultLabelOutput(output: string): string {
  return output.replace(/(\.nii(\.gz)?)$/i, '_label$1');
}

async function hdf5ToNifti(options: ConvertOptions): Promise<ConvertReport> {
  const { readHdf5Case, writeNifti, checkFinite } = await import('../../shared/io/index.js');
  if (options.label) throw new TracocoError('--label is for NIfTI input; an HDF5 input holds its own label', { flag: '--label' });
  const c = await readHdf5Case(options.input);
  checkFinite(c.image, c.shape, `${options.input} dataset 'image'`);
  if (options.outputLabel && !c.label) {
    throw new TracocoError(`--output-label given but the input has no 'label' dataset`, { file: options.input });
  }
  const outputLabel = c.label ? (options.outputLabel ?? defaultLabelOutput(options.output)) : undefined;
  if (outputLabel === options.output) throw new TracocoError('the label output must differ from --output', { flag: '--output-label' });
  const spacing: Vec3 = [1, 1, 1];
  const geometry = { shape: c.shape, spacing, affine: spacingAffine(spacing) };
  const description = 'tracoco convert from HDF5';
  await writeNifti(options.output, { data: c.image, ...geometry }, { description });
  if (c.label && outputLabel) await writeNifti(outputLabel, { data: c.label, ...geometry }, { description });
  return {
    input: options.input,
    output: options.output,
    ...(outputLabel && { outputLabel }),
    shape: [...c.shape],
    datatype: 'float32',
  };
}

async function niftiToHdf5(options: ConvertOptions): Promise<ConvertReport> {
  const { readNifti, writeHdf5Case, checkSameShape, toImageArray, toLabelArray, volumeFormat } = await import('../../shared/io/index.js');
  if (options.outputLabel) throw new TracocoError('--output-label is for HDF5 input; the label goes into the .h5 output', { flag: '--output-label' });
  if (options.label && volumeFormat(options.label) !== 'nifti') {
    throw new TracocoError('expected a NIfTI label volume (.nii or .nii.gz)', { file: options.label });
  }
  const image = await readNifti(options.input);
  if (image.shape.length !== 3) {
    throw new TracocoError(`expected a 3D image, got shape ${formatShape(image.shape)}: the HDF5 layout holds one channel`, { file: options.input });
  }
  const shape = [image.shape[0]!, image.shape[1]!, image.shape[2]!] as const;
  const imageData = toImageArray(image.data, shape, options.input);
  let label: Uint8Array | null = null;
  if (options.label) {
    const labelVolume = await readNifti(options.label);
    checkSameShape(shape, labelVolume.shape, { image: options.input, label: options.label });
    label = toLabelArray(labelVolume.data, shape, options.label);
  }
  await writeHdf5Case(options.output, { image: imageData, label, shape });
  return {
    input: options.input,
    ...(options.label && { label: options.label }),
    output: options.output,
    shape: [...shape],
    datatype: image.datatype,
  };
}

function unknownFormat(file: string): TracocoError {
  return new TracocoError('unknown file type: expected .nii, .nii.gz, .h5 or .hdf5', { file });
}

function formatReport(r: ConvertReport): string {
  const label = r.outputLabel ? `, label -> ${r.outputLabel}` : r.label ? ` (label from ${r.label})` : '';
  return `converted ${r.input} -> ${r.output}: ${formatShape(r.shape)} ${r.datatype}${label}`;
}
