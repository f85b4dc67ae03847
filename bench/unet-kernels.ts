/**
 * `tracoco bench unet-kernels`: what the UNets add to the VNet's kernels, forward and forward +
 * backward (gradients of every input for a random upstream gradient), on the `native` backend
 * against the tfjs `cpu` backend, at the shapes the networks of `bench networks` run them:
 *  - 2× max-pooling (`maxPool2x` of unet-layers.ts): UNet3D's first level and UNet2D's (planar);
 *  - ×2 upsampling (resize.ts): UNet3D's last trilinear (align_corners false, slices and concats)
 *    and UNet2D's last bilinear (align_corners true, a batched matmul);
 *  - the UNet2D 3×3 convolution as it runs it, a depth-1 conv3d (`convSame` with a 2D weight):
 *    first level (filters → filters) and deepest (16·filters → 16·filters at 1/16 the size).
 * Native: median of `--runs` after a warm-up. The tfjs `cpu` backend takes up to a minute per call
 * at these shapes, so the cpu/native ratio is measured at a smaller input (`--cpu-volume` ×
 * `--cpu-volume-batch`, `--cpu-slice` × `--cpu-slice-batch`; native timed there too), `--cpu-runs`
 * runs (a warm-up only when > 1).
 */
import type * as tfType from '@tensorflow/tfjs-core';
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Shape3 } from '../src/shared/volume.js';
import { backendList, shapeHW, timeMs, useBackend, type CompareBackend, type CompareSizeOptions } from './lib/nets.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { round } from './lib/stats.js';

type UNetKernelsBenchOptions = CompareSizeOptions;

interface Figures {
  forward_ms: number;
  forward_backward_ms: number;
}

type Op = (...inputs: tfType.Tensor[]) => tfType.Tensor;

interface KernelCase {
  name: string;
  /** Shapes of the differentiated inputs (the first is the activation). */
  inputs: number[][];
  op: Op;
}

