import { basename } from 'node:path';
import type { Command } from 'commander';
import { TracocoError } from '../../shared/errors.js';
import { oneOf, positiveInt, printResult } from '../options.js';

const NORMALIZATION_CHOICES = ['batchnorm', 'groupnorm', 'instancenorm', 'none'] as const;

export interface ImportTorchFlags {
  input: string;
  output: string;
  nFilters?: number;
  classes?: number;
  normalization?: (typeof NORMALIZATION_CHOICES)[number];
  inChannels?: number;
  json?: boolean;
}

export interface ImportTorchReport {
  input: string;
  output: string;
  n_filters: number;
  n_classes: number;
  n_channels: number;
  normalization: string;
  tensors: number;
}

/** `tracoco import-torch` (GUIDE §3): a PyTorch VNet state_dict (`torch.save` zip) -> tracoco checkpoint. */
export function registerImportTorch(program: Command): void {
  program
    .command('import-torch')
    .description('read a PyTorch VNet state_dict (.pth saved by torch.save, PyTorch >= 1.6) into a tracoco checkpoint (.safetensors)')
    .requiredOption('--input <file>', 'PyTorch checkpoint (.pth)')
    .requiredOption('--output <file>', 'tracoco checkpoint to write (.safetensors)')
    .option('--n-filters <n>', 'VNet base filters (default: read from block_one.conv.0.weight)', positiveInt)
    .option('--classes <n>', 'output classes (default: read from out_conv.weight)', positiveInt)
    .option('--normalization <kind>', 'normalization layers (default: inferred from the keys)', oneOf(NORMALIZATION_CHOICES))
    .option('--in-channels <n>', 'input channels (default: read from block_one.conv.0.weight)', positiveInt)
    .option('--json', 'print the architecture and tensor count as one JSON object on stdout')
    .action(async (flags: ImportTorchFlags) => {
      const report = await runImportTorch(flags);
      printResult(flags.json === true, report, () =>
        `imported ${report.tensors} tensors (VNet n_filters ${report.n_filters}, n_classes ${report.n_classes}, ${report.normalization}) into ${report.output}`,
      );
    });
}

export async function runImportTorch(flags: ImportTorchFlags): Promise<ImportTorchReport> {
  if (!flags.output.toLowerCase().endsWith('.safetensors')) {
    throw new TracocoError(`expected a .safetensors file name, got ${flags.output}`, { flag: '--output' });
  }
  const { initBackend } = await import('../../shared/backend/index.js');
  await initBackend('cpu'); // a data conversion: the JavaScript backend always loads
  const { loadTorchStateDict, inferVNetConfig, saveCheckpoint } = await import('../../shared/checkpoint/index.js');
  const { VNet } = await import('../../shared/model/vnet.js');
  const sd = await loadTorchStateDict(flags.input);
  const inferred = inferVNetConfig(sd, flags.input);
  const config = {
    ...inferred,
    filters: flags.nFilters ?? inferred.filters,
    classes: flags.classes ?? inferred.classes,
    inChannels: flags.inChannels ?? inferred.inChannels,
    normalization: flags.normalization ?? inferred.normalization,
  };
  const model = VNet.fromStateDict(config, sd, flags.input);
  try {
    await saveCheckpoint(flags.output, model, { imported_from: basename(flags.input) });
  } finally {
    model.dispose();
  }
  return {
    input: flags.input,
    output: flags.output,
    n_filters: config.filters,
    n_classes: config.classes,
    n_channels: config.inChannels,
    normalization: config.normalization,
    tensors: sd.size,
  };
}
