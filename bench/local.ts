/**
 * `tracoco bench local`: local mode's TraCoCo step (coordinator, both workers, the in-process bus)
 * with the workers taking turns on the main thread against each worker in a thread of its own,
 * measured alternately on the demo's setting (a phantom of the demo's look, 32³ patches, VNet-4,
 * instance norm, batch 4). Seconds per iteration are the median over the steps after the warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nonNegativeInt, positiveInt, shapeXYZ } from '../src/cli/options.js';
import type { Shape3 } from '../src/shared/volume.js';
import type { BenchSpec } from './lib/spec.js';
import { runIfMain } from './lib/spec.js';
import { median, round } from './lib/stats.js';

interface LocalBenchOptions extends Record<string, unknown> {
  patch: Shape3;
  filters: number;
  iterations: number;
  warmup: number;
  pairs: number;
  backend?: string;
}

export const spec: BenchSpec<LocalBenchOptions> = {
  name: 'local',
  description: 'local-mode TraCoCo step: workers on the main thread vs a thread each, alternating (the demo setting)',
  options: [
    { flags: '--patch <XxYxZ>', description: 'training patch', parse: shapeXYZ, default: [32, 32, 32] },
    { flags: '--filters <n>', description: 'VNet base filters', parse: positiveInt, default: 4 },
    { flags: '--iterations <n>', description: 'iterations of each run', parse: positiveInt, default: 12 },
    { flags: '--warmup <n>', description: 'iterations left out of the median', parse: nonNegativeInt, default: 2 },
    { flags: '--pairs <n>', description: 'alternating runs of each mode', parse: positiveInt, default: 2 },
    { flags: '--backend <name>', description: 'tfjs backend (default: the fastest available)' },
  ],
  async run(o) {
    if (o.warmup >= o.iterations) throw new Error(`--warmup ${o.warmup} leaves no measured iterations of ${o.iterations}`);
    const { initBackend } = await import('../src/shared/backend/index.js');
    const { threadCount } = await import('../src/shared/backend/threads.js');
    const { loadConfig } = await import('../src/shared/config/index.js');
    const { writePhantomDataset } = await import('../src/shared/data/phantom-dataset.js');
    const { DEMO_APPEARANCE } = await import('../src/cli/commands/demo.js');
    const { silentLogger } = await import('../src/shared/log.js');
    const { runLocal } = await import('../src/local/run-local.js');
    const backend = await initBackend(o.backend);
    const dir = mkdtempSync(join(tmpdir(), 'tracoco-bench-local-'));
    try {
      const data = await writePhantomDataset({ out: join(dir, 'data'), cases: 8, testCases: 1, shape: [64, 64, 48], seed: 0, appearance: DEMO_APPEARANCE });
      const config = loadConfig({
        configArg: 'phantom',
        flags: { data: { root: data.root, patch: [...o.patch] as [number, number, number] }, model: { filters: o.filters }, train: { max_iterations: o.iterations }, eval: { every: 0 }, checkpoint: { every: o.iterations } },
      });
      const modes = { inline: false, threads: true } as const;
      const seconds: Record<keyof typeof modes, number[]> = { inline: [], threads: [] };
      let run = 0;
      for (let p = 0; p < o.pairs; p++) {
        for (const [mode, workerThreads] of Object.entries(modes) as [keyof typeof modes, boolean][]) {
          const stamps: number[] = [];
          await runLocal({ config, out: join(dir, `run-${run++}`), logger: silentLogger, backend: backend.name, workerThreads, observer: { onStep: () => stamps.push(performance.now()) } });
          const measured = stamps.slice(o.warmup);
          seconds[mode].push(median(measured.slice(1).map((t, i) => (t - measured[i]!) / 1000)));
        }
      }
      const inline = median(seconds.inline);
      const threads = median(seconds.threads);
      return {
        backend: backend.name,
        patch: o.patch,
        filters: o.filters,
        cores: availableParallelism(),
        native_threads: threadCount(),
        iterations: o.iterations,
        s_per_iteration: { inline: round(inline, 3), threads: round(threads, 3) },
        runs: { inline: seconds.inline.map((s) => round(s, 3)), threads: seconds.threads.map((s) => round(s, 3)) },
        speedup: round(inline / threads, 2),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

runIfMain(import.meta.url, spec);
