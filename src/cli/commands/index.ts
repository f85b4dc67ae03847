import type { Command } from 'commander';
import { registerSynth } from './synth.js';
import { registerTrain } from './train.js';
import { registerCoordinator } from './coordinator.js';
import { registerWorker } from './worker.js';
import { registerEval } from './eval.js';
import { registerPredict } from './predict.js';
import { registerMetrics } from './metrics.js';
import { registerConvert } from './convert.js';
import { registerImportTorch } from './import-torch.js';
import { registerBench } from './bench.js';
import { registerDemo } from './demo.js';
import { registerExperiment } from './experiment.js';
import { registerChaos } from './chaos.js';

/** Every subcommand registers itself on the program; order here is the order in `--help`. */
export type RegisterCommand = (program: Command) => void;

export const commandModules: RegisterCommand[] = [
  registerDemo,
  registerSynth,
  registerTrain,
  registerExperiment,
  registerCoordinator,
  registerWorker,
  registerChaos,
  registerEval,
  registerPredict,
  registerMetrics,
  registerConvert,
  registerImportTorch,
  registerBench,
];
