import { basename } from 'node:path';
import type { Command } from 'commander';
import { TracocoError } from '../../shared/errors.js';
import { ARCHITECTURES, type Architecture } from '../../shared/names.js';
import { oneOf, positiveInt, printResult } from '../options.js';

const NORMALIZATION_CHOICES = ['batchnorm', 'groupnorm', 'instancenorm', 'none'] as const;

export interface ImportTorchFlags {
  input: string;
  output: string;
  architecture?: Architecture;
  nFilters?: number;
  classes?: number;
  normalization?: (typeof NORMALIZATION_CHOICES)[number];
  inChannels?: number;
  json?: boolean;
}

export interface ImportTorchReport {
  input: string;
  output: string;
  architecture: Architecture;
  /** First level's channels. */
  n_filters: number;
  n_classes: number;
  n_channels: number;
  /** The VNet's normalisation; the UNets' is fixed (instancenorm / batchnorm). */
  normalization: string;
  tensors: number;
}

/** `tracoco import-torch` (GUIDE §3): a PyTorch network's state_dict (`torch.save` zip) -> tracoco checkpoint. */
export function registerImportTorch(program: Command): void {
  program
    .command('import-torch')
    .description('read a PyTorch VNet, 3D UNet or 2D UNet state_dict (.pth saved by torch.save, PyTorch >= 1.6) into a tracoco checkpoint (.safetensors)')
    .requiredOption('--input <file>', 'PyTorch checkpoint (.pth)')
    .requiredOption('--output <file>', 'tracoco checkpoint to write (.safetensors)')
    .option('--architecture <name>', `${ARCHITECTURES.join(' | ')} (default: read from the key names); a state_dict of another network is refused`, oneOf(ARCHITECTURES))
    .option('--n-filters <n>', 'first level\'s channels, checked against the weights (default: read from the first convolution)', positiveInt)
    .option('--classes <n>', 'output classes, checked against the weights (default: read from the output convolution)', positiveInt)
    .option('--normalization <kind>', 'VNet normalization layers (default: inferred from the keys)', oneOf(NORMALIZATION_CHOICES))
    .option('--in-channels <n>', 'input channels, checked against the weights (default: read from the first convolution)', positiveInt)
    .option('--json', 'print the architecture and tensor count as one JSON object on stdout')
    .action(async (flags: ImportTorchFlags) => {
      const report = await runImportTorch(flags);
      printResult(flags.json === true, report, () =>
        `imported ${report.tensors} tensors (${report.architecture} n_filters ${report.n_filters}, n_classes ${report.n_classes}, ${report.normalization}) into ${report.output}`,
      );
    });
}

export async function runImportTorch(flags: ImportTorchFlags): Promise<ImportTorchReport> {
  if (!flags.output.toLowerCase().endsWith('.safetensors')) {
    throw new TracocoError(`expected a .safetensors file name, got ${flags.output}`, { flag: '--output' });
  }
  const { initBackend } = await import('../../shared/backend/index.js');
  await initBackend('cpu'); // a data conversion: the JavaScript backend always loads
  const { loadTorchStateDict, networkSpecFor, saveCheckpoint } = await import('../../shared/checkpoint/index.js');
  const { architectureOf, networkFromStateDict } = await import('../../shared/model/index.js');
  const sd = await loadTorchStateDict(flags.input);
  const found = architectureOf(sd, flags.input);
  if (flags.architecture && flags.architecture !== found) {
    throw new TracocoError(`--architecture ${flags.architecture}, but the file holds a ${found} state_dict`, { file: flags.input, flag: '--architecture' });
  }
  const inferred = networkSpecFor(sd, {}, flags.input);
  // Flags override what the weights say; the strict load below refuses any that do not fit them.
  const spec = {
    ...inferred,
    ...(flags.classes !== undefined && { classes: flags.classes }),
    ...(flags.inChannels !== undefined && { inChannels: flags.inChannels }),
    ...(inferred.architecture !== 'unet2d' && flags.nFilters !== undefined && { filters: flags.nFilters }),
    ...(inferred.architecture === 'vnet' && flags.normalization !== undefined && { normalization: flags.normalization }),
  } as typeof inferred;
  if (inferred.architecture === 'unet2d' && flags.nFilters !== undefined && flags.nFilters !== inferred.channels[0]) {
    throw new TracocoError(`--n-filters ${flags.nFilters}, but the first level has ${inferred.channels[0]} channels`, { file: flags.input, flag: '--n-filters' });
  }
  if (inferred.architecture !== 'vnet' && flags.normalization !== undefined) {
    throw new TracocoError(`a ${inferred.architecture} has no choice of normalization`, { flag: '--normalization' });
  }
  const model = networkFromStateDict(spec, sd, flags.input);
  try {
    await saveCheckpoint(flags.output, model, { imported_from: basename(flags.input) });
  } finally {
    model.dispose();
  }
  return {
    input: flags.input,
    output: flags.output,
    architecture: spec.architecture,
    n_filters: spec.architecture === 'unet2d' ? spec.channels[0]! : spec.filters,
    n_classes: spec.classes,
    n_channels: spec.inChannels,
    normalization: spec.architecture === 'vnet' ? spec.normalization : spec.architecture === 'unet3d' ? 'instancenorm' : 'batchnorm',
    tensors: sd.size,
  };
}
