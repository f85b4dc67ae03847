/**
 * GUIDE §7: every panel of every dashboard in grafana/ has data after a short local run scraped by
 * a real Prometheus. The run is in-process (`runLocal`) with the coordinator's and the workers'
 * observers on one registry served on /metrics, scraped once a second by Prometheus started from
 * deploy/prometheus.yml (both tracoco jobs pointed at that server) with deploy/alerts.yml loaded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { initBackend } from '../../src/shared/backend/index.js';
import { validateConfig } from '../../src/shared/config/index.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { silentLogger } from '../../src/shared/log.js';
import { runLocal } from '../../src/local/run-local.js';
import { coordinatorMetrics } from '../../src/coordinator/metrics.js';
import { workerMetrics } from '../../src/worker/metrics.js';
import { serveMetrics, type MetricsServer } from '../../src/cli/telemetry.js';
import { createMetrics, STEP_PHASES } from '../../src/shared/telemetry/index.js';
import { repoRoot, skipUnlessBinary, tempDir } from '../support/env.js';
import { dashboardQueries, startPrometheus, substituteVariables, type Prometheus } from '../support/prometheus.js';

const ITERATIONS = 8;
const SCRAPE_TIMEOUT_MS = 30_000;
const deployDir = join(repoRoot, 'deploy');

/** deploy/prometheus.yml with each tracoco job scraping `target` (local mode: one registry for all). */
function deployConfigScraping(target: string): Record<string, unknown> {
  const config = parse(readFileSync(join(deployDir, 'prometheus.yml'), 'utf8'));
  config.scrape_configs = config.scrape_configs
    .filter((job: { job_name: string }) => job.job_name.startsWith('tracoco-'))
    .map((job: { static_configs: { labels?: object }[] }) => ({ ...job, static_configs: job.static_configs.map((g) => ({ ...g, targets: [target] })) }));
  return config;
}

describe('Grafana dashboards have data after a short local run', { skip: skipUnlessBinary('prometheus') }, () => {
  const tmp = tempDir('tracoco-dashboards-');
  let metricsServer: MetricsServer;
  let prometheus: Prometheus;
  let startedAt = 0;

  before(async () => {
    // The backend does not matter to the panels; the JavaScript one is the quickest at 16^3.
    const backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND ?? 'cpu')).name;
    const metrics = createMetrics('local', backend);
    metricsServer = await serveMetrics(metrics.registry, 0, '127.0.0.1');
    const target = `127.0.0.1:${metricsServer.port}`;
    prometheus = await startPrometheus({
      config: deployConfigScraping(target),
      files: { 'alerts.yml': readFileSync(join(deployDir, 'alerts.yml'), 'utf8') },
    });
    startedAt = Date.now();
    // Prometheus sees the counters before they move, so rates cover the whole run.
    await prometheus.waitFor('up{job=~"tracoco-.*"} == 1', (r) => r.length === 2, SCRAPE_TIMEOUT_MS);

    const root = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 7, testCases: 2, shape: [24, 24, 20], seed: 2 })).root;
    const config = validateConfig(
      {
        name: 'dashboards',
        seed: 5,
        data: { root, labeled: 2, patch: [16, 16, 16] },
        model: { filters: 4 },
        train: { batch_size: 4, max_iterations: ITERATIONS, rampup_length: 1 },
        eval: { every: ITERATIONS / 2, split: 'test', patch: [16, 16, 16], stride_xy: 8, stride_z: 8, batch: 4 },
        checkpoint: { every: ITERATIONS / 2 },
      },
      'test',
    );
    const summary = await runLocal({
      config,
      out: join(tmp.path, 'run'),
      logger: silentLogger,
      backend,
      observer: coordinatorMetrics(metrics),
      workerObserver: workerMetrics(metrics),
    });
    assert.equal(summary.iteration, ITERATIONS);
    // The metrics server stays up: wait until Prometheus has the final counts, then two more scrapes.
    await prometheus.waitFor('min(tracoco_iterations_total)', (r) => r[0]?.value === ITERATIONS, SCRAPE_TIMEOUT_MS);
    await prometheus.waitFor('min(count_over_time(up{job=~"tracoco-.*"}[1h]))', (r) => (r[0]?.value ?? 0) >= 3, SCRAPE_TIMEOUT_MS);
    const scrapes = (await prometheus.query('min(count_over_time(up{job=~"tracoco-.*"}[1h]))'))[0]!.value;
    await prometheus.waitFor('min(count_over_time(up{job=~"tracoco-.*"}[1h]))', (r) => (r[0]?.value ?? 0) >= scrapes + 2, SCRAPE_TIMEOUT_MS);
  });

  after(async () => {
    await prometheus?.stop();
    await metricsServer?.close();
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
    assert.ok(bytes.length === 1 && bytes[0]!.value > 0, `exchange bytes ${JSON.stringify(bytes)}`);
    const evals = await prometheus.query('count(tracoco_eval_dice{job="tracoco-coordinator"} >= 0)');
    assert.equal(evals[0]?.value, 2, 'an evaluation of each model');
  });

  test('the alert rules evaluate without errors on the run\'s series, and none fires after a healthy run', async () => {
    const { groups } = await prometheus.api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
    const rules = groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 6, `${rules.length} rules loaded`);
    const unhealthy = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    assert.deepEqual(unhealthy, []);
    assert.deepEqual(await prometheus.query('ALERTS'), []);
  });
});
