/**
 * `tracoco bench conv3d`: GFLOP/s of the three conv3d kernels (forward, backward-input,
 * backward-filter, and both backward kernels together) on two VNet shapes — 32->32 channels 3x3x3
 * on 28x28x20 and 16->16 on 112x112x80, batch 1, stride 1, 'same' — on the `native` backend (each
 * oneDNN layout, and the default one) against the tfjs `cpu` backend.
 * FLOPs = 2 * k^3 * Cin * Cout * output voxels * batch per kernel.
 * The cpu backend takes ~30 s per call on the large shape, so it runs there only with --cpu-large.
 * Targets on the 2-core development machine: forward >= 100 GFLOP/s, backward >= 60 GFLOP/s.
 */
import { performance } from 'node:perf_hooks';
import { positiveInt } from '../src/cli/options.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';

interface Conv3dBenchOptions extends Record<string, unknown> {
  runs: number;
  cpuRuns: number;
  cpuLarge: boolean;
  skipCpu: boolean;
}

interface ConvCase {
  name: string;
  /** [N, D, H, W, C] */
  input: [number, number, number, number, number];
  kernel: number;
  outChannels: number;
  /** whether the cpu backend runs it by default */
  cpuByDefault: boolean;
}

const CASES: ConvCase[] = [
  { name: '32to32_28x28x20', input: [1, 28, 28, 20, 32], kernel: 3, outChannels: 32, cpuByDefault: true },
  { name: '16to16_112x112x80', input: [1, 112, 112, 80, 16], kernel: 3, outChannels: 16, cpuByDefault: false },
];

const KERNELS = ['forward', 'backwardInput', 'backwardFilter'] as const;
type KernelKind = (typeof KERNELS)[number];

interface Figure {
  ms: number;
  gflops: number;
}
type Figures = Record<KernelKind | 'backward', Figure>;

function flopsOf(c: ConvCase): number {
  const [n, d, h, w, cin] = c.input;
  return 2 * c.kernel ** 3 * cin * c.outChannels * d * h * w * n; // 'same', stride 1: output = input voxels
}

