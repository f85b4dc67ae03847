import type { Command } from 'commander';
import { TracocoError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { formatShape, elementCount, type Affine, type Shape3, type Vec3 } from '../../shared/volume.js';
import { oneOf, positiveInt, positiveNumber, printResult, shapeXYZ } from '../options.js';

const DEFAULT_PATCH: Shape3 = [112, 112, 80];
/** The networks downsample four times: window axes are multiples of this (x and y only for unet2d). */
const PATCH_MULTIPLE = 16;

export interface PredictFlags {
  checkpoint: string;
  input: string;
  output: string;
  probabilities?: boolean;
  /** Default DEFAULT_PATCH. */
  patch?: Shape3;
  strideXy: number;
  strideZ: number;
  normalize: 'minmax' | 'none';
  backend?: string;
  batch: number;
  /** The model's training scale (data.scale); default 1. */
  scale?: number;
  json?: boolean;
}

export interface PredictReport {
  output: string;
  shape: number[];
  classes: number;
  /** Voxels per class in the label map. */
  voxels: number[];
  backend: string;
  seconds: number;
}

/** `tracoco predict` (GUIDE §3): sliding-window segmentation of one volume into a NIfTI file. */
export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('segment one volume with a checkpoint (sliding window) and write labels (uint8) or class probabilities (float32, 4D x,y,z,class) as NIfTI')
    .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors)')
    .requiredOption('--input <file>', 'image (.nii / .nii.gz, or a reference .h5 case)')
    .requiredOption('--output <file>', 'output NIfTI (.nii.gz or .nii)')
    .option('--probabilities', 'write float32 class probabilities [x, y, z, class] instead of labels')
    .option('--patch <XxYxZ>', `window size, each axis a multiple of ${PATCH_MULTIPLE}, z any for a unet2d (default: ${formatShape(DEFAULT_PATCH)})`, shapeXYZ)
    .option('--stride-xy <n>', 'window stride along x and y', positiveInt, 18)
    .option('--stride-z <n>', 'window stride along z', positiveInt, 4)
    .option('--normalize <mode>', "'minmax' rescales the image to [0, 1] first (the reference testing transform); 'none' uses it as stored", oneOf(['minmax', 'none'] as const), 'minmax')
    .option('--backend <name>', 'tfjs backend: tensorflow, native or cpu (default: the fastest available)')
    .option('--batch <n>', 'windows per forward pass', positiveInt, 1)
    .option('--scale <f>', "the model's training scale (data.scale): predict on the image resampled by it, write on the stored grid", positiveNumber, 1)
    .option('--json', 'print {output, shape, classes, voxels, backend, seconds} as one JSON object on stdout')
    .action(async (flags: PredictFlags) => {
      const report = await runPredict(flags);
      printResult(flags.json === true, report, () =>
        `wrote ${flags.probabilities ? 'probabilities' : 'labels'} ${formatShape(report.shape)} to ${report.output} ` +
          `(${report.classes} classes, voxels per class ${report.voxels.join('/')}, ${report.seconds.toFixed(1)} s on ${report.backend})`,
      );
    });
}

function checkFlags(flags: PredictFlags & { patch: Shape3 }): void {
  const out = flags.output.toLowerCase();
  if (!out.endsWith('.nii') && !out.endsWith('.nii.gz')) {
    throw new TracocoError(`expected a .nii or .nii.gz file name, got ${flags.output}`, { flag: '--output' });
  }
}

interface InputVolume {
  image: Float32Array;
  shape: Shape3;
  spacing: Vec3;
  affine: Affine;
}

async function readInput(path: string): Promise<InputVolume> {
  const io = await import('../../shared/io/index.js');
  const format = io.volumeFormat(path);
  if (format !== 'nifti' && format !== 'hdf5') throw new TracocoError(`expected a .nii, .nii.gz or .h5 file, got ${path}`, { flag: '--input' });
  return io.loadCase({ id: path, image: path, label: null });
}

/** Reads the checkpoint and image, predicts, writes the NIfTI output. */
export async function runPredict(options: PredictFlags): Promise<PredictReport> {
  const flags = { ...options, patch: options.patch ?? DEFAULT_PATCH };
  checkFlags(flags);
  const started = performance.now();
  const log = createLogger({ command: 'predict' });
  const { initBackend } = await import('../../shared/backend/index.js');
  const backend = await initBackend(flags.backend);
  const { loadCheckpoint } = await import('../../shared/checkpoint/index.js');
  const { argmaxLabels, checkWindowPatch, evalModePredictor } = await import('../../shared/inference/index.js');
  const { predictAtScale } = await import('../../shared/evaluation/index.js');
  const { writeNifti } = await import('../../shared/io/index.js');
  checkWindowPatch(flags.patch, null, '--patch');
  const model = await loadCheckpoint(flags.checkpoint);
  try {
    checkWindowPatch(flags.patch, model.architecture, '--patch');
    if (model.config.inChannels !== 1) {
      throw new TracocoError(`the model expects ${model.config.inChannels} input channels; predict reads single-channel images`, { file: flags.checkpoint });
    }
    const input = await readInput(flags.input);
    log.info('predict.start', { input: flags.input, shape: input.shape, patch: flags.patch, backend: backend.name });
    const { classes, probabilities } = await predictAtScale(evalModePredictor(model), { id: flags.input, image: input.image, shape: input.shape }, {
      patch: flags.patch,
      strideXY: flags.strideXy,
      strideZ: flags.strideZ,
      batch: flags.batch,
      postProcess: 'none',
      normalize: flags.normalize,
      scale: flags.scale ?? 1,
    });
    const result = { classes, probabilities, labels: argmaxLabels(probabilities, classes) };
    const geometry = { spacing: input.spacing, affine: input.affine };
    if (flags.probabilities) {
      await writeNifti(flags.output, { data: result.probabilities, shape: [...input.shape, result.classes], ...geometry }, { datatype: 'float32' });
    } else {
      await writeNifti(flags.output, { data: result.labels, shape: input.shape, ...geometry }, { datatype: 'uint8' });
    }
    const voxels = new Array<number>(result.classes).fill(0);
    for (const label of result.labels) voxels[label]!++;
    const seconds = (performance.now() - started) / 1000;
    log.info('predict.done', { output: flags.output, seconds, voxels: elementCount(input.shape) });
    return { output: flags.output, shape: [...input.shape], classes: result.classes, voxels, backend: backend.name, seconds };
  } finally {
    model.dispose();
  }
}
