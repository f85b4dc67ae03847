/**
 * `tracoco bench eval`: seconds of the reference sliding-window evaluation of one LA-sized volume
 * (GUIDE §5, §9): min-max normalise, eval-mode VNet over 112×112×80 windows at stride 18/4,
 * softmax averaged over windows, argmax. The volume is the first case of
 * ../shared/data/la-train/eval.list when that dataset is there, else a phantom of 175×132×88.
 * With `--vs-pytorch` the same evaluation by PyTorch (bench/peers/torch_eval.py, same volume,
 * same windows) alternates with ours, `--pairs` times; the figure is the ratio of the medians.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Shape3 } from '../src/shared/volume.js';
import { pytorchUnavailable, runPytorchPeer, type PeerResult } from './lib/pytorch-peer.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';
import { vnetConvFlops } from './vnet.js';

interface EvalBenchOptions extends Record<string, unknown> {
  filters: number;
  patch: Shape3;
  strideXy: number;
  strideZ: number;
  windowBatch: number;
  data: string;
  backend?: string;
  runs: number;
  vsPytorch?: boolean;
  pairs: number;
}

const PHANTOM_SHAPE: Shape3 = [175, 132, 88];

export const spec: BenchSpec<EvalBenchOptions> = {
  name: 'eval',
  description: 'sliding-window evaluation of one LA-sized volume (VNet-16, reference windows): s',
  options: [
    { flags: '--filters <n>', description: 'VNet base filters', parse: positiveInt, default: 16 },
    { flags: '--patch <XxYxZ>', description: 'window size', parse: shapeXYZ, default: [112, 112, 80] },
    { flags: '--stride-xy <n>', description: 'window stride in x and y', parse: positiveInt, default: 18 },
    { flags: '--stride-z <n>', description: 'window stride in z', parse: positiveInt, default: 4 },
    { flags: '--window-batch <n>', description: 'windows per forward (the reference: 1)', parse: positiveInt, default: 1 },
    { flags: '--data <dir>', description: 'LA dataset (reference HDF5 layout); a phantom when absent', default: '../shared/data/la-train' },
    { flags: '--backend <name>', description: 'tfjs backend (default: the fastest available)' },
    { flags: '--runs <n>', description: 'timed evaluations per measurement (median)', parse: positiveInt, default: 1 },
    { flags: '--vs-pytorch', description: 'also time PyTorch (bench/peers/torch_eval.py), alternating with ours' },
    { flags: '--pairs <n>', description: 'with --vs-pytorch: alternating measurements of each side', parse: positiveInt, default: 3 },
  ],
  async run(o) {
    const tf = await import('@tensorflow/tfjs-core');
    const { initBackend } = await import('../src/shared/backend/index.js');
    const { VNet } = await import('../src/shared/model/vnet.js');
    const { evalModePredictor, slidingWindowPredict, windowStarts, centredPadding } = await import('../src/shared/inference/index.js');
    const { normalizeMinMax } = await import('../src/shared/data/intensity.js');
    const { winogradCalls } = await import('../src/shared/backend/kernels/winograd.js');
    const backend = await initBackend(o.backend);
    const volume = await loadVolume(o.data);
    const config = { inChannels: 1, classes: 2, filters: o.filters, normalization: 'batchnorm' as const, dropout: true };
    const model = VNet.create(config, 1);
    const settings = { patch: o.patch, strideXY: o.strideXy, strideZ: o.strideZ, batch: o.windowBatch };
    const padded = volume.shape.map((s, a) => s + centredPadding(volume.shape, o.patch)[a]!.reduce((x, y) => x + y, 0));
    const windows = padded.reduce((n, s, a) => n * windowStarts(s, o.patch[a]!, a < 2 ? o.strideXy : o.strideZ).length, 1);
    const measure = async () => {
      const times: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const t0 = performance.now();
        await slidingWindowPredict(evalModePredictor(model), normalizeMinMax(volume.image), volume.shape, settings);
        times.push(performance.now() - t0);
      }
      return median(times);
    };
    // Warm-up on a single window: primitive creation and JIT, not a whole volume. It also counts
    // the convolutions one window runs through the Winograd path (0 when it is off).
    const winogradBefore = winogradCalls();
    tf.dispose(model.forward(tf.zeros([1, ...o.patch, 1]) as never, { training: false }));
    const winogradPerWindow = winogradCalls() - winogradBefore;
    let pytorch: Record<string, unknown> | undefined;
    let ours: number[];
    const unavailable = o.vsPytorch ? pytorchUnavailable() : null;
    if (o.vsPytorch && !unavailable) {
      const dir = mkdtempSync(join(tmpdir(), 'tracoco-bench-eval-'));
      try {
        const input = join(dir, 'image.f32');
        writeFileSync(input, volume.image);
        const args = ['--input', input, '--shape', volume.shape.join('x'), '--filters', String(o.filters), '--patch', o.patch.join('x'),
          '--stride-xy', String(o.strideXy), '--stride-z', String(o.strideZ), '--runs', String(o.runs)];
        const theirs: PeerResult[] = [];
        ours = [];
        for (let k = 0; k < o.pairs; k++) {
          ours.push(await measure());
          theirs.push(runPytorchPeer('torch_eval.py', args, 1_800_000));
        }
        const theirsMs = median(theirs.map((t) => t.median_ms));
        pytorch = {
          torch: theirs[0]!.torch,
          threads: theirs[0]!.threads,
          seconds: round(theirsMs / 1000, 2),
          pairs: ours.map((t, k) => ({ tracoco_s: round(t / 1000, 2), pytorch_s: round(theirs[k]!.median_ms / 1000, 2) })),
          speedup: round(theirsMs / median(ours), 2),
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      if (unavailable) process.stderr.write(`bench eval: PyTorch side skipped: ${unavailable}\n`);
      ours = [await measure()];
      if (unavailable) pytorch = { skipped: unavailable };
    }
    model.dispose();
    const ms = median(ours);
    const flops = (await vnetConvFlops(config, o.patch, 1)).forward * windows;
    return {
      backend: backend.name,
      volume: volume.source,
      shape: volume.shape,
      filters: o.filters,
      patch: o.patch,
      stride_xy: o.strideXy,
      stride_z: o.strideZ,
      windows,
      seconds: round(ms / 1000, 2),
      conv_tflop: round(flops / 1e12, 2),
      effective_gflops: round(flops / 1e9 / (ms / 1000), 1),
      rss_peak_mb: round(process.resourceUsage().maxRSS / 1024, 0),
      winograd_convs_per_window: winogradPerWindow,
      ...(pytorch ? { pytorch } : {}),
    };
  },
};

async function loadVolume(data: string): Promise<{ image: Float32Array; shape: Shape3; source: string }> {
  const list = join(resolve(data), 'eval.list');
  if (existsSync(list)) {
    const { readHdf5Case } = await import('../src/shared/io/hdf5.js');
    const id = readFileSync(list, 'utf8').split('\n').map((l) => l.trim()).find((l) => l.length > 0)!;
    const path = join(resolve(data), id, 'mri_norm2.h5');
    const c = await readHdf5Case(path);
    return { image: c.image, shape: c.shape, source: path };
  }
  const { generatePhantomCase } = await import('../src/shared/data/phantom.js');
  const c = generatePhantomCase({ seed: 1, index: 0, shape: PHANTOM_SHAPE });
  return { image: c.image, shape: [...c.shape] as Shape3, source: `phantom ${PHANTOM_SHAPE.join('x')}` };
}

runIfMain(import.meta.url, spec);
