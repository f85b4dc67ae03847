/**
 * Per-kernel profile of one VNet training step (forward + backward of the supervised loss, as in
 * training) on a chosen backend, to see which kernels dominate after the convolutions:
 *   node --import tsx native/tools/profile-step.ts [--backend native] [--patch 64x64x48]
 *        [--filters 16] [--batch 2] [--steps 1] [--losses supervised|full] [--top N]
 * `full` adds TraCoCo's unsupervised terms on the second half of the batch: CRC against a
 * pseudo-label forward and the translation loss on shifted boxes (GUIDE §5).
 * Prints one JSON object: wall time per step; per kernel name, calls and total ms (sorted); and
 * with --top N the N slowest kernel calls with their shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { initBackend, nativeKernelStats } from '../../src/shared/backend/index.js';
import { VNet } from '../../src/shared/model/vnet.js';
import { crcLoss, supervisedLoss, translationLoss, translationTarget } from '../../src/shared/losses/index.js';
import { Random } from '../../src/shared/random.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    patch: { type: 'string', default: '64x64x48' },
    filters: { type: 'string', default: '16' },
    batch: { type: 'string', default: '2' },
    steps: { type: 'string', default: '1' },
    top: { type: 'string', default: '0' },
    losses: { type: 'string', default: 'supervised' },
  },
});
const [px, py, pz] = values.patch!.split('x').map(Number) as [number, number, number];
const batch = Number(values.batch);
const steps = Number(values.steps);

const info = await initBackend(values.backend);
const model = VNet.create({ inChannels: 1, classes: 2, filters: Number(values.filters), normalization: 'batchnorm', dropout: true }, 1);
const x = tf.randomUniform([batch, px, py, pz, 1], 0, 1, 'float32', 7) as tf.Tensor5D;
const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([batch, px, py, pz], 0, 1, 'float32', 8), 0.7), 'int32')) as tf.Tensor4D;
const random = new Random(3);

const full = values.losses === 'full';
const half = Math.max(1, batch / 2);
// Peer outputs for the unsupervised terms come without gradient (computed once, outside the step).
const peerLogits = full ? (tf.tidy(() => model.forward(x, { training: false })) as tf.Tensor5D) : null;
const peerProb = peerLogits ? (tf.softmax(peerLogits) as tf.Tensor5D) : null;

function lossOf(out: tf.Tensor5D): tf.Scalar {
  const [, X, Y, Z, C] = out.shape;
  const labelled = tf.slice(out, [0, 0, 0, 0, 0], [half, X, Y, Z, C]) as tf.Tensor5D;
  const sup = supervisedLoss(labelled, tf.slice(labels, [0, 0, 0, 0], [half, X, Y, Z]) as tf.Tensor4D).loss;
  if (!full || batch < 2) return sup;
  const unlabelled = tf.slice(out, [half, 0, 0, 0, 0], [batch - half, X, Y, Z, C]) as tf.Tensor5D;
  const crc = crcLoss(unlabelled, tf.slice(peerProb!, [half, 0, 0, 0, 0], [batch - half, X, Y, Z, C]) as tf.Tensor5D).loss;
  const box = [X - 8, Y - 8, Z - 8];
  const a = Array.from({ length: batch }, (_, i) => tf.reshape(tf.slice(out, [i, 8, 8, 8, 0], [1, box[0]!, box[1]!, box[2]!, C]), [box[0]!, box[1]!, box[2]!, C]) as tf.Tensor4D);
  const b = Array.from({ length: batch }, (_, i) =>
    translationTarget(tf.reshape(tf.slice(peerLogits!, [i, 0, 0, 0, 0], [1, box[0]!, box[1]!, box[2]!, C]), [box[0]!, box[1]!, box[2]!, C]) as tf.Tensor4D, 'class'),
  );
  return tf.addN([sup, crc, translationLoss(a, b, { mode: 'class' }).loss]) as tf.Scalar;
}

const step = () => {
  const { value, grads } = tf.variableGrads(() => lossOf(model.forward(x, { training: true, dropout: random })));
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
};

step(); // warm-up: primitive creation, JIT
const statsBefore = nativeKernelStats();
const byKernel = new Map<string, { calls: number; ms: number }>();
let wallMs = 0;
const slowest: { name: string; ms: number; inputs: number[][]; outputs: number[][] }[] = [];
for (let s = 0; s < steps; s++) {
  const start = performance.now();
  const profile = await tf.profile(step);
  wallMs += performance.now() - start;
  for (const k of profile.kernels) {
    const e = byKernel.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += Number(k.kernelTimeMs);
    byKernel.set(k.name, e);
    slowest.push({ name: k.name, ms: Math.round(Number(k.kernelTimeMs) * 10) / 10, inputs: k.inputShapes, outputs: k.outputShapes });
  }
}
const kernels = [...byKernel.entries()]
  .map(([name, e]) => ({ name, calls: e.calls / steps, ms: Math.round((e.ms / steps) * 10) / 10 }))
  .sort((a, b) => b.ms - a.ms);
const kernelMs = kernels.reduce((s, k) => s + k.ms, 0);
process.stdout.write(
  JSON.stringify({
    backend: info.detail,
    patch: [px, py, pz],
    batch,
    filters: Number(values.filters),
    losses: values.losses,
    stepWallMs: Math.round(wallMs / steps),
    kernelMs: Math.round(kernelMs),
    kernels,
    slowest: slowest.sort((a, b) => b.ms - a.ms).slice(0, Number(values.top)),
    native: { before: statsBefore, after: nativeKernelStats() },
  }) + '\n',
);
