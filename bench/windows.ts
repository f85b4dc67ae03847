/**
 * `tracoco bench windows`: one sliding-window evaluation per architecture (min-max normalise,
 * eval-mode network with random weights over the windows, softmax averaged, as `tracoco eval`)
 * of a phantom volume (`--volume`, default 112×112×80), with each architecture's preset windows:
 * VNet the LA reference 112×112×80 at stride 18/4, UNet3D BraTS's 96³ at stride 64, UNet2D slice
 * by slice over 112×112×80 windows at stride 18/4 (ACDC has no sliding window; a window covering
 * the volume is one pass over its slices). `--patch`, `--stride-xy`, `--stride-z` replace them for
 * every architecture. Reports seconds and windows/s, median of `--runs` after a one-window warm-up.
 */
import type * as tfType from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Architecture } from '../src/shared/model/network.js';
import type { Shape3 } from '../src/shared/volume.js';
import { architectureList, benchNetworkSpec, networkLabel } from './lib/nets.js';
import { ARCHITECTURES } from '../src/shared/names.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';

interface WindowsBenchOptions extends Record<string, unknown> {
  architectures: Architecture[];
  volume: Shape3;
  filters: number;
  patch?: Shape3;
  strideXy?: number;
  strideZ?: number;
  windowBatch: number;
  backend: string;
  runs: number;
}

/** Each architecture's windows: the la preset (schema default), brats, and LA's for the slices. */
const PRESET_WINDOWS: Record<Architecture, { patch: Shape3; strideXY: number; strideZ: number }> = {
  vnet: { patch: [112, 112, 80], strideXY: 18, strideZ: 4 },
  unet3d: { patch: [96, 96, 96], strideXY: 64, strideZ: 64 },
  unet2d: { patch: [112, 112, 80], strideXY: 18, strideZ: 4 },
};

export const spec: BenchSpec<WindowsBenchOptions> = {
  name: 'windows',
  description: 'one sliding-window evaluation per architecture (preset windows, random weights): s and windows/s',
  options: [
    { flags: '--architectures <list>', description: 'vnet, unet3d, unet2d (comma-separated)', parse: architectureList, default: [...ARCHITECTURES] },
    { flags: '--volume <XxYxZ>', description: 'phantom volume size', parse: shapeXYZ, default: [112, 112, 80] },
    { flags: '--filters <n>', description: 'first-level channels', parse: positiveInt, default: 16 },
    { flags: '--patch <XxYxZ>', description: 'window for every architecture (default: each preset)', parse: shapeXYZ },
    { flags: '--stride-xy <n>', description: 'window stride in x and y (default: each preset)', parse: positiveInt },
    { flags: '--stride-z <n>', description: 'window stride in z (default: each preset)', parse: positiveInt },
    { flags: '--window-batch <n>', description: 'windows per forward', parse: positiveInt, default: 1 },
    { flags: '--backend <name>', description: 'tfjs backend', default: 'native' },
    { flags: '--runs <n>', description: 'timed evaluations per architecture (median)', parse: positiveInt, default: 1 },
  ],
  async run(o) {
    const tf = await import('@tensorflow/tfjs-core');
    const { initBackend } = await import('../src/shared/backend/index.js');
    const { createNetwork } = await import('../src/shared/model/network.js');
    const { evalModePredictor, slidingWindowPredict, windowStarts, centredPadding, checkWindowPatch } = await import('../src/shared/inference/index.js');
    const { normalizeMinMax } = await import('../src/shared/data/intensity.js');
    const { generatePhantomCase } = await import('../src/shared/data/phantom.js');
    const backend = await initBackend(o.backend);
    const phantom = generatePhantomCase({ seed: 1, index: 0, shape: o.volume });
    const image = normalizeMinMax(phantom.image);
    const results = [];
    for (const architecture of o.architectures) {
      const preset = PRESET_WINDOWS[architecture];
      const patch = o.patch ?? preset.patch;
      const settings = { patch, strideXY: o.strideXy ?? preset.strideXY, strideZ: o.strideZ ?? preset.strideZ, batch: o.windowBatch };
      checkWindowPatch(patch, architecture, '--patch');
      const padded = o.volume.map((s, a) => s + centredPadding(o.volume, patch)[a]!.reduce((x, y) => x + y, 0));
      const windows = padded.reduce((n, s, a) => n * windowStarts(s, patch[a]!, a < 2 ? settings.strideXY : settings.strideZ).length, 1);
      const netSpec = await benchNetworkSpec(architecture, o.filters);
      const net = createNetwork(netSpec, 1);
      const predict = evalModePredictor(net);
      tf.tidy(() => void predict(tf.zeros([1, ...patch, 1]) as tfType.Tensor5D).dataSync());
      const times: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const t0 = performance.now();
        await slidingWindowPredict(predict, image, o.volume, settings);
        times.push(performance.now() - t0);
      }
      net.dispose();
      const seconds = median(times) / 1000;
      results.push({
        architecture,
        network: networkLabel(netSpec),
        patch,
        stride_xy: settings.strideXY,
        stride_z: settings.strideZ,
        windows,
        ...(architecture === 'unet2d' ? { slices: windows * patch[2] } : {}),
        seconds: round(seconds, 2),
        windows_per_s: round(windows / seconds, 2),
      });
    }
    return {
      backend: backend.name,
      volume: o.volume,
      window_batch: o.windowBatch,
      runs: o.runs,
      architectures: results,
      rss_peak_mb: round(process.resourceUsage().maxRSS / 1024, 0),
    };
  },
};

runIfMain(import.meta.url, spec);
