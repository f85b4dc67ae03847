/**
 * `tracoco bench exchange`: what a cluster step spends on the wire for the Left Atrium setting
 * (patch 112x112x80, B = 4, VNet-16, 2 classes) over loopback NATS — the peer exchange of
 * quantised pseudo-labels and overlap views (each worker sends its peer and receives the peer's,
 * concurrently) and the ring all-reduce of the gradients between same-role replicas — in bytes and
 * milliseconds, and their share of the step time at the compute speed measured here.
 * Starts its own `nats-server -js` on a free loopback port unless `--nats URL` is given.
 */
import { performance } from 'node:perf_hooks';
import { positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Shape3 } from '../src/shared/volume.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';

interface ExchangeBenchOptions extends Record<string, unknown> {
  patch: Shape3;
  batch: number;
  filters: number;
  replicas: number;
  runs: number;
  nats?: string;
  computeRuns: number;
}

export const spec: BenchSpec<ExchangeBenchOptions> = {
  name: 'exchange',
  description: 'bytes and ms per step of the peer exchange and the gradient all-reduce over loopback NATS (LA patch)',
  options: [
    { flags: '--patch <XxYxZ>', description: 'training patch', parse: shapeXYZ, default: [112, 112, 80] },
    { flags: '--batch <n>', description: 'volumes per pair per step', parse: positiveInt, default: 4 },
    { flags: '--filters <n>', description: 'VNet base filters', parse: positiveInt, default: 16 },
    { flags: '--replicas <n>', description: 'same-role replicas in the gradient ring (pairs)', parse: positiveInt, default: 2 },
    { flags: '--runs <n>', description: 'timed repetitions (median reported)', parse: positiveInt, default: 3 },
    { flags: '--compute-runs <n>', description: 'VNet forward/backward timings for the step estimate (0: skip)', parse: (v: string) => Number(v), default: 1 },
    { flags: '--nats <url>', description: 'use this NATS server instead of starting one' },
  ],
  async run(o) {
    const { connectNatsTransport } = await import('../src/transport/nats.js');
    const { messages } = await import('../src/shared/protocol/index.js');
    const { packUnitInterval, peerViewsBytes } = await import('../src/shared/training/exchange.js');
    const { sampleTranslationPair } = await import('../src/shared/data/index.js');
    const { Random } = await import('../src/shared/random.js');
    const { VNet } = await import('../src/shared/model/vnet.js');
    const { ringAllReduce } = await import('../src/worker/ring-allreduce.js');
    const { Mailbox } = await import('../src/shared/mailbox.js');
    const { startNatsServer } = await import('../src/cli/cluster/nats-server.js');
    const server = o.nats ? null : await startNatsServer({ jetstream: true });
    const url = o.nats ?? server!.url;
    try {
      const [X, Y, Z] = o.patch;
      const classes = 2;
      // Overlap boxes of the reference sampler on LA-sized volumes (about 20% larger than the patch).
      const rng = new Random(7);
      const volume: Shape3 = [Math.round(X * 1.2), Math.round(Y * 1.2), Math.round(Z * 1.12)];
      const views = (seed: number) => {
        const pseudo = packUnitInterval(new Float32Array(o.batch * X * Y * Z * classes).fill(0.5 + seed * 1e-3), [o.batch, X, Y, Z, classes], 'uint16');
        const overlap = Array.from({ length: o.batch }, () => {
          const pair = sampleTranslationPair(volume, o.patch, rng, { mode: 'reference' });
          const size = [0, 1, 2].map((k) => pair.overlapS.end[k]! - pair.overlapS.start[k]!);
          return packUnitInterval(new Float32Array(size[0]! * size[1]! * size[2]! * classes).fill(0.25), [...size, classes], 'uint16');
        });
        return { pseudo, overlap };
      };
      const transports = await Promise.all(
        Array.from({ length: Math.max(2, o.replicas) }, (_, i) => connectNatsTransport({ connection: { servers: url }, prefix: 'bench', name: `bench-${i}` })),
      );
      const [a, b] = transports as [(typeof transports)[0], (typeof transports)[0]];

      // Peer exchange: both workers of a pair send at once and wait for the other's views.
      const exchangeOnce = async (k: number) => {
        const va = views(0);
        const vb = views(1);
        const got = [new Mailbox<number>(), new Mailbox<number>()];
        const subs = [a.subscribe(`bench.peer.a`, () => got[0]!.deliver('v', 1)), b.subscribe(`bench.peer.b`, () => got[1]!.deliver('v', 1))];
        await Promise.all([a.flush(), b.flush()]);
        const t0 = performance.now();
        const msg = (v: typeof va) => messages.views({ runId: 'bench', epoch: 1, iteration: k, views: v });
        await Promise.all([a.publish('bench.peer.b', msg(va)), b.publish('bench.peer.a', msg(vb))]);
        await Promise.all([got[0]!.take('v', 120_000), got[1]!.take('v', 120_000)]);
        const ms = performance.now() - t0;
        for (const s of subs) s.unsubscribe();
        return { ms, bytes: peerViewsBytes(va) };
      };

      // Gradient ring all-reduce among `replicas` same-role workers.
      const model = VNet.create({ inChannels: 1, classes, filters: o.filters, normalization: 'batchnorm', dropout: true }, 1);
      let params = 0;
      for (const p of model.params.values()) params += p.size;
      model.dispose();
      const R = o.replicas;
      const allReduceOnce = async (k: number) => {
        const boxes = transports.slice(0, R).map(() => new Mailbox<Float32Array>());
        const subs = transports.slice(0, R).map((t, r) =>
          t.subscribe(`bench.ring.${r}`, (m) => m.type === 'reduce' && boxes[r]!.deliver(`${m.step}`, m.data as Float32Array)),
        );
        await Promise.all(transports.map((t) => t.flush()));
        const t0 = performance.now();
        await Promise.all(
          transports.slice(0, R).map((t, r) =>
            ringAllReduce(new Float32Array(params).fill(r + 1), r, R, {
              send: (step, chunk) =>
                t.publish(`bench.ring.${(r + 1) % R}`, messages.reduce({ runId: 'bench', epoch: 1, iteration: k, phase: 'grads', step, data: chunk as Float32Array })),
              receive: (step) => boxes[r]!.take(`${step}`, 120_000),
            }),
          ),
        );
        const ms = performance.now() - t0;
        for (const s of subs) s.unsubscribe();
        return { ms, bytesPerReplica: ((2 * (R - 1)) / R) * params * 4 };
      };

      await exchangeOnce(0);
      if (R > 1) await allReduceOnce(0);
      const ex: number[] = [];
      const ar: number[] = [];
      let exBytes = 0;
      let arBytes = 0;
      for (let k = 1; k <= o.runs; k++) {
        const e = await exchangeOnce(k);
        ex.push(e.ms);
        exBytes = e.bytes;
        if (R > 1) {
          const r = await allReduceOnce(k);
          ar.push(r.ms);
          arBytes = r.bytesPerReplica;
        }
      }
      for (const t of transports) await t.close();
      const exchangeMs = median(ex);
      const allreduceMs = R > 1 ? median(ar) : 0;
      const compute = o.computeRuns > 0 ? await stepComputeMs(o.patch, o.batch, o.filters, o.computeRuns) : null;
      const wireMs = exchangeMs + allreduceMs;
      return {
        patch: o.patch,
        batch: o.batch,
        filters: o.filters,
        replicas: R,
        parameters: params,
        exchange_bytes_per_worker_per_step: exBytes,
        exchange_ms: round(exchangeMs, 1),
        allreduce_bytes_per_worker_per_step: Math.round(arBytes),
        allreduce_ms: round(allreduceMs, 1),
        wire_ms_per_step: round(wireMs, 1),
        ...(compute
          ? {
              backend: compute.backend,
              compute_ms_per_step_estimate: Math.round(compute.stepMs),
              compute_estimate: 'per worker (cross pairing): 2 forwards without gradient + 2 forward+backward passes of batch B, from one timed B=1 pass each',
              wire_share_of_step: round(wireMs / (wireMs + compute.stepMs), 4),
            }
          : {}),
        nats: o.nats ? 'given' : 'started on loopback',
      };
    } finally {
      await server?.stop();
    }
  },
};

