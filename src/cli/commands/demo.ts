import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/log.js';
import { METHOD_NAMES, type MethodName } from '../../shared/experiment/methods.js';
import { experimentTable, type ExperimentReport } from '../../shared/experiment/report.js';
import { appearanceOf, MAX_NOISE_SPREAD, VESSEL_POLARITIES, type VesselPolarity } from '../../shared/data/phantom.js';
import type { Shape3 } from '../../shared/volume.js';
import { formatShape } from '../../shared/volume.js';
import { nonNegativeInt, numberIn, oneOf, positiveInt, positiveNumber, printResult, shapeXYZ, unitInterval } from '../options.js';
import { addRunConfigFlags, runConfigOverrides, type RunConfigFlags } from '../run-flags.js';
import { DEFAULT_METHODS, experimentCommand } from './experiment.js';

interface DemoFlags extends RunConfigFlags {
  out: string;
  cases: number;
  testCases: number;
  size: Shape3;
  seeds: number;
  dataSeed: number;
  contrast: number;
  noise: number;
  variability: number;
  noiseSpread: number;
  vessel: VesselPolarity;
  ablations?: boolean;
  backend?: string;
  json?: boolean;
}

/**
 * A harder phantom than `synth`'s default — four times the noise, the widest case-to-case
 * appearance spread, every touching structure darker than the organ, and a noise level that
 * differs from case to case by up to 4× either way (scanners of different signal-to-noise) — so
 * that two labelled cases rarely span the other cases' noise levels and labels are the
 * bottleneck: supervised-all is well above supervised. Chosen on datasets of other seeds
 * (100–102; README), never on the demo's own.
 */
export const DEMO_APPEARANCE = { contrast: 1.0, noise: 0.5, variability: 1, noiseSpread: 1.4, vessel: 'darker' as VesselPolarity } as const;

const ABLATIONS: MethodName[] = ['tracoco-cross', 'no-translation', 'ce-instead-of-crc', 'no-cutmix'];

/**
 * `tracoco demo`: synthesise a phantom set, then the experiment of GUIDE §10 on it — supervised on
 * the labelled cases, TraCoCo, and supervised on every case (the ceiling) — and the table.
 */
export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('the local demo: synthesise a phantom dataset; train supervised-only, TraCoCo and the every-case-labelled ceiling; evaluate on the test split; print mean ± sd per method')
    .option('--out <dir>', 'demo directory (dataset, runs, experiment.json, dice.png; replaced unless the same settings can resume)', 'runs/demo')
    .option('--cases <n>', 'phantom cases (train + test)', positiveInt, 42)
    .option('--test-cases <n>', 'phantom test cases', positiveInt, 10)
    .option('--size <XxYxZ>', 'phantom volume size', shapeXYZ, [64, 64, 48] as Shape3)
    .option('--data-seed <s>', 'seed of the phantom dataset', nonNegativeInt, 0)
    .option('--seeds <n>', 'training seeds per method (0, 1, ...)', positiveInt, 1)
    .option('--contrast <f>', 'phantom: organ vs touching structures, fraction of the organ/tissue contrast', positiveNumber, DEMO_APPEARANCE.contrast)
    .option('--noise <f>', 'phantom: noise sigma, fraction of the organ/tissue contrast', positiveNumber, DEMO_APPEARANCE.noise)
    .option('--variability <f>', 'phantom: case-to-case appearance variability in [0, 1]', unitInterval, DEMO_APPEARANCE.variability)
    .option('--noise-spread <f>', "phantom: a case's noise sigma is --noise × e^u, u uniform in ±f", numberIn(0, MAX_NOISE_SPREAD), DEMO_APPEARANCE.noiseSpread)
    .option('--vessel <polarity>', `phantom: the vessel is ${VESSEL_POLARITIES.join(' | ')} than the organ`, oneOf(VESSEL_POLARITIES), DEMO_APPEARANCE.vessel)
    .option('--ablations', 'also train TraCoCo with cross pairing + class KL, without the translation term, with CE instead of CRC and without CutMix')
    .option('--backend <name>', 'tensorflow | native | cpu (default: best available)')
    .option('--json', 'print experiment.json as one JSON object');
  addRunConfigFlags(cmd, ['data', 'seed']);
  cmd.action(async (flags: DemoFlags) => {
    const t0 = performance.now();
    const report = await runDemo(flags);
    const seconds = (performance.now() - t0) / 1000;
    printResult(Boolean(flags.json), report, () => `${demoTable(report)}\n\ndemo wall time ${seconds.toFixed(0)} s; runs, experiment.json and dice.png in ${resolve(flags.out)}`);
  });
}

export async function runDemo(flags: DemoFlags): Promise<ExperimentReport> {
  const logger = createLogger({ component: 'demo' });
  const out = resolve(flags.out);
  const { writePhantomDataset } = await import('../../shared/data/phantom-dataset.js');
  const dataDir = join(out, 'data');
  const appearance = appearanceOf(flags);
  const dataset = { cases: flags.cases, testCases: flags.testCases, size: flags.size, seed: flags.dataSeed, ...appearance };
  // The dataset is rewritten byte-identically for the same settings, so finished runs stay valid;
  // runs trained on other phantoms are not (their configs match), so they go with the old dataset.
  if (!sameDataset(out, dataset)) {
    const owned = [...METHOD_NAMES, 'experiment.json', 'dice.png'].map((name) => join(out, name)).filter((path) => existsSync(path));
    if (owned.length > 0) logger.info('demo.replaced', { out, reason: 'runs of other phantom settings', removed: owned.length });
    for (const path of owned) rmSync(path, { recursive: true, force: true });
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, DATASET_SETTINGS), `${JSON.stringify(dataset)}\n`);
  const data = await writePhantomDataset({ out: dataDir, cases: flags.cases, testCases: flags.testCases, shape: flags.size, seed: flags.dataSeed, appearance });
  logger.info('demo.dataset', { root: data.root, training: data.training.length, test: data.test.length, size: formatShape(flags.size), ...appearance });
  const overrides = runConfigOverrides(flags);
  const config = loadConfig({ configArg: 'phantom', flags: { ...overrides, data: { ...overrides.data, root: data.root } }, set: flags.set });
  const methods = [...DEFAULT_METHODS, ...(flags.ablations ? ABLATIONS : [])];
  const seeds = Array.from({ length: flags.seeds }, (_, i) => i);
  return experimentCommand({ config, methods, seeds, out, backend: flags.backend, logger, label: 'demo', replaceStale: true });
}

/** Where a demo directory records the phantom settings its runs were trained on. */
const DATASET_SETTINGS = 'demo-dataset.json';

function sameDataset(out: string, dataset: object): boolean {
  try {
    return readFileSync(join(out, DATASET_SETTINGS), 'utf8').trim() === JSON.stringify(dataset);
  } catch {
    return false;
  }
}

export function demoTable(report: ExperimentReport): string {
  const c = report.config;
  return experimentTable(
    report,
    `phantom test split; ${c.data.labeled} labelled cases, ${c.train.max_iterations} iterations, batch ${c.train.batch_size}, patch ${formatShape(c.data.patch)}, VNet-${c.model.filters}`,
  );
}
