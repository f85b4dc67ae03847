/**
 * `tracoco bench vnet`: milliseconds of a VNet eval forward, train forward (BatchNorm batch
 * statistics, Dropout3d) and train forward + backward (supervised loss, gradients of every
 * parameter) on one batch, median of `--runs` after one warm-up, with the network's conv FLOPs for
 * that input counted from the layer shapes and the implied GFLOP/s.
 * FLOPs: 2 × (kernel volume) × Cin × Cout per output voxel (per input voxel for the transposed
 * convs); forward + backward counts the input- and filter-gradient of every conv (2× forward)
 * except the input gradient of the first conv, which nothing needs. `conv_kernels_ms` is the time
 * of the Conv3D kernels inside one profiled forward+backward; `forward_backward_over_convs` says
 * how much the rest (normalisation, activations, losses, memory traffic) adds on top.
 */
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { VNetConfig } from '../src/shared/model/vnet.js';
import type { Shape3 } from '../src/shared/volume.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { timeMs } from './lib/nets.js';
import { round } from './lib/stats.js';

interface VNetBenchOptions extends Record<string, unknown> {
  patch: Shape3;
  filters: number;
  batch: number;
  backend?: string;
  runs: number;
}

export interface ConvFlops {
  forward: number;
  /** Forward of the first conv alone (its input gradient is not computed in training). */
  firstConv: number;
}

/** Conv FLOPs of one VNet forward on a batch of `batch` patches of `patch` voxels. */
export async function vnetConvFlops(config: VNetConfig, patch: Shape3, batch: number): Promise<ConvFlops> {
  const { vnetBlocks } = await import('../src/shared/model/vnet.js');
  const voxelsAt = (level: number) => patch.reduce((a, s) => a * (s / 2 ** level), batch);
  let level = 0;
  let forward = 0;
  let firstConv = 0;
  for (const block of vnetBlocks(config)) {
    if (block.kind === 'conv') {
      for (let stage = 0; stage < block.stages; stage++) {
        const cin = stage === 0 ? block.cin : block.cout;
        const flops = 2 * 27 * cin * block.cout * voxelsAt(level);
        if (forward === 0) firstConv = flops;
        forward += flops;
      }
    } else if (block.kind === 'down') {
      level++;
      forward += 2 * 8 * block.cin * block.cout * voxelsAt(level);
    } else {
      forward += 2 * 8 * block.cin * block.cout * voxelsAt(level);
      level--;
    }
  }
  forward += 2 * config.filters * config.classes * voxelsAt(0); // out_conv 1x1x1
  return { forward, firstConv };
}

export const spec: BenchSpec<VNetBenchOptions> = {
  name: 'vnet',
  description: 'VNet eval forward, train forward and forward+backward: ms, conv GFLOP and GFLOP/s',
  options: [
    { flags: '--patch <XxYxZ>', description: 'patch size (each a multiple of 16)', parse: shapeXYZ, default: [64, 64, 48] },
    { flags: '--filters <n>', description: 'VNet base filters', parse: positiveInt, default: 8 },
    { flags: '--batch <n>', description: 'patches per batch', parse: positiveInt, default: 4 },
    { flags: '--backend <name>', description: 'tfjs backend: tensorflow, native or cpu (default: the fastest available)' },
    { flags: '--runs <n>', description: 'timed runs per phase after one warm-up (median reported)', parse: positiveInt, default: 3 },
  ],
  async run({ patch, filters, batch, backend, runs }) {
    const tf = await import('@tensorflow/tfjs-core');
    const { initBackend } = await import('../src/shared/backend/index.js');
    const { VNet } = await import('../src/shared/model/vnet.js');
    const { supervisedLoss } = await import('../src/shared/losses/supervised.js');
    const { Random } = await import('../src/shared/random.js');
    const info = await initBackend(backend);
    const config: VNetConfig = { inChannels: 1, classes: 2, filters, normalization: 'batchnorm', dropout: true };
    const model = VNet.create(config, 1);
    const random = new Random(2);
    const shape: [number, number, number, number, number] = [batch, ...patch, 1];
    const x = tf.tensor5d(Float32Array.from({ length: batch * patch[0] * patch[1] * patch[2] }, () => random.uniform()), shape);
    const labels = tf.tidy(() => tf.cast(tf.greater(tf.squeeze(x, [4]), 0.5), 'int32')) as import('@tensorflow/tfjs-core').Tensor4D;
    const vars = [...model.params.values()];

    // One warm-up call (kernel setup, buffer allocation), then the median of `runs`.
    const time = (fn: () => void): number => timeMs(fn, runs);
    const evalMs = time(() => tf.tidy(() => void model.forward(x, { training: false }).dataSync()));
    const trainMs = time(() => tf.tidy(() => void model.forward(x, { training: true, dropout: random }).dataSync()));
    const backwardMs = time(() =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => supervisedLoss(model.forward(x, { training: true, dropout: random }), labels).loss, vars);
        void grads[vars[0]!.name]!.dataSync();
      }),
    );
    // The convolutions' own share of one forward+backward: their kernel times in a profiled pass.
    const profiled = await tf.profile(() =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => supervisedLoss(model.forward(x, { training: true, dropout: random }), labels).loss, vars);
        void grads[vars[0]!.name]!.dataSync();
      }),
    );
    const convMs = profiled.kernels.filter((k) => k.name.startsWith('Conv3D')).reduce((sum, k) => sum + Number(k.kernelTimeMs), 0);
    tf.dispose([x, labels]);
    model.dispose();

    const flops = await vnetConvFlops(config, patch, batch);
    const backwardFlops = 3 * flops.forward - flops.firstConv;
    const gflops = (f: number, ms: number) => round(f / 1e9 / (ms / 1000), 2);
    return {
      backend: info.name,
      patch,
      filters,
      batch,
      runs,
      conv_gflop_forward: round(flops.forward / 1e9, 2),
      conv_gflop_forward_backward: round(backwardFlops / 1e9, 2),
      eval_forward_ms: round(evalMs, 1),
      train_forward_ms: round(trainMs, 1),
      forward_backward_ms: round(backwardMs, 1),
      eval_forward_gflops: gflops(flops.forward, evalMs),
      train_forward_gflops: gflops(flops.forward, trainMs),
      forward_backward_gflops: gflops(backwardFlops, backwardMs),
      conv_kernels_ms: round(convMs, 1),
      forward_backward_over_convs: round(backwardMs / convMs, 2),
    };
  },
};

runIfMain(import.meta.url, spec);