async function stepComputeMs(patch: Shape3, batch: number, filters: number, runs: number) {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('../src/shared/backend/index.js');
  const { VNet } = await import('../src/shared/model/vnet.js');
  const { supervisedLoss } = await import('../src/shared/losses/supervised.js');
  const { Random } = await import('../src/shared/random.js');
  const backend = await initBackend();
  const model = VNet.create({ inChannels: 1, classes: 2, filters, normalization: 'batchnorm', dropout: true }, 3);
  const x = tf.randomUniform([1, ...patch, 1]) as import('@tensorflow/tfjs-core').Tensor5D;
  const y = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([1, ...patch]), 0.8), 'int32')) as import('@tensorflow/tfjs-core').Tensor4D;
  const time = (fn: () => void) => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  const forward = () => tf.tidy(() => void model.forward(x, { training: true, dropout: new Random(1) }).dataSync());
  const both = () => {
    const { value, grads } = tf.variableGrads(() => supervisedLoss(model.forward(x, { training: true, dropout: new Random(1) }), y).loss, [...model.params.values()]);
    value.dispose();
    tf.dispose(grads);
  };
  forward();
  const f: number[] = [];
  const fb: number[] = [];
  for (let i = 0; i < runs; i++) {
    f.push(time(forward));
    fb.push(time(both));
  }
  x.dispose();
  y.dispose();
  model.dispose();
  return { backend: backend.name, stepMs: batch * (2 * median(f) + 2 * median(fb)) };
}

runIfMain(import.meta.url, spec);
