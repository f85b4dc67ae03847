/**
 * `tracoco bench load`: a cluster of 8 workers (4 pairs) on loopback — real nats-server with its
 * monitoring endpoint, a coordinator and the workers as processes of the built CLI — training the
 * chaos run's small phantoms (with the default uint16 exchange), to see what the coordinator
 * costs: its CPU time per step against the step's wall time, the messages per second and bytes
 * per step through the server, and the coordinator's share of the cluster's CPU time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nonNegativeInt, positiveInt } from '../src/cli/options.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';

interface LoadBenchOptions extends Record<string, unknown> {
  workers: number;
  iterations: number;
  warmup: number;
  timeoutS: number;
}

interface Sample {
  t: number;
  iteration: number;
  msgs: number;
  bytes: number;
  cpu: { coordinator: number; workers: number; nats: number };
}

export const spec: BenchSpec<LoadBenchOptions> = {
  name: 'load',
  description: 'coordinator overhead, messages/s, bytes/step and coordinator CPU share of an 8-worker loopback cluster',
  options: [
    { flags: '--workers <n>', description: 'worker processes (2 per pair)', parse: positiveInt, default: 8 },
    { flags: '--iterations <n>', description: 'iterations of the run', parse: positiveInt, default: 14 },
    { flags: '--warmup <n>', description: 'iterations before the measured window', parse: nonNegativeInt, default: 2 },
    { flags: '--timeout-s <s>', description: 'bound on the run', parse: positiveInt, default: 900 },
  ],
  async run(o) {
    if (o.warmup >= o.iterations) throw new Error(`--warmup ${o.warmup} leaves no measured iterations of ${o.iterations}`);
    const { LoopbackCluster } = await import('../src/cli/chaos/loopback-cluster.js');
    const { CHAOS_SETS } = await import('../src/cli/chaos/chaos.js');
    const { writePhantomDataset } = await import('../src/shared/data/phantom-dataset.js');
    const dir = mkdtempSync(join(tmpdir(), 'tracoco-bench-load-'));
    const pairs = Math.floor(o.workers / 2);
    const cluster = new LoopbackCluster({
      cli: fileURLToPath(new URL('../../bin/tracoco.js', import.meta.url)),
      workers: o.workers,
      config: 'phantom',
      // One data shard per pair; each pair trains a batch of 2 (1 labelled + 1 unlabelled) per step.
      sets: [...CHAOS_SETS, 'train.exchange_dtype=uint16', `train.shards=${pairs}`, 'train.batch_size=2', 'checkpoint.every=1000'],
      dataRoot: (await writePhantomDataset({ out: join(dir, 'data'), cases: 4 * pairs + 2, testCases: 2, shape: [24, 24, 20], seed: 0 })).root,
      maxIterations: o.iterations,
      out: join(dir, 'run'),
      heartbeatTimeoutMs: 10_000,
      monitor: true,
    });
    const timeoutMs = o.timeoutS * 1000;
    const sample = async (): Promise<Sample> => {
      const varz = (await (await fetch(`${cluster.nats.monitorUrl}/varz`)).json()) as { in_msgs: number; in_bytes: number };
      const cpu = (pids: (number | null | undefined)[]) => pids.reduce<number>((s, pid) => s + (LoopbackCluster.cpuSeconds(pid) ?? 0), 0);
      return {
        t: performance.now() / 1000,
        iteration: cluster.iteration(),
        msgs: varz.in_msgs,
        bytes: varz.in_bytes,
        cpu: { coordinator: cpu([cluster.coordinator.child.pid]), workers: cpu(cluster.workers.map((w) => w.child.pid)), nats: cpu([cluster.nats.pid()]) },
      };
    };
    try {
      await cluster.start();
      await cluster.waitForIteration(Math.max(1, o.warmup), timeoutMs);
      const first = await sample();
      // Sampled as soon as the last step is logged, before the final checkpoint and evaluation.
      await cluster.waitForIteration(o.iterations, timeoutMs);
      const last = await sample();
      const { code } = await cluster.finish(timeoutMs);
      if (code !== 0) throw new Error(`coordinator exited with ${code}:\n${cluster.coordinator.output().slice(-2000)}`);
      const steps = cluster.coordinator.events().filter((e) => e.event === 'train.step' && (e.iteration as number) > first.iteration);
      const stepS = steps.map((e) => e.seconds as number);
      const n = last.iteration - first.iteration;
      const dt = last.t - first.t;
      const cpuOf = (k: keyof Sample['cpu']) => last.cpu[k] - first.cpu[k];
      const cpuAll = cpuOf('coordinator') + cpuOf('workers') + cpuOf('nats');
      return {
        workers: o.workers,
        pairs,
        measured_iterations: n,
        step_s_median: round(median(stepS), 3),
        messages_per_s: round((last.msgs - first.msgs) / dt, 1),
        messages_per_step: round((last.msgs - first.msgs) / n, 1),
        bytes_per_step: Math.round((last.bytes - first.bytes) / n),
        cpu_s: { coordinator: round(cpuOf('coordinator'), 2), workers: round(cpuOf('workers'), 2), nats: round(cpuOf('nats'), 2) },
        coordinator_cpu_share: round(cpuOf('coordinator') / cpuAll, 4),
        coordinator_cpu_ms_per_step: round((cpuOf('coordinator') / n) * 1000, 1),
        // The coordinator's work per step (planning, messages, bookkeeping) against the step's wall time.
        coordinator_cpu_share_of_step: round(cpuOf('coordinator') / n / median(stepS), 4),
        cores: (await import('node:os')).availableParallelism(),
      };
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

runIfMain(import.meta.url, spec);
