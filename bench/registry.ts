import type { BenchSpec } from './lib/spec.js';
import { spec as conv3dBench } from './conv3d.js';
import { spec as evalBench } from './eval.js';
import { spec as exchangeBench } from './exchange.js';
import { spec as loadBench } from './load.js';
import { spec as localBench } from './local.js';
import { spec as metricsBench } from './metrics.js';
import { spec as networksBench } from './networks.js';
import { spec as stepBench } from './step.js';
import { spec as unetKernelsBench } from './unet-kernels.js';
import { spec as vnetBench } from './vnet.js';
import { spec as windowsBench } from './windows.js';

/**
 * Every benchmark available as `tracoco bench <name>`. Each module exports a `spec` whose `run`
 * imports its heavy dependencies lazily, so listing them costs nothing.
 */
export const benchSpecs: BenchSpec<any>[] = [conv3dBench, vnetBench, stepBench, evalBench, exchangeBench, localBench, loadBench, metricsBench, networksBench, unetKernelsBench, windowsBench];
