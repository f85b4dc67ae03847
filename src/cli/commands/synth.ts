import type { Command } from 'commander';
import { appearanceOf, MAX_NOISE_SPREAD, NOISE_SPREAD_PER_VARIABILITY, PHANTOM_MIN_SIZE, VESSEL_POLARITIES, type VesselPolarity } from '../../shared/data/phantom.js';
import { PHANTOM_KINDS, type PhantomKind } from '../../shared/data/phantom-kinds.js';
import { TracocoError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { formatShape, type Shape3 } from '../../shared/volume.js';
import { nonNegativeInt, numberIn, oneOf, positiveInt, positiveNumber, printResult, shapeXYZ, unitInterval } from '../options.js';

const DEFAULT_SIZE: Shape3 = [64, 64, 48];

interface SynthFlags {
  out: string;
  cases: number;
  size?: Shape3;
  seed: number;
  kind: PhantomKind;
  testCases?: number;
  contrast?: number;
  noise?: number;
  variability?: number;
  noiseSpread?: number;
  vessel?: VesselPolarity;
  json?: boolean;
}

/** `tracoco synth` (GUIDE §3): writes a phantom dataset of one kind (organ, cardiac, tumour) in the MSD layout. */
export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('write a phantom dataset (Medical Segmentation Decathlon layout: dataset.json with the classes as labels, imagesTr, labelsTr, imagesTs, labelsTs)')
    .requiredOption('--out <dir>', 'output directory (created when missing)')
    .option('--cases <n>', 'number of cases, training + test', positiveInt, 20)
    .option('--size <XxYxZ>', `volume size in voxels, each at least ${PHANTOM_MIN_SIZE} (default: ${formatShape(DEFAULT_SIZE)})`, shapeXYZ)
    .option('--seed <s>', 'random seed: the same seed writes byte-identical files', nonNegativeInt, 0)
    .option(
      '--kind <kind>',
      `${PHANTOM_KINDS.join(' | ')}: organ = 2 classes (an organ against touching structures); cardiac = 4 classes in the ACDC convention (1 right ventricle, 2 myocardium, 3 left ventricle); tumour = 2 classes (tumour blobs of very different sizes)`,
      oneOf(PHANTOM_KINDS),
      'organ',
    )
    .option('--test-cases <n>', 'cases held out as the labelled test split (default: 25% of --cases, at least 1)', nonNegativeInt)
    .option('--contrast <f>', 'labelled structures vs the unlabelled ones touching them, as a fraction of the main contrast (organ, blood or tumour vs tissue; lower is harder; default 0.25)', positiveNumber)
    .option('--noise <f>', 'noise sigma as a fraction of the main contrast (default 0.12)', positiveNumber)
    .option('--variability <f>', 'case-to-case appearance variability in [0, 1] (default 0.6)', unitInterval)
    .option('--noise-spread <f>', `case-to-case spread of the noise: a case's sigma is --noise × e^u, u uniform in ±f (0..${MAX_NOISE_SPREAD}; default ${NOISE_SPREAD_PER_VARIABILITY} × variability)`, numberIn(0, MAX_NOISE_SPREAD))
    .option('--vessel <polarity>', `organ kind: the vessel touching the organ is ${VESSEL_POLARITIES.join(' | ')} than the organ (default brighter; the wall and slab are always darker)`, oneOf(VESSEL_POLARITIES))
    .option('--json', 'print {out, training, test, shape, seed, kind, classes} as one JSON object on stdout')
    .action(async (flags: SynthFlags) => {
      const shape = flags.size ?? DEFAULT_SIZE;
      checkFlags(flags, shape);
      const { writePhantomDataset } = await import('../../shared/data/phantom-dataset.js');
      const progress = await progressReporter();
      let result;
      try {
        result = await writePhantomDataset({
          out: flags.out,
          cases: flags.cases,
          testCases: flags.testCases,
          shape,
          seed: flags.seed,
          kind: flags.kind,
          appearance: appearanceOf(flags),
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
      }
      const { root, training, test, kind, classes } = result;
      printResult(flags.json === true, { out: root, training, test, shape, seed: flags.seed, kind, classes }, () =>
        `wrote ${training.length} training and ${test.length} test cases (${kind}, ${classes} classes, ${formatShape(shape)}, seed ${flags.seed}) to ${root}`,
      );
    });
}

function checkFlags(flags: SynthFlags, shape: Shape3): void {
  if (shape.some((v) => v < PHANTOM_MIN_SIZE)) {
    throw new TracocoError(`every axis must be at least ${PHANTOM_MIN_SIZE} voxels, got ${formatShape(shape)}`, { flag: '--size' });
  }
  if (flags.cases < 2) throw new TracocoError('need at least 2 cases (one training, one test)', { flag: '--cases' });
  if (flags.testCases !== undefined && flags.testCases >= flags.cases) {
    throw new TracocoError(`must be less than --cases (${flags.cases}), got ${flags.testCases}`, { flag: '--test-cases' });
  }
  if (flags.vessel !== undefined && flags.kind !== 'organ') {
    throw new TracocoError(`applies to the organ kind only, got --kind ${flags.kind}`, { flag: '--vessel' });
  }
}

interface ProgressReporter {
  update: (done: number, total: number) => void;
  stop: () => void;
}

/** A progress bar for people at a terminal; one structured log line per case otherwise. */
async function progressReporter(): Promise<ProgressReporter> {
  if (!process.stderr.isTTY) {
    const log = createLogger({ command: 'synth' });
    return { update: (done, total) => log.info('synth.case', { done, total }), stop: () => {} };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'synth [{bar}] {value}/{total} cases', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