export const spec: BenchSpec<Conv3dBenchOptions> = {
  name: 'conv3d',
  description: 'conv3d forward/backward GFLOP/s: native (oneDNN) vs tfjs cpu on two VNet shapes',
  options: [
    { flags: '--runs <n>', description: 'timed native runs per kernel after one warm-up (median reported)', parse: positiveInt, default: 7 },
    { flags: '--cpu-runs <n>', description: 'timed tfjs cpu runs per kernel (median reported)', parse: positiveInt, default: 1 },
    { flags: '--cpu-large', description: 'also time the tfjs cpu backend on 112x112x80 (~30 s per call)', default: false },
    { flags: '--skip-cpu', description: 'do not time the tfjs cpu backend at all', default: false },
  ],
  async run({ runs, cpuRuns, cpuLarge, skipCpu }) {
    const tf = await import('@tensorflow/tfjs-core');
    const backend = await import('../src/shared/backend/index.js');
    const conv = await import('../src/shared/backend/kernels/conv3d.js');
    const { loadNativeAddon } = await import('../src/shared/backend/native-addon.js');
    const info = await backend.initBackend('native');
    const addon = loadNativeAddon();
    if (!addon.ok) throw new Error(addon.reason);

    /** Median ms of one kernel on the active backend; inputs are created on that backend. */
    const timeKernel = (c: ConvCase, kind: KernelKind, timed: number, warmup: boolean): number => {
      const [n, d, h, w, cin] = c.input;
      const k = c.kernel;
      const filterShape: [number, number, number, number, number] = [k, k, k, cin, c.outChannels];
      const x = tf.randomUniform(c.input, -1, 1, 'float32', 1);
      const filter = tf.randomUniform(filterShape, -1, 1, 'float32', 2);
      const dy = tf.randomUniform([n, d, h, w, c.outChannels], -1, 1, 'float32', 3);
      const attrs = { strides: [1, 1, 1], pad: 'same', dilations: [1, 1, 1], dataFormat: 'NDHWC' };
      const once = () => {
        const out =
          kind === 'forward'
            ? tf.engine().runKernel('Conv3D', { x, filter }, attrs)
            : kind === 'backwardInput'
              ? tf.engine().runKernel('Conv3DBackpropInputV2', { dy, filter }, { ...attrs, inputShape: c.input })
              : tf.engine().runKernel('Conv3DBackpropFilterV2', { x, dy }, { ...attrs, filterShape });
        (out as { dispose(): void }).dispose();
      };
      if (warmup) once();
      const times: number[] = [];
      for (let r = 0; r < timed; r++) {
        const start = performance.now();
        once();
        times.push(performance.now() - start);
      }
      tf.dispose([x, filter, dy]);
      return median(times);
    };

    const figures = (c: ConvCase, timed: number, warmup: boolean): Figures => {
      const flops = flopsOf(c);
      const fig = (ms: number, f = flops): Figure => ({ ms: round(ms, 2), gflops: round(f / ms / 1e6, 2) });
      const ms = Object.fromEntries(KERNELS.map((k) => [k, timeKernel(c, k, timed, warmup)])) as Record<KernelKind, number>;
      return {
        forward: fig(ms.forward),
        backwardInput: fig(ms.backwardInput),
        backwardFilter: fig(ms.backwardFilter),
        backward: fig(ms.backwardInput + ms.backwardFilter, 2 * flops),
      };
    };

    const defaults = conv.convLayouts();
    const results = [];
    for (const c of CASES) {
      await tf.setBackend('native');
      const [n, d, h, w, cin] = c.input;
      const convInfo = tf.backend_util.computeConv3DInfo(c.input, [c.kernel, c.kernel, c.kernel, cin, c.outChannels], 1, 1, 'same');
      const perLayout: Record<string, Figures & { impl: Record<KernelKind, string> }> = {};
      for (const layout of conv.CONV_LAYOUTS) {
        conv.setConvLayouts({ forward: layout, backwardData: layout, backwardWeights: layout });
        perLayout[layout] = { ...figures(c, runs, true), impl: implNames(conv, addon.addon, convInfo, layout) };
      }
      conv.setConvLayouts(defaults);
      const native = { layouts: { ...defaults }, ...figures(c, runs, true), impl: implNames(conv, addon.addon, convInfo) };

      let cpuFigures: Figures | { skipped: string };
      if (skipCpu) cpuFigures = { skipped: 'disabled with --skip-cpu' };
      else if (!c.cpuByDefault && !cpuLarge) cpuFigures = { skipped: 'tfjs cpu takes ~30 s per call here; opt in with --cpu-large (runs once, no warm-up)' };
      else {
        await tf.setBackend('cpu');
        cpuFigures = c.cpuByDefault ? figures(c, cpuRuns, true) : figures(c, 1, false);
      }
      results.push({
        name: c.name,
        input: [n, d, h, w, cin],
        filter: [c.kernel, c.kernel, c.kernel, cin, c.outChannels],
        gflopPerKernel: round(flopsOf(c) / 1e9, 2),
        native,
        nativeByLayout: perLayout,
        cpu: cpuFigures,
      });
    }
    await tf.setBackend('native');
    return {
      backend: info.detail,
      threads: info.threads,
      runs: { native: runs, cpu: cpuRuns, statistic: 'median after one warm-up' },
      targets: { forwardGflops: 100, backwardGflops: 60 },
      note: 'wall-clock timings on a shared machine are noisy; compare runs taken together',
      cases: results,
    };
  },
};

function implNames(
  conv: typeof import('../src/shared/backend/kernels/conv3d.js'),
  addon: import('../src/shared/backend/native-addon.js').NativeAddon,
  info: import('@tensorflow/tfjs-core').backend_util.Conv3DInfo,
  layout?: import('../src/shared/backend/kernels/conv3d.js').ConvLayout,
): Record<KernelKind, string> {
  return {
    forward: conv.conv3dImplementation(addon, 'forward', info, layout),
    backwardInput: conv.conv3dImplementation(addon, 'backwardData', info, layout),
    backwardFilter: conv.conv3dImplementation(addon, 'backwardWeights', info, layout),
  };
}

runIfMain(import.meta.url, spec);
