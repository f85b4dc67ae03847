/**
 * deploy/prometheus.yml, deploy/prometheus-kubernetes.yml and deploy/alerts.yml against the real
 * promtool and prometheus: syntax, the alert unit tests in deploy/alerts.test.yml, and the
 * Kubernetes relabelling run on pod labels like those of deploy/k8s against a live /metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { serveMetrics, type MetricsServer } from '../../src/cli/telemetry.js';
import { createMetrics } from '../../src/shared/telemetry/index.js';
import { repoRoot, skipUnlessBinary, tempDir } from '../support/env.js';
import { startPrometheus, type Prometheus } from '../support/prometheus.js';

const deployDir = join(repoRoot, 'deploy');

function promtool(...args: string[]): string {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  const output = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${output}`);
  return output;
}

/**
 * The Kubernetes config with pod discovery swapped for file discovery of the same `__meta_*`
 * labels (Debian's prometheus is built without Kubernetes discovery); everything else as is.
 */
function kubernetesConfigWithFileDiscovery(file: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const config = parse(readFileSync(join(deployDir, 'prometheus-kubernetes.yml'), 'utf8'));
  const pods = config.scrape_configs.find((j: { kubernetes_sd_configs?: unknown }) => j.kubernetes_sd_configs);
  assert.ok(pods, 'a job with kubernetes_sd_configs');
  delete pods.kubernetes_sd_configs;
  pods.file_sd_configs = [{ files: [file], refresh_interval: '1s' }];
  config.scrape_configs = [pods];
  return config;
}

/** A discovered pod container port as Kubernetes discovery labels it. */
function pod(name: string, labels: { role?: string; scrape?: string; port: number; portName?: string; init?: boolean; phase?: string }) {
  const meta: Record<string, string> = {
    __meta_kubernetes_namespace: 'tracoco',
    __meta_kubernetes_pod_name: name,
    __meta_kubernetes_pod_node_name: 'gpu-node-1',
    __meta_kubernetes_pod_phase: labels.phase ?? 'Running',
    __meta_kubernetes_pod_container_init: String(labels.init ?? false),
    __meta_kubernetes_pod_container_port_name: labels.portName ?? 'metrics',
    __meta_kubernetes_pod_annotation_prometheus_io_port: String(labels.port),
  };
  if (labels.role) meta.__meta_kubernetes_pod_label_role = labels.role;
  if (labels.scrape) meta.__meta_kubernetes_pod_annotation_prometheus_io_scrape = labels.scrape;
  // The discovered address carries the container port; the annotation's port must win.
  return { targets: ['127.0.0.1:1'], labels: meta };
}

describe('Prometheus configuration and alert rules', () => {
  describe('promtool', { skip: skipUnlessBinary('promtool') }, () => {
    test('prometheus.yml and alerts.yml are valid', () => {
      assert.match(promtool('check', 'config', join(deployDir, 'prometheus.yml')), /SUCCESS: .*prometheus\.yml is valid/);
      assert.match(promtool('check', 'rules', join(deployDir, 'alerts.yml')), /SUCCESS: \d+ rules found/);
    });

    test('prometheus-kubernetes.yml is valid apart from its discovery block', () => {
      const dir = tempDir('tracoco-promtool-');
      try {
        writeFileSync(join(dir.path, 'prometheus.yml'), stringify(kubernetesConfigWithFileDiscovery('pods.json')));
        writeFileSync(join(dir.path, 'pods.json'), '[]');
        copyFileSync(join(deployDir, 'alerts.yml'), join(dir.path, 'alerts.yml'));
        assert.match(promtool('check', 'config', join(dir.path, 'prometheus.yml')), /SUCCESS/);
      } finally {
        dir.cleanup();
      }
    });

    test('the alert unit tests (NaN loss, no progress, worker down/lost, Dice drop, recoveries, rejections) pass', () => {
      const output = promtool('test', 'rules', join(deployDir, 'alerts.test.yml'));
      assert.match(output, /SUCCESS/);
      const tests = parse(readFileSync(join(deployDir, 'alerts.test.yml'), 'utf8')).tests as { alert_rule_test: { alertname: string }[] }[];
      const covered = new Set(tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
      for (const alert of ['TracocoLossNotFinite', 'TracocoNoProgress', 'TracocoWorkerDown', 'TracocoWorkerLost', 'TracocoEvalDiceDropped']) {
        assert.ok(covered.has(alert), `${alert} has a unit test`);
      }
    });
  });

  describe('Kubernetes relabelling on a live target', { skip: skipUnlessBinary('prometheus') }, () => {
    let metrics: MetricsServer;
    let prometheus: Prometheus;

    before(async () => {
      metrics = await serveMetrics(createMetrics('coordinator', 'none').registry, 0, '127.0.0.1');
      const port = metrics.port;
      const pods = [
        pod('coordinator-x7k2p', { role: 'coordinator', scrape: 'true', port }),
        pod('coordinator-x7k2p', { role: 'coordinator', scrape: 'true', port, portName: '', init: true }),
        pod('worker-5d8f-abcde', { role: 'worker', scrape: 'true', port }),
        pod('coordinator-old', { role: 'coordinator', scrape: 'true', port, phase: 'Succeeded' }),
        pod('worker-unannotated', { role: 'worker', port }),
        pod('nats-0', { scrape: 'true', port, portName: 'monitor' }),
      ];
      prometheus = await startPrometheus({
        config: kubernetesConfigWithFileDiscovery('pods.json'),
        files: { 'pods.json': JSON.stringify(pods), 'alerts.yml': readFileSync(join(deployDir, 'alerts.yml'), 'utf8') },
      });
    });

    after(async () => {
      await prometheus?.stop();
      await metrics?.close();
    });

    test('keeps the running, annotated coordinator and worker pods, as jobs tracoco-coordinator and tracoco-worker', async () => {
      // File discovery hands targets over after up to 5 s; then one scrape.
      const up = await prometheus.waitFor('up', (r) => r.length >= 2, 30_000);
      const seen = up.map((s) => ({ job: s.metric.job, pod: s.metric.pod, role: s.metric.role, namespace: s.metric.namespace, instance: s.metric.instance, up: s.value }));
      seen.sort((a, b) => a.job!.localeCompare(b.job!));
      const instance = `127.0.0.1:${metrics.port}`;
      assert.deepEqual(seen, [
        { job: 'tracoco-coordinator', pod: 'coordinator-x7k2p', role: 'coordinator', namespace: 'tracoco', instance, up: 1 },
        { job: 'tracoco-worker', pod: 'worker-5d8f-abcde', role: 'worker', namespace: 'tracoco', instance, up: 1 },
      ]);
      const targets = await prometheus.api<{ droppedTargets: unknown[] }>('targets?state=dropped');
      assert.equal(targets.droppedTargets.length, 4, 'init container, finished pod, unannotated pod and NATS are dropped');
      const series = await prometheus.query('tracoco_iterations_total');
      assert.equal(series.length, 2, 'tracoco metrics scraped through both jobs');
    });
  });
});
