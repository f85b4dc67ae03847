/**
 * GUIDE §7: every panel of every dashboard in grafana/ has data after a short cluster run scraped
 * by a real Prometheus, jobs as in production: a coordinator and two worker processes, each
 * serving its own /metrics port, over a real nats-server; Prometheus started from
 * deploy/prometheus.yml (the tracoco-coordinator job on the coordinator, tracoco-worker on both
 * workers) with deploy/alerts.yml loaded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { STEP_PHASES } from '../../src/shared/telemetry/index.js';
import { freePort, repoRoot, skipUnlessBinary, tempDir } from '../support/env.js';
import { startCli, startWorker, type CliProcess } from '../support/cluster.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';
import { dashboardQueries, startPrometheus, substituteVariables, type Prometheus } from '../support/prometheus.js';

const ITERATIONS = 8;
const SCRAPE_TIMEOUT_MS = 60_000;
const deployDir = join(repoRoot, 'deploy');

/** deploy/prometheus.yml with each tracoco job's targets replaced by the test's loopback ports. */
function deployConfigScraping(targets: Record<string, string[]>): Record<string, unknown> {
  const config = parse(readFileSync(join(deployDir, 'prometheus.yml'), 'utf8'));
  config.scrape_configs = config.scrape_configs
    .filter((job: { job_name: string }) => job.job_name.startsWith('tracoco-'))
    .map((job: { job_name: string; static_configs: { labels?: object }[] }) => {
      assert.ok(targets[job.job_name], `a target for job ${job.job_name}`);
      return { ...job, static_configs: job.static_configs.map((g) => ({ ...g, targets: targets[job.job_name] })) };
    });
  return config;
}

const skip = skipUnlessBinary('prometheus') || skipUnlessBinary('nats-server');

describe('Grafana dashboards have data after a short cluster run', { skip }, () => {
  const tmp = tempDir('tracoco-dashboards-');
  let nats: NatsServer;
  let prometheus: Prometheus;
  const processes: CliProcess[] = [];
  let startedAt = 0;

  before(async () => {
    nats = await startNatsServer({ jetstream: true });
    const [coordinatorPort, ...workerPorts] = [await freePort(), await freePort(), await freePort()];
    prometheus = await startPrometheus({
      config: deployConfigScraping({
        'tracoco-coordinator': [`127.0.0.1:${coordinatorPort}`],
        'tracoco-worker': workerPorts.map((p) => `127.0.0.1:${p}`),
      }),
      files: { 'alerts.yml': readFileSync(join(deployDir, 'alerts.yml'), 'utf8') },
    });
    const root = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 7, testCases: 2, shape: [24, 24, 20], seed: 2 })).root;
    // The backend does not matter to the panels; the JavaScript one is the quickest at 16^3.
    const backend = process.env.TRACOCO_TEST_BACKEND ?? 'cpu';
    processes.push(...workerPorts.map((port, i) => startWorker(nats.url, `dash-${i}`, ['--backend', backend, '--metrics-port', String(port)])));
    // Prometheus sees the workers' counters before they move, so rates cover the whole run.
    await prometheus.waitFor('up{job="tracoco-worker"} == 1', (r) => r.length === 2, SCRAPE_TIMEOUT_MS);
    startedAt = Date.now();
    const sets = [
      'seed=5', 'data.labeled=2', 'data.patch=[16,16,16]', 'model.filters=4', 'train.rampup_length=1',
      `eval.every=${ITERATIONS / 2}`, 'eval.split=test', 'eval.patch=[16,16,16]', 'eval.stride_xy=8', 'eval.stride_z=8', 'eval.batch=4',
      `checkpoint.every=${ITERATIONS / 2}`,
    ];
    const coordinator = startCli([
      'coordinator', '--config', 'phantom', '--nats', nats.url, '--data', root, '--out', join(tmp.path, 'run'), '--workers', '2',
      '--max-iterations', String(ITERATIONS), '--metrics-port', String(coordinatorPort), '--metrics-linger-s', '120',
      '--heartbeat-timeout-ms', '3000', '--step-timeout-s', '120', ...sets.flatMap((x) => ['--set', x]),
    ]);
    processes.push(coordinator);
    // The coordinator keeps /metrics up after the run (--metrics-linger-s): wait until Prometheus
    // has the final counts from all three processes, then two more scrapes.
    await prometheus.waitFor('tracoco_iterations_total{job="tracoco-coordinator"}', (r) => r[0]?.value === ITERATIONS, 240_000);
    await prometheus.waitFor('sum(tracoco_step_seconds_count{job="tracoco-worker",phase="optimizer"})', (r) => r[0]?.value === 2 * ITERATIONS, SCRAPE_TIMEOUT_MS);
    const scrapes = (await prometheus.query('min(count_over_time(up{job=~"tracoco-.*"}[1h]))'))[0]!.value;
    await prometheus.waitFor('min(count_over_time(up{job=~"tracoco-.*"}[1h]))', (r) => (r[0]?.value ?? 0) >= scrapes + 2, SCRAPE_TIMEOUT_MS);
  });

  after(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await prometheus?.stop();
    await nats?.stop();
    tmp.cleanup();
  });

  test('every panel target of every dashboard returns data', async () => {
    // Rate windows span the whole run, as Grafana's would over a dashboard's time range.
    const window = `${Math.ceil((Date.now() - startedAt) / 1000) + 5}s`;
    const queries = dashboardQueries(join(repoRoot, 'grafana', 'dashboards'));
    assert.ok(queries.length >= 30, `${queries.length} panel targets`);
    const empty: string[] = [];
    for (const q of queries) {
      const expr = substituteVariables(q.expr, { job: '.*', instance: '.*' }, window);
      const result = await prometheus.query(expr);
      if (result.length === 0) empty.push(`${q.dashboard} #${q.panelId} "${q.panelTitle}" ${q.refId}: ${expr}`);
    }
    assert.deepEqual(empty, [], `panels without data:\n${empty.join('\n')}`);
  });

  test('the workers\' metrics moved: every step phase observed once per worker and iteration, bytes exchanged', async () => {
    const phases = await prometheus.query('sum by (phase) (tracoco_step_seconds_count{job="tracoco-worker"})');
    assert.deepEqual(
      Object.fromEntries(phases.map((s) => [s.metric.phase, s.value])),
      Object.fromEntries(STEP_PHASES.map((p) => [p, 2 * ITERATIONS])),
      'two workers (model 1 and 2) x iterations',
    );
    const bytes = await prometheus.query('tracoco_exchange_bytes_total{job="tracoco-worker"}');
    assert.ok(bytes.length === 2 && bytes.every((b) => b.value > 0), `exchange bytes per worker ${JSON.stringify(bytes)}`);
    const up = await prometheus.query('up{job=~"tracoco-.*"} == 1');
    assert.equal(up.length, 3, 'three processes scraped: one coordinator, two workers');
    const evals = await prometheus.query('count(tracoco_eval_dice{job="tracoco-coordinator"} >= 0)');
    assert.equal(evals[0]?.value, 2, 'an evaluation of each model');
  });

  test('the alert rules evaluate without errors on the run\'s series, and none fires after a healthy run', async () => {
    const { groups } = await prometheus.api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
    const rules = groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 6, `${rules.length} rules loaded`);
    const unhealthy = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    assert.deepEqual(unhealthy, []);
    // Firing, not pending: a worker busy in a step can miss a scrape (its event loop is blocked),
    // which turns TracocoWorkerDown pending; its `for: 2m` exists to absorb exactly that.
    assert.deepEqual(await prometheus.query('ALERTS{alertstate="firing"}'), []);
  });
});
