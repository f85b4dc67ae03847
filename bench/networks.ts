/**
 * `tracoco bench networks`: per architecture (VNet, UNet3D, UNet2D), the milliseconds of one
 * training forward + backward (supervised loss, the gradient of every parameter, no optimiser
 * step; BatchNorm batch statistics, dropout) and one eval forward, median of `--runs` after a
 * warm-up, on the `native` backend at a representative CPU-sized input (VNet-16 and UNet3D-16 on
 * 2×64×64×48, UNet2D 16…256 on 12 slices of 128×128), with the kernels of one profiled training
 * pass that ran as tfjs JavaScript (no addon kernel) or that an addon kernel declined.
 * The tfjs `cpu` backend is ~100× slower on these networks, so the cpu/native ratio is measured on
 * a smaller input (`--cpu-volume` × `--cpu-volume-batch`, `--cpu-slice` × `--cpu-slice-batch`;
 * native timed there too), one run without warm-up by default; give the full sizes to compare there.
 */
import type * as tfType from '@tensorflow/tfjs-core';
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Architecture } from '../src/shared/model/network.js';
import { architectureList, backendList, benchNetworkSpec, kernelCoverage, networkLabel, shapeHW, timeMs, useBackend, type CompareSizeOptions } from './lib/nets.js';
import type { BenchSpec } from './lib/spec.js';
import { ARCHITECTURES } from '../src/shared/names.js';
import { runIfMain } from './lib/spec.js';
import { round } from './lib/stats.js';

interface NetworksBenchOptions extends CompareSizeOptions {
  architectures: Architecture[];
}

interface PassTimes {
  train_forward_backward_ms: number;
  eval_forward_ms: number;
}

