/**
 * Graceful shutdown (SIGTERM) of real worker and coordinator processes: each leaves NATS and exits
 * with its code — the worker 0, an unfinished coordinator 143 — both with the server up and after
 * it is gone, within the shutdown deadline. The measured times are reported as diagnostics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { SHUTDOWN_DEADLINE_MS } from '../../src/cli/shutdown.js';
import { skipUnlessBinary, tempDir } from '../support/env.js';
import { startCli, startWorker, waitUntil, type CliProcess } from '../support/cluster.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';

const skip = skipUnlessBinary('nats-server');
/** The deadline plus process start-up slack: a process that ignores the signal fails this. */
const BOUND_MS = SHUTDOWN_DEADLINE_MS + 3000;

describe('graceful shutdown', { skip }, () => {
  const tmp = tempDir('tracoco-shutdown-');
  let nats: NatsServer;
  let dataRoot = '';
  const processes: CliProcess[] = [];

  before(async () => {
    dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 4, testCases: 1, shape: [16, 16, 16], seed: 1 })).root;
  });
  after(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await nats?.stop();
    tmp.cleanup();
  });

  async function stopped(p: CliProcess): Promise<{ code: number | null; ms: number }> {
    const t0 = performance.now();
    p.kill('SIGTERM');
    const code = await p.exited(BOUND_MS);
    return { code, ms: Math.round(performance.now() - t0) };
  }

  function idleWorker(id: string): CliProcess {
    const w = startWorker(nats.url, id, ['--backend', 'cpu']);
    processes.push(w);
    return w;
  }

  function waitingCoordinator(out: string): CliProcess {
    // Waits for 2 workers that never come: an idle coordinator holding a NATS connection.
    const c = startCli(['coordinator', '--config', 'phantom', '--nats', nats.url, '--data', dataRoot, '--out', join(tmp.path, out), '--workers', '2']);
    processes.push(c);
    return c;
  }

  test('an idle worker and a waiting coordinator exit promptly on SIGTERM, with NATS up and gone', async (t) => {
    const figures: string[] = [];
    for (const natsUp of [true, false]) {
      // A fresh server per round (the previous one is stopped first: a running child would keep
      // this test process alive).
      await nats?.stop();
      nats = await startNatsServer({ jetstream: true });
      const worker = idleWorker(`sd-${natsUp ? 'up' : 'gone'}`);
      const coordinator = waitingCoordinator(`sd-${natsUp ? 'up' : 'gone'}`);
      await waitUntil(() => worker.events().some((e) => e.event === 'worker.started'), 60_000, 'the worker to start');
      await waitUntil(() => coordinator.events().some((e) => e.event === 'run.waiting_for_workers'), 60_000, 'the coordinator to wait for workers');
      if (!natsUp) await nats.stop();
      const w = await stopped(worker);
      const c = await stopped(coordinator);
      assert.equal(w.code, 0, worker.output().slice(-2000));
      assert.equal(c.code, 143, coordinator.output().slice(-2000));
      for (const p of [worker, coordinator]) assert.ok(p.events().some((e) => e.event === 'shutdown.done' || e.event === 'shutdown.deadline'), 'the shutdown was logged');
      figures.push(`NATS ${natsUp ? 'up' : 'gone'}: worker ${w.ms} ms, coordinator ${c.ms} ms`);
    }
    t.diagnostic(figures.join('; '));
  });
});
