import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig, type TracocoConfig } from '../../shared/config/index.js';
import { createLogger, type Logger } from '../../shared/log.js';
import type { SegmentationMetrics } from '../../shared/metrics/index.js';
import type { Shape3 } from '../../shared/volume.js';
import { formatShape } from '../../shared/volume.js';
import { nonNegativeInt, positiveInt, printResult, shapeXYZ } from '../options.js';

interface DemoFlags {
  out: string;
  cases: number;
  testCases: number;
  size: Shape3;
  seed: number;
  maxIterations?: number;
  labeled?: number;
  ablations?: boolean;
  backend?: string;
  set: string[];
  json?: boolean;
}

interface DemoRow extends SegmentationMetrics {
  method: string;
  checkpoint: string;
  trainSeconds: number;
}

/** The variants the demo trains: TraCoCo, the supervised baseline, and optionally the ablations. */
const VARIANTS: { name: string; label: string; sets: string[]; models: (1 | 2)[]; ablation: boolean }[] = [
  { name: 'tracoco', label: 'TraCoCo', sets: [], models: [1, 2], ablation: false },
  { name: 'supervised', label: 'Supervised only (same labelled cases)', sets: ['train.semi_supervised=false'], models: [1], ablation: false },
  { name: 'no-translation', label: 'TraCoCo without translation term', sets: ['train.translation_loss=false'], models: [1, 2], ablation: true },
  { name: 'no-crc', label: 'TraCoCo with plain CE on pseudo-labels (no CRC)', sets: ['train.crc=false'], models: [1, 2], ablation: true },
  { name: 'no-cutmix', label: 'TraCoCo without CutMix', sets: ['train.cutmix=false'], models: [1, 2], ablation: true },
];

