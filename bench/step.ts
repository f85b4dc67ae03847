/**
 * `tracoco bench step`: milliseconds of one full TraCoCo co-training step — both models, every
 * forward and backward of GUIDE §5 (pseudo-labels, f and s crops, CRC on the CutMixed input,
 * translation KL, supervised loss), the exchange (quantised in memory) and both SGD updates — on
 * synthetic volumes, median of `--runs` after one warm-up. Defaults reproduce the configuration of
 * the PyTorch figure in the issue: intra pairing and the reference KL.
 */
import { performance } from 'node:perf_hooks';
import { oneOf, positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Shape3 } from '../src/shared/volume.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';
import { pytorchUnavailable, runPytorchPeer, type PeerResult } from './lib/pytorch-peer.js';
import { vnetConvFlops } from './vnet.js';
import { ARCHITECTURES, type Architecture } from '../src/shared/names.js';

interface StepBenchOptions extends Record<string, unknown> {
  architecture: Architecture;
  patch: Shape3;
  filters: number;
  batch: number;
  pairing: 'intra' | 'cross';
  kl: 'reference' | 'class';
  backend?: string;
  runs: number;
  normalization: 'batchnorm' | 'instancenorm';
  profile?: boolean;
  vsPytorch?: boolean;
  pairs: number;
}

export const spec: BenchSpec<StepBenchOptions> = {
  name: 'step',
  description: 'one full co-training step (both models, all forwards and backwards): ms',
  options: [
    { flags: '--architecture <name>', description: 'vnet, unet3d, or unet2d (slices: give --patch XxYx1)', parse: oneOf(ARCHITECTURES), default: 'vnet' },
    { flags: '--patch <XxYxZ>', description: 'patch size (each a multiple of 16; unet2d: XxYx1)', parse: shapeXYZ, default: [64, 64, 48] },
    { flags: '--filters <n>', description: 'VNet base filters', parse: positiveInt, default: 8 },
    { flags: '--normalization <kind>', description: 'batchnorm (reference) or instancenorm (the demo)', parse: oneOf(['batchnorm', 'instancenorm'] as const), default: 'batchnorm' },
    { flags: '--batch <n>', description: 'volumes per step (half labelled)', parse: positiveInt, default: 4 },
    { flags: '--pairing <mode>', description: 'intra (reference code) or cross', parse: oneOf(['intra', 'cross'] as const), default: 'intra' },
    { flags: '--kl <mode>', description: 'reference or class', parse: oneOf(['reference', 'class'] as const), default: 'reference' },
    { flags: '--backend <name>', description: 'tfjs backend (default: the fastest available)' },
    { flags: '--runs <n>', description: 'timed steps after one warm-up (median reported)', parse: positiveInt, default: 3 },
    { flags: '--profile', description: 'add one profiled step: ms and calls per kernel' },
    { flags: '--vs-pytorch', description: 'also time the PyTorch step (bench/peers/torch_step.py), alternating with ours' },
    { flags: '--pairs <n>', description: 'with --vs-pytorch: alternating measurements of each side (median of medians)', parse: positiveInt, default: 3 },
  ],
  async run(o) {
    const { initBackend } = await import('../src/shared/backend/index.js');
    const { validateConfig } = await import('../src/shared/config/index.js');
    const { planBatch } = await import('../src/shared/data/index.js');
    const { assembleReplicaBatch } = await import('../src/shared/training/assemble.js');
    const { computeGradients, computePeerViews } = await import('../src/shared/training/step.js');
    const { Replica } = await import('../src/worker/replica.js');
    const { augmentOptionsFrom } = await import('../src/shared/training/settings.js');
    const { generatePhantomCase } = await import('../src/shared/data/phantom.js');
    const backend = await initBackend(o.backend);
    const config = validateConfig(
      {
        name: 'bench',
        data: { patch: o.patch },
        model: { architecture: o.architecture, filters: o.filters, normalization: o.normalization },
        train: { batch_size: o.batch, pairing: o.pairing, kl: o.kl },
      },
      'bench step',
    );
    // Volumes a bit larger than the patch, so crops and translation pairs are real.
    // (Slices of a 2D network are depth-1 patches of the same volumes, at least 16 deep.)
    const volume: Shape3 = [o.patch[0] + 16, o.patch[1] + 16, Math.max(16, o.patch[2] + 8)];
    const cases = new Map(
      Array.from({ length: o.batch }, (_, i) => {
        const c = generatePhantomCase({ seed: 1, index: i, shape: volume });
        return [`c${i}`, { image: c.image, label: c.label, shape: [...c.shape] as [number, number, number] }];
      }),
    );
    const half = o.batch / 2;
    const ids = [...cases.keys()];
    const replicas = [Replica.fresh(config, 1), Replica.fresh(config, 2)];
    const stepOnce = async (iteration: number) => {
      const plan = planBatch(config.seed, iteration, ids.map(() => volume), o.patch, augmentOptionsFrom(config), true);
      const rb = assembleReplicaBatch([{ shard: 0, labeledIds: ids.slice(0, half), unlabeledIds: ids.slice(half), plan }], (id) => cases.get(id));
      const views = replicas.map((r) => computePeerViews(r.model, rb, r.settings, { seed: config.seed, iteration, role: r.role }));
      for (const [i, r] of replicas.entries()) {
        const g = await computeGradients(r.model, rb, views[1 - i]!, r.settings, { seed: config.seed, iteration, role: r.role, consistencyWeight: 1, replicas: 1 });
        r.optimizer.step(r.model.params, g.grads, 0.01);
        for (const t of g.grads.values()) t.dispose();
      }
    };
    let iteration = 0;
    await stepOnce(iteration++);
    const measure = async () => {
      const times: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const t0 = performance.now();
        await stepOnce(iteration++);
        times.push(performance.now() - t0);
      }
      return times;
    };
    if (o.vsPytorch && o.architecture !== 'vnet') throw new Error('--vs-pytorch: the PyTorch peer step is the VNet one');
    const peer = o.vsPytorch ? await peerSide(o, measure) : null;
    const times = peer ? peer.ours : await measure();
    const profile = o.profile ? await profileKernels(() => stepOnce(iteration++)) : undefined;
    for (const r of replicas) r.dispose();
    const ms = median(times);
    // The convolution work is counted for the VNet (the figure the PyTorch comparison uses).
    let convFigures = {};
    if (o.architecture === 'vnet') {
      const flops = await vnetConvFlops({ inChannels: 1, classes: 2, filters: o.filters, normalization: 'batchnorm', dropout: true }, o.patch, o.batch);
      // Per model: pseudo-label forward + f, u (and s for intra) forward+backward (backward = 2x forward).
      const gradPasses = o.pairing === 'intra' ? 3 : 2;
      const noGradPasses = o.pairing === 'intra' ? 1 : 2;
      const convFlops = 2 * flops.forward * (noGradPasses + 3 * gradPasses);
      convFigures = { conv_gflop_per_step: round(convFlops / 1e9, 1), effective_gflops: round(convFlops / 1e9 / (ms / 1000), 1) };
    }
    return {
      architecture: o.architecture,
      backend: backend.name,
      patch: o.patch,
      filters: o.filters,
      batch: o.batch,
      pairing: o.pairing,
      kl: o.kl,
      runs: o.runs,
      ms_per_step: round(ms, 1),
      ms_min: round(Math.min(...times), 1),
      ...convFigures,
      rss_peak_mb: round(process.resourceUsage().maxRSS / 1024, 0),
      ...(peer ? { pytorch: peer.pytorch } : {}),
      ...(profile ? { profile } : {}),
    };
  },
};

