import { Option, type Command } from 'commander';
import { basename, join } from 'node:path';
import { mkdirSync, statSync } from 'node:fs';
import { TracocoError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import type { Shape3 } from '../../shared/volume.js';
import { commaList, POST_PROCESSING, type PostProcessing } from '../../shared/names.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber, printResult, shapeXYZ, unitInterval } from '../options.js';
import type { SegmentationMetrics } from '../../shared/metrics/index.js';
import type { ClassMetrics } from '../../shared/metrics/class-metrics.js';
import type { ConfidenceCounts, ConfidenceShares } from '../../shared/metrics/confidence.js';
import type { CaseScores } from '../../shared/evaluation/index.js';

interface EvalFlags {
  checkpoint: string;
  data: string;
  label?: string;
  split: 'train' | 'eval' | 'test';
  patch: Shape3;
  strideXy: number;
  strideZ: number;
  postProcess?: PostProcessing;
  batch: number;
  scale: number;
  backend?: string;
  slices?: string;
  confidence?: number;
  skip: number;
  exclude: string[];
  json?: boolean;
}

/** The top-level metrics are the mean over cases of each case's mean over foreground classes. */
export interface EvalReport extends SegmentationMetrics {
  checkpoint: string;
  /** Each foreground class 1…C−1 averaged over the cases. */
  classes: ClassMetrics[];
  cases: CaseScores[];
  /** With `--confidence γ`: the predictions as pseudo-labels at threshold γ, over every scored case. */
  confidence?: { threshold: number; classes: ConfidenceShares[] };
}

/** `tracoco eval` (GUIDE §3, §5): the reference sliding-window evaluation of a checkpoint. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a checkpoint with the reference protocol (sliding window, Dice/Jaccard/95HD/ASD in voxels)')
    .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors)')
    .requiredOption('--data <file|dir>', 'a dataset directory (MSD or reference HDF5 layout), a reference .h5 case, or a NIfTI image with --label')
    .option('--label <file>', 'label NIfTI for a single NIfTI image given as --data')
    .option('--split <name>', 'split of a dataset directory', oneOf(['train', 'eval', 'test'] as const), 'test')
    .option('--patch <XxYxZ>', 'sliding-window patch', shapeXYZ, [112, 112, 80] as Shape3)
    .option('--stride-xy <n>', 'window stride along x and y', positiveInt, 18)
    .option('--stride-z <n>', 'window stride along z', positiveInt, 4)
    .addOption(
      new Option('--post-process [mode]', `before scoring: ${POST_PROCESSING.join(' | ')}; alone: small-components (26-connected components under 8000 voxels dropped)`)
        .argParser(oneOf(POST_PROCESSING))
        .preset('small-components'),
    )
    .option('--batch <n>', 'windows per forward pass', positiveInt, 1)
    .option('--scale <f>', "the model's training scale (data.scale): predict on the image resampled by it, score on the stored grid", positiveNumber, 1)
    .option('--backend <name>', 'tensorflow | native | cpu (default: best available)')
    .option('--slices <dir>', 'write a PNG of the middle slices per case to this directory')
    .option('--confidence <gamma>', "also judge the predictions as pseudo-labels at CRC's threshold gamma (e.g. 0.65): per class, the share of confident voxels that are right, the share of the class covered, over- and under-segmentation", unitInterval)
    .option('--skip <n>', 'leave out the first n cases of the split (e.g. the labelled ones of the training split)', nonNegativeInt, 0)
    .option('--exclude <ids>', "leave out these cases of the split, comma-separated (e.g. a run's data.labeled_ids)", commaList, [])
    .option('--json', 'print {dice, jaccard, hd95, asd, classes:[{class, dice, ...}], cases:[...]} as one JSON object')
    .action(async (flags: EvalFlags) => {
      const report = await runEval(flags);
      printResult(Boolean(flags.json), report, () => reportTable(report));
    });
}

export async function runEval(flags: EvalFlags): Promise<EvalReport> {
  const logger = createLogger({ component: 'eval' });
  const { initBackend } = await import('../../shared/backend/index.js');
  const backend = await initBackend(flags.backend);
  logger.info('backend.selected', { backend: backend.name });
  const { loadCheckpoint } = await import('../../shared/checkpoint/index.js');
  const { evaluateCase, renderMiddleSlices } = await import('../../shared/evaluation/index.js');
  const { checkWindowPatch, evalModePredictor } = await import('../../shared/inference/index.js');
  const { confidenceCounts, confidenceShares, meanClassScores, meanMetrics, sumConfidenceCounts } = await import('../../shared/metrics/index.js');
  const io = await import('../../shared/io/index.js');
  checkWindowPatch(flags.patch, null, '--patch');
  const model = await loadCheckpoint(flags.checkpoint);
  try {
    checkWindowPatch(flags.patch, model.architecture, '--patch');
  } catch (err) {
    model.dispose();
    throw err;
  }
  const classes = model.config.classes;
  const sources = leaveOut(caseSources(flags, io), flags.skip, flags.exclude);
  const confidence: ConfidenceCounts[][] = [];
  if (flags.slices) mkdirSync(flags.slices, { recursive: true });
  const cases: EvalReport['cases'] = [];
  try {
    for (const source of sources) {
      const c = await source.load(classes);
      if (!c.label) throw new TracocoError('case has no label to score against', { file: source.file });
      const r = await evaluateCase(evalModePredictor(model), { id: c.id, image: c.image, label: c.label, shape: c.shape }, {
        patch: flags.patch,
        strideXY: flags.strideXy,
        strideZ: flags.strideZ,
        batch: flags.batch,
        postProcess: flags.postProcess ?? 'none',
        scale: flags.scale,
      });
      cases.push(r.metrics);
      if (flags.confidence !== undefined) confidence.push(confidenceCounts(r.probabilities, c.label, c.shape, classes, flags.confidence));
      const { classes: perClass, ...mean } = r.metrics;
      logger.info('eval.case', { ...mean, classes: perClass.map((m) => m.dice), done: cases.length, total: sources.length });
      if (flags.slices) await io.writeFileAtomic(join(flags.slices, `${c.id}.png`), renderMiddleSlices(c.image, c.label, r.prediction, c.shape));
    }
  } finally {
    model.dispose();
  }
  const report: EvalReport = { checkpoint: flags.checkpoint, ...meanMetrics(cases), classes: meanClassScores(cases), cases };
  if (flags.confidence !== undefined) report.confidence = { threshold: flags.confidence, classes: sumConfidenceCounts(confidence).map(confidenceShares) };
  return report;
}

interface SourceCase {
  id: string;
  file: string;
  load(classes: number): Promise<{ id: string; image: Float32Array; label: Uint8Array | null; shape: Shape3 }>;
}

function caseSources(flags: EvalFlags, io: typeof import('../../shared/io/index.js')): SourceCase[] {
  let isDir: boolean;
  try {
    isDir = statSync(flags.data).isDirectory();
  } catch {
    throw new TracocoError('no such file or directory', { flag: '--data', file: flags.data });
  }
  if (isDir || flags.data.endsWith('dataset.json')) {
    const dataset = io.openDataset(flags.data);
    return dataset.ids(flags.split).map((id) => ({ id, file: `${flags.data} (${id})`, load: (classes: number) => dataset.load(id, { classes }) }));
  }
  const id = basename(flags.data).replace(/\.(nii\.gz|nii|h5|hdf5)$/i, '');
  return [{ id, file: flags.data, load: (classes: number) => io.loadCase({ id, image: flags.data, label: flags.label ?? null }, { classes }) }];
}

function reportTable(r: EvalReport): string {
  const row = (name: string, m: SegmentationMetrics) =>
    `${name.padEnd(24)} ${fmt(m.dice)}  ${fmt(m.jaccard)}  ${fmt(m.hd95)}  ${fmt(m.asd)}`;
  // Per-class rows only when there is more than one foreground class (else they repeat the mean).
  const classRows = r.classes.length > 1 ? r.classes.map((m) => row(`mean class ${m.class}`, m)) : [];
  const table = [`${'case'.padEnd(24)} ${'dice'.padStart(8)}  ${'jaccard'.padStart(8)}  ${'95hd'.padStart(8)}  ${'asd'.padStart(8)}`, ...r.cases.map((c) => row(c.id, c)), ...classRows, row('mean', r)];
  if (r.confidence) {
    // Column titles are the share names, spaced: one list, no second copy to keep in order.
    const columns = (['confident_right', 'coverage', 'false_positives', 'false_negatives'] as const).map((key) => ({ key, title: key.replace('_', ' ') }));
    const pct = (v: number, width: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a').padStart(width);
    table.push('', `as pseudo-labels at threshold ${r.confidence.threshold}`, ['class', ...columns.map((c) => c.title)].join('  '));
    for (const c of r.confidence.classes) {
      table.push([String(c.class).padStart(5), ...columns.map(({ key, title }) => pct(c[key], title.length))].join('  '));
    }
  }
  return table.join('\n');
}

function fmt(v: number): string {
  return (Number.isFinite(v) ? v.toFixed(4) : 'n/a').padStart(8);
}

/** The split's cases after `--skip` (the first n) and `--exclude` (named ids, each of which must be in the split). */
function leaveOut(sources: SourceCase[], skip: number, exclude: readonly string[]): SourceCase[] {
  const unknown = exclude.find((id) => !sources.some((s) => s.id === id));
  if (unknown !== undefined) throw new TracocoError(`'${unknown}' is not a case of the split`, { flag: '--exclude' });
  const kept = sources.slice(skip).filter((s) => !exclude.includes(s.id));
  if (kept.length === 0) throw new TracocoError(`no cases left to score after --skip ${skip} and --exclude ${exclude.length} case(s)`, { flag: exclude.length > 0 ? '--exclude' : '--skip' });
  return kept;
}