export const spec: BenchSpec<UNetKernelsBenchOptions> = {
  name: 'unet-kernels',
  description: 'UNet max-pool, ×2 upsampling and 2D 3×3 conv, forward and forward+backward: native vs cpu ms',
  options: [
    { flags: '--backends <list>', description: 'native, cpu (comma-separated)', parse: backendList, default: ['native', 'cpu'] },
    { flags: '--filters <n>', description: 'first-level channels', parse: positiveInt, default: 16 },
    { flags: '--volume <XxYxZ>', description: 'UNet3D input (multiples of 16)', parse: shapeXYZ, default: [64, 64, 48] },
    { flags: '--volume-batch <n>', description: 'UNet3D patches per batch', parse: positiveInt, default: 2 },
    { flags: '--slice <HxW>', description: 'UNet2D input (multiples of 16)', parse: shapeHW, default: [128, 128] },
    { flags: '--slice-batch <n>', description: 'UNet2D slices per batch', parse: positiveInt, default: 12 },
    { flags: '--cpu-volume <XxYxZ>', description: 'UNet3D input of the cpu/native comparison', parse: shapeXYZ, default: [32, 32, 24] },
    { flags: '--cpu-volume-batch <n>', description: 'UNet3D patches per batch of the cpu/native comparison', parse: positiveInt, default: 1 },
    { flags: '--cpu-slice <HxW>', description: 'UNet2D input of the cpu/native comparison', parse: shapeHW, default: [64, 64] },
    { flags: '--cpu-slice-batch <n>', description: 'UNet2D slices per batch of the cpu/native comparison', parse: positiveInt, default: 4 },
    { flags: '--runs <n>', description: 'timed native runs after one warm-up (median)', parse: positiveInt, default: 5 },
    { flags: '--cpu-runs <n>', description: 'timed cpu runs (median; a warm-up only when > 1)', parse: positiveInt, default: 1 },
  ],
  async run(o) {
    const tf = await import('@tensorflow/tfjs-core');
    const { maxPool2x, convSame } = await import('../src/shared/model/unet-layers.js');
    const { trilinearUpsample2x, upsampleLinear2x } = await import('../src/shared/model/resize.js');
    const f = o.filters;
    const conv2d: Op = (a, weight, bias) => convSame(a as tfType.Tensor5D, weight as tfType.Tensor4D, bias as tfType.Tensor1D);
    /** The cases at a UNet3D input of `n3` × `volume` and a UNet2D input of `n2` × `slice`. */
    const casesAt = ([x, y, z]: Shape3, n3: number, [h, w]: [number, number], n2: number): KernelCase[] => [
      { name: 'maxpool3d', inputs: [[n3, x, y, z, f]], op: (a) => maxPool2x(a as tfType.Tensor5D) },
      { name: 'maxpool2d', inputs: [[n2, 1, h, w, f]], op: (a) => maxPool2x(a as tfType.Tensor5D, true) },
      { name: 'trilinear_up2x', inputs: [[n3, x / 2, y / 2, z / 2, 2 * f]], op: (a) => trilinearUpsample2x(a as tfType.Tensor5D) },
      { name: 'bilinear_up2x', inputs: [[n2, 1, h / 2, w / 2, f]], op: (a) => upsampleLinear2x(a!, { axes: [2, 3], alignCorners: true }) },
      { name: `conv2d_3x3_${f}to${f}`, inputs: [[n2, 1, h, w, f], [3, 3, f, f], [f]], op: conv2d },
      { name: `conv2d_3x3_${16 * f}to${16 * f}`, inputs: [[n2, 1, h / 16, w / 16, 16 * f], [3, 3, 16 * f, 16 * f], [16 * f]], op: conv2d },
    ];
    const full = casesAt(o.volume, o.volumeBatch, o.slice, o.sliceBatch);
    const small = casesAt(o.cpuVolume, o.cpuVolumeBatch, o.cpuSlice, o.cpuSliceBatch);

    /** Forward and forward+backward ms of one case on the active backend. */
    const measure = (c: KernelCase, runs: number, warmup: boolean): Figures => {
      const inputs = c.inputs.map((shape, i) => tf.randomUniform(shape, -1, 1, 'float32', i + 1));
      const outShape = tf.tidy(() => c.op(...inputs).shape);
      const dy = tf.randomUniform(outShape, -1, 1, 'float32', 9);
      const grads = tf.grads(c.op);
      const forward = timeMs(() => tf.tidy(() => void c.op(...inputs).dataSync()), runs, warmup);
      const backward = timeMs(() => tf.tidy(() => grads(inputs, dy).forEach((g) => g.dataSync())), runs, warmup);
      tf.dispose([...inputs, dy]);
      return { forward_ms: round(forward, 2), forward_backward_ms: round(backward, 2) };
    };

    const skipped: Partial<Record<CompareBackend, string>> = {};
    let native: Figures[] | undefined;
    let nativeSmall: Figures[] | undefined;
    let cpu: Figures[] | undefined;
    if (o.backends.includes('native')) {
      const unavailable = await useBackend(tf, 'native');
      if (unavailable) skipped.native = unavailable;
      else {
        native = full.map((c) => measure(c, o.runs, true));
        if (o.backends.includes('cpu')) nativeSmall = small.map((c) => measure(c, o.runs, true));
      }
    }
    if (o.backends.includes('cpu')) {
      await useBackend(tf, 'cpu');
      cpu = small.map((c) => measure(c, o.cpuRuns, o.cpuRuns > 1));
    }
    const results = full.map((c, i) => {
      const ratio = (key: 'forward_ms' | 'forward_backward_ms') => (nativeSmall && cpu ? round(cpu[i]![key] / nativeSmall[i]![key], 1) : null);
      return {
        name: c.name,
        input: c.inputs[0],
        ...(native ? { native: native[i] } : {}),
        ...(cpu
          ? { cpu: { input: small[i]!.inputs[0], ...cpu[i]!, ...(nativeSmall ? { native_at_this_input: nativeSmall[i] } : {}), cpu_over_native: { forward: ratio('forward_ms'), forward_backward: ratio('forward_backward_ms') } } }
          : {}),
      };
    });
    return { runs: { native: o.runs, cpu: o.cpuRuns, statistic: 'median' }, ...(Object.keys(skipped).length ? { skipped } : {}), kernels: results };
  },
};

runIfMain(import.meta.url, spec);
