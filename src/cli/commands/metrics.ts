import type { Command } from 'commander';
import { TracocoError } from '../../shared/errors.js';
import { caseMetrics, type SegmentationMetrics } from '../../shared/metrics/index.js';
import { formatShape, sameShape, shape3, type Vec3, type VoxelArray } from '../../shared/volume.js';
import { oneOf, positiveInt, printResult } from '../options.js';

export type SpacingMode = 'voxel' | 'header';

export interface MetricsOptions {
  pred: string;
  label: string;
  /** Score voxels equal to this class in both files; absent: every value > 0 is foreground. */
  class?: number;
  spacing: SpacingMode;
}

/** The `--json` record (GUIDE §3); NaN distances (empty label) print as null. */
export interface MetricsReport extends SegmentationMetrics {
  pred: string;
  label: string;
}

/** A label map as read from a file, enough to score it. */
export interface LabelMap {
  data: VoxelArray;
  shape: readonly number[];
  spacing: Vec3;
}

/**
 * `tracoco metrics` (GUIDE §3): per-case Dice, Jaccard, 95HD and ASD of a predicted label map
 * against a reference label map, with medpy semantics, in voxels by default like the reference
 * evaluation.
 */
export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('per-case Dice, Jaccard, 95HD and ASD of a predicted label map against a reference label map')
    .requiredOption('--pred <file>', 'predicted label map (.nii / .nii.gz)')
    .requiredOption('--label <file>', 'reference label map (.nii / .nii.gz)')
    .option('--class <n>', 'score the voxels equal to class N in both files (default: every value > 0 is foreground)', positiveInt)
    .option(
      '--spacing <mode>',
      "distance units: 'voxel' (as the reference evaluation) or 'header' (the label's NIfTI voxel size)",
      oneOf(['voxel', 'header'] as const),
      'voxel',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: MetricsOptions & { json?: boolean }) => {
      const report = await runMetrics(opts);
      printResult(Boolean(opts.json), report, () => formatReport(report));
    });
}

/** Reads both NIfTI files and scores them. */
export async function runMetrics(options: MetricsOptions): Promise<MetricsReport> {
  // Lazy: the io barrel may pull in heavy readers (HDF5) that `--help` does not need.
  const { readNifti } = await import('../../shared/io/index.js');
  const [pred, label] = await Promise.all([readNifti(options.pred), readNifti(options.label)]);
  return { pred: options.pred, label: options.label, ...scoreLabelMaps(pred, label, options) };
}

/** Scores two label maps already in memory; errors name the file at fault (`options.pred`/`label`). */
export function scoreLabelMaps(pred: LabelMap, label: LabelMap, options: MetricsOptions): SegmentationMetrics {
  for (const [map, file] of [
    [pred, options.pred],
    [label, options.label],
  ] as const) {
    if (map.shape.length !== 3) throw new TracocoError(`expected a 3D label map, got shape ${formatShape(map.shape)}`, { file });
  }
  if (!sameShape(pred.shape, label.shape)) {
    throw new TracocoError(
      `prediction shape ${formatShape(pred.shape)} does not match label ${options.label} shape ${formatShape(label.shape)}`,
      { file: options.pred },
    );
  }
  const spacing: Vec3 = options.spacing === 'header' ? headerSpacing(label, options.label) : [1, 1, 1];
  const predMask = foregroundMask(pred.data, options.pred, options.class);
  const labelMask = foregroundMask(label.data, options.label, options.class);
  return caseMetrics(predMask, labelMask, shape3(label.shape), spacing);
}

/**
 * 1 where the voxel is foreground: value === cls when a class is given, else value > 0.
 * Label maps hold integer classes; a fractional or non-finite value (e.g. a probability map)
 * is an error naming the file.
 */
export function foregroundMask(data: VoxelArray, file: string, cls?: number): Uint8Array {
  const mask = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v)) {
      throw new TracocoError(`voxel ${i} holds ${v}; a label map must hold integer class values`, { file });
    }
    mask[i] = (cls === undefined ? v > 0 : v === cls) ? 1 : 0;
  }
  return mask;
}

function headerSpacing(label: LabelMap, file: string): Vec3 {
  if (label.spacing.length !== 3 || !label.spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new TracocoError(`voxel size [${label.spacing.join(', ')}] in the header is not usable with --spacing header`, { file, field: 'pixdim' });
  }
  return label.spacing;
}

function formatReport(r: MetricsReport): string {
  const value = (v: number) => (Number.isNaN(v) ? 'n/a (empty label)' : v.toFixed(4));
  const rows: [string, string][] = [
    ['pred', r.pred],
    ['label', r.label],
    ['dice', value(r.dice)],
    ['jaccard', value(r.jaccard)],
    ['hd95', value(r.hd95)],
    ['asd', value(r.asd)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, v]) => `${name.padEnd(width)}  ${v}`).join('\n');
}