export const spec: BenchSpec<NetworksBenchOptions> = {
  name: 'networks',
  description: 'per architecture: train forward+backward and eval forward ms on native (JS-kernel coverage) and the cpu/native ratio',
  options: [
    { flags: '--architectures <list>', description: 'vnet, unet3d, unet2d (comma-separated)', parse: architectureList, default: [...ARCHITECTURES] },
    { flags: '--backends <list>', description: 'native, cpu (comma-separated)', parse: backendList, default: ['native', 'cpu'] },
    { flags: '--filters <n>', description: 'first-level channels (VNet filters, UNet3D filters, UNet2D channels[0])', parse: positiveInt, default: 16 },
    { flags: '--volume <XxYxZ>', description: '3D input (multiples of 16)', parse: shapeXYZ, default: [64, 64, 48] },
    { flags: '--volume-batch <n>', description: '3D patches per batch', parse: positiveInt, default: 2 },
    { flags: '--slice <HxW>', description: '2D input (multiples of 16)', parse: shapeHW, default: [128, 128] },
    { flags: '--slice-batch <n>', description: '2D slices per batch', parse: positiveInt, default: 12 },
    { flags: '--cpu-volume <XxYxZ>', description: '3D input of the cpu/native comparison', parse: shapeXYZ, default: [32, 32, 16] },
    { flags: '--cpu-slice <HxW>', description: '2D input of the cpu/native comparison', parse: shapeHW, default: [64, 64] },
    { flags: '--cpu-volume-batch <n>', description: '3D patches per batch of the cpu/native comparison', parse: positiveInt, default: 1 },
    { flags: '--cpu-slice-batch <n>', description: '2D slices per batch of the cpu/native comparison', parse: positiveInt, default: 4 },
    { flags: '--runs <n>', description: 'timed native runs per pass after one warm-up (median)', parse: positiveInt, default: 3 },
    { flags: '--cpu-runs <n>', description: 'timed cpu runs per pass (median; a warm-up only when > 1)', parse: positiveInt, default: 1 },
  ],
  async run(o) {
    const tf = await import('@tensorflow/tfjs-core');
    const { createNetwork } = await import('../src/shared/model/network.js');
    const { supervisedLoss } = await import('../src/shared/losses/supervised.js');
    const { Random } = await import('../src/shared/random.js');
    const { threadCount } = await import('../src/shared/backend/index.js');

    /** The two passes of `architecture` on the active backend at `spatial` × `batch`; coverage on request. */
    const measure = async (architecture: Architecture, spatial: readonly number[], batch: number, runs: number, warmup: boolean, coverage: boolean) => {
      const netSpec = await benchNetworkSpec(architecture, o.filters);
      const net = createNetwork(netSpec, 1);
      const random = new Random(2);
      const voxels = spatial.reduce((a, b) => a * b, batch);
      const x = tf.tensor(Float32Array.from({ length: voxels }, () => random.uniform()), [batch, ...spatial, 1]);
      // Loss on [N, x, y, z, C] logits: a 2D network's slices are [N, 1, H, W].
      const volumeShape = [batch, ...(spatial.length === 2 ? [1] : []), ...spatial] as [number, number, number, number];
      const labels = tf.tidy(() => tf.reshape(tf.cast(tf.greater(x, 0.5), 'int32'), volumeShape)) as tfType.Tensor4D;
      const vars = [...net.params.values()];
      const train = () =>
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => {
            const logits = net.forward(x, { training: true, dropout: random });
            return supervisedLoss(tf.reshape(logits, [...volumeShape, logits.shape.at(-1)!] as [number, number, number, number, number]) as tfType.Tensor5D, labels).loss;
          }, vars);
          void grads[vars[0]!.name]!.dataSync();
        });
      const evaluate = () => tf.tidy(() => void net.forward(x, { training: false }).dataSync());
      // The profiled pass, when there is one, is the training pass's warm-up.
      const kernels = coverage ? await kernelCoverage(tf, train) : undefined;
      const times: PassTimes = {
        train_forward_backward_ms: round(timeMs(train, runs, warmup && !coverage), 1),
        eval_forward_ms: round(timeMs(evaluate, runs, warmup), 1),
      };
      tf.dispose([x, labels]);
      net.dispose();
      return { label: networkLabel(netSpec), params: vars.reduce((a, v) => a + v.size, 0), times, kernels };
    };

    const results = [];
    for (const architecture of o.architectures) {
      const is2d = architecture === 'unet2d';
      const full = { spatial: is2d ? o.slice : o.volume, batch: is2d ? o.sliceBatch : o.volumeBatch };
      const small = { spatial: is2d ? o.cpuSlice : o.cpuVolume, batch: is2d ? o.cpuSliceBatch : o.cpuVolumeBatch };
      const sameSize = small.batch === full.batch && small.spatial.every((s, i) => s === full.spatial[i]);
      const entry: Record<string, unknown> = { architecture, input: [full.batch, ...full.spatial, 1] };
      let nativeSmall: PassTimes | undefined;
      if (o.backends.includes('native')) {
        const unavailable = await useBackend(tf, 'native');
        if (unavailable) entry.native = { skipped: unavailable };
        else {
          const m = await measure(architecture, full.spatial, full.batch, o.runs, true, true);
          Object.assign(entry, { network: m.label, params: m.params });
          entry.native = { ...m.times, kernels: m.kernels };
          nativeSmall = sameSize ? m.times : (await measure(architecture, small.spatial, small.batch, o.runs, true, false)).times;
        }
      }
      if (o.backends.includes('cpu')) {
        await useBackend(tf, 'cpu');
        const cpu = (await measure(architecture, small.spatial, small.batch, o.cpuRuns, o.cpuRuns > 1, false)).times;
        const ratio = (key: keyof PassTimes) => (nativeSmall ? round(cpu[key] / nativeSmall[key], 1) : null);
        entry.cpu = {
          input: [small.batch, ...small.spatial, 1],
          ...cpu,
          ...(nativeSmall && !sameSize ? { native_at_this_input: nativeSmall } : {}),
          cpu_over_native: { train_forward_backward: ratio('train_forward_backward_ms'), eval_forward: ratio('eval_forward_ms') },
        };
      }
      results.push(entry);
    }
    return {
      threads: threadCount(),
      runs: { native: o.runs, cpu: o.cpuRuns, statistic: 'median' },
      note: 'train = forward + supervised loss + gradients of every parameter (no optimiser step); kernels: one profiled native train pass',
      architectures: results,
    };
  },
};

runIfMain(import.meta.url, spec);