/** `tracoco demo`: synthesise a phantom set, train TraCoCo and a supervised baseline locally, evaluate, print the scores. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the local demo: synthesise a phantom dataset, train TraCoCo and a supervised-only baseline, evaluate both on the test split')
    .option('--out <dir>', 'demo directory (dataset and runs; earlier demo runs there are replaced)', 'runs/demo')
    .option('--cases <n>', 'phantom cases (train + test)', positiveInt, 42)
    .option('--test-cases <n>', 'phantom test cases', positiveInt, 10)
    .option('--size <XxYxZ>', 'phantom volume size', shapeXYZ, [64, 64, 48] as Shape3)
    .option('--seed <s>', 'seed of the dataset and the runs', nonNegativeInt, 0)
    .option('--max-iterations <n>', "override the phantom preset's train.max_iterations", positiveInt)
    .option('--labeled <n>', "override the phantom preset's data.labeled", positiveInt)
    .option('--ablations', 'also train without the translation term, without CRC and without CutMix')
    .option('--backend <name>', 'tensorflow | native | cpu (default: best available)')
    .option('--set <path=value>', 'override a config field of every run, e.g. --set train.unsup_weight=0.1 (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print the results as one JSON object')
    .action(async (flags: DemoFlags) => {
      const result = await runDemo(flags);
      printResult(Boolean(flags.json), result, () => demoTable(result.rows, result.config));
    });
}

export async function runDemo(flags: DemoFlags) {
  const logger = createLogger({ component: 'demo' });
  const out = resolve(flags.out);
  const t0 = performance.now();
  const { writePhantomDataset } = await import('../../shared/data/phantom-dataset.js');
  const { initBackend } = await import('../../shared/backend/index.js');
  const backend = await initBackend(flags.backend);
  logger.info('backend.selected', { backend: backend.name, detail: backend.detail });
  const dataDir = join(out, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  const data = await writePhantomDataset({ out: dataDir, cases: flags.cases, testCases: flags.testCases, shape: flags.size, seed: flags.seed });
  logger.info('demo.dataset', { root: data.root, training: data.training.length, test: data.test.length, size: formatShape(flags.size) });

  const rows: DemoRow[] = [];
  let base: TracocoConfig | null = null;
  for (const v of VARIANTS.filter((x) => !x.ablation || flags.ablations)) {
    const config = demoConfig(data.root, flags, v.sets);
    base ??= config;
    const runDir = join(out, v.name);
    rmSync(runDir, { recursive: true, force: true });
    const seconds = await train(config, runDir, backend.name, logger.child({ run: v.name }), v.label);
    for (const model of v.models) {
      const checkpoint = join(runDir, `model${model}.safetensors`);
      const label = v.models.length > 1 ? `${v.label} — model ${model}` : v.label;
      rows.push({ method: label, checkpoint, trainSeconds: seconds, ...(await evaluate(checkpoint, config, logger)) });
    }
  }
  return { out, backend: backend.name, seconds: (performance.now() - t0) / 1000, config: base!, rows };
}

function demoConfig(root: string, flags: DemoFlags, sets: string[]): TracocoConfig {
  return loadConfig({
    configArg: 'phantom',
    flags: {
      seed: flags.seed,
      data: { root, ...(flags.labeled !== undefined ? { labeled: flags.labeled } : {}) },
      ...(flags.maxIterations !== undefined ? { train: { max_iterations: flags.maxIterations } } : {}),
    },
    set: [...flags.set, ...sets],
  });
}

async function train(config: TracocoConfig, out: string, backend: string, logger: Logger, label: string): Promise<number> {
  const { runLocal } = await import('../../local/run-local.js');
  const { progressObserver } = await import('../progress.js');
  const t0 = performance.now();
  logger.info('demo.train', { method: label, iterations: config.train.max_iterations, labeled: config.data.labeled });
  await runLocal({ config, out, logger, backend, observer: progressObserver(logger, { label }) });
  return (performance.now() - t0) / 1000;
}

/** The final checkpoint on the test split with the preset's evaluation settings. */
async function evaluate(checkpoint: string, config: TracocoConfig, logger: Logger): Promise<SegmentationMetrics> {
  const { loadCheckpoint } = await import('../../shared/checkpoint/index.js');
  const { evaluateCase } = await import('../../shared/evaluation/index.js');
  const { meanMetrics } = await import('../../shared/metrics/index.js');
  const { openDataset } = await import('../../shared/io/index.js');
  const dataset = openDataset(config.data.root);
  const model = await loadCheckpoint(checkpoint);
  const e = config.eval;
  const cases: SegmentationMetrics[] = [];
  try {
    for (const id of dataset.ids('test')) {
      const c = await dataset.load(id, { classes: config.data.classes });
      const r = await evaluateCase(model, { id, image: c.image, label: c.label!, shape: c.shape }, {
        patch: e.patch,
        strideXY: e.stride_xy,
        strideZ: e.stride_z,
        batch: e.batch,
        postProcess: e.post_process,
      });
      cases.push(r.metrics);
    }
  } finally {
    model.dispose();
  }
  const mean = meanMetrics(cases);
  logger.info('demo.eval', { checkpoint, ...mean });
  return mean;
}

export function demoTable(rows: DemoRow[], config: TracocoConfig): string {
  const head = `${'method'.padEnd(60)} ${'Dice'.padStart(7)} ${'Jaccard'.padStart(8)} ${'95HD'.padStart(7)} ${'ASD'.padStart(7)} ${'train s'.padStart(8)}`;
  const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const lines = rows.map(
    (r) => `${r.method.padEnd(60)} ${fmt(r.dice, 4).padStart(7)} ${fmt(r.jaccard, 4).padStart(8)} ${fmt(r.hd95, 2).padStart(7)} ${fmt(r.asd, 2).padStart(7)} ${r.trainSeconds.toFixed(0).padStart(8)}`,
  );
  const setup =
    `phantom test split, final checkpoints; ${config.data.labeled} labelled cases, ${config.train.max_iterations} iterations, ` +
    `patch ${formatShape(config.data.patch)}, VNet-${config.model.filters}; 95HD and ASD in voxels`;
  return [setup, head, '-'.repeat(head.length), ...lines].join('\n');
}