/**
 * `pairs` alternating measurements: ours (`runs` steps), then the PyTorch peer's (`runs` steps
 * after its own warm-up) with the same patch, width, batch, pairing, KL and normalisation.
 */
async function peerSide(o: StepBenchOptions, measure: () => Promise<number[]>) {
  const unavailable = pytorchUnavailable();
  if (unavailable) {
    process.stderr.write(`bench step: PyTorch side skipped: ${unavailable}\n`);
    return { ours: await measure(), pytorch: { skipped: unavailable } };
  }
  const args = ['--patch', o.patch.join('x'), '--filters', String(o.filters), '--batch', String(o.batch), '--pairing', o.pairing, '--kl', o.kl, '--normalization', o.normalization, '--runs', String(o.runs)];
  const ours: number[][] = [];
  const theirs: PeerResult[] = [];
  for (let k = 0; k < o.pairs; k++) {
    ours.push(await measure());
    theirs.push(runPytorchPeer('torch_step.py', args));
  }
  const oursMs = median(ours.map((t) => median(t)));
  const theirsMs = median(theirs.map((t) => t.median_ms));
  return {
    ours: ours.flat(),
    pytorch: {
      torch: theirs[0]!.torch,
      threads: theirs[0]!.threads,
      ms_per_step: round(theirsMs, 1),
      pairs: ours.map((t, k) => ({ tracoco_ms: round(median(t), 1), pytorch_ms: theirs[k]!.median_ms })),
      speedup: round(theirsMs / oursMs, 2),
    },
  };
}

/** Kernel time of one call of `f`, by kernel name, slowest first (tf.profile). */
async function profileKernels(f: () => Promise<void>): Promise<{ wall_ms: number; kernel_ms: number; kernels: { name: string; calls: number; ms: number }[] }> {
  const tf = await import('@tensorflow/tfjs-core');
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await f();
    return [];
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += Number(k.kernelTimeMs);
    byName.set(k.name, e);
  }
  const kernels = [...byName].map(([name, e]) => ({ name, calls: e.calls, ms: round(e.ms, 1) })).sort((a, b) => b.ms - a.ms);
  return { wall_ms: round(wall, 1), kernel_ms: round(kernels.reduce((s, k) => s + k.ms, 0), 1), kernels };
}

runIfMain(import.meta.url, spec);
