/**
 * Static checks of deploy/ and grafana/ (no Docker engine or cluster needed): every file parses,
 * Kubernetes objects carry what their kinds require, compose, Prometheus, Grafana and the
 * manifests agree on names, ports and files, and every PromQL expression uses metrics the code
 * defines. Binaries that can check more (nats-server -t, kubectl kustomize) are used when present.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { createMetrics } from '../../src/shared/telemetry/index.js';
import { SHUTDOWN_DEADLINE_MS } from '../../src/cli/shutdown.js';
import { dashboardQueries, panelsOf, type Dashboard } from '../support/prometheus.js';
import { findBinary, repoRoot, skipUnlessBinary } from '../support/env.js';

const deployDir = join(repoRoot, 'deploy');
const k8sDir = join(deployDir, 'k8s');
const dashboardsDir = join(repoRoot, 'grafana', 'dashboards');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, pattern) : pattern.test(name) ? [path] : [];
  });
}

/** All documents of a YAML file; compose uses merge keys (`<<: *worker`). */
function yamlDocuments(path: string): Obj[] {
  return parseAllDocuments(readFileSync(path, 'utf8'), { merge: true }).map((doc) => {
    assert.deepEqual(doc.errors.map(String), [], `${relative(repoRoot, path)} parses`);
    return doc.toJS() as Obj;
  });
}

const yamlFile = (path: string): Obj => yamlDocuments(path)[0]!;

/** Compose-style `${VAR:-default}` / `${VAR}` with every variable unset. */
function withDefaults(text: string): string {
  return text.replace(/\$\{\w+(?::?-([^}]*))?\}/g, (_m, fallback: string | undefined) => fallback ?? '');
}

// ---------------------------------------------------------------------------------------------
// PromQL: the metric names an expression reads.

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Metric names in a PromQL expression (function and aggregation names, labels and keywords left out). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][\w:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(after) || PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Every series name the code exposes (histograms as _bucket/_sum/_count), plus Prometheus's `up`. */
async function definedMetricNames(): Promise<Set<string>> {
  const metrics = createMetrics('local', 'cpu');
  const names = new Set(['up']);
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m.name + suffix);
    if (String(m.type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(m.name + suffix);
  }
  metrics.registry.clear();
  return names;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

const k8sFiles = filesUnder(k8sDir, /\.ya?ml$/).filter((f) => !f.endsWith('kustomization.yaml'));
const k8sObjects = (): { file: string; obj: Obj }[] =>
  k8sFiles.flatMap((file) => yamlDocuments(file).filter(Boolean).map((obj) => ({ file: relative(repoRoot, file), obj })));

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
const podSpec = (o: Obj): Obj => o.spec.template.spec;
const podLabels = (o: Obj): Obj => o.spec.template.metadata?.labels ?? {};
const allContainers = (o: Obj): Obj[] => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers];
const subset = (small: Obj, big: Obj) => Object.entries(small).every(([k, v]) => big[k] === v);
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('deploy/ and grafana/ files', () => {
  test('every YAML under deploy/ and grafana/ parses (multi-document for Kubernetes)', () => {
    const files = [...filesUnder(deployDir, /\.ya?ml$/), ...filesUnder(join(repoRoot, 'grafana'), /\.ya?ml$/)];
    assert.ok(files.length >= 12, `found ${files.length} YAML files`);
    for (const file of files) assert.ok(yamlDocuments(file).length >= 1, `${relative(repoRoot, file)} has a document`);
  });

  test('the PromQL name extraction reads metric names only', () => {
    assert.deepEqual(
      metricNames('sum by (phase) (rate(tracoco_step_seconds_sum{job=~"$job", phase!="x"}[$__rate_interval])) / ignoring (phase) group_left sum(up) > 0.5e3'),
      ['tracoco_step_seconds_sum', 'up'],
    );
    assert.deepEqual(metricNames('histogram_quantile(0.9, sum(rate(a_bucket[5m])) by (le)) and on () b == Inf'), ['a_bucket', 'b']);
  });

  describe('Kubernetes manifests', () => {
    test('objects have apiVersion, kind, metadata.name and the tracoco namespace', () => {
      const objects = k8sObjects();
      assert.ok(objects.length >= 10, `found ${objects.length} objects`);
      for (const { file, obj } of objects) {
        const where = `${file} ${obj.kind}/${obj.metadata?.name}`;
        assert.equal(typeof obj.apiVersion, 'string', `${where}: apiVersion`);
        assert.equal(typeof obj.kind, 'string', `${where}: kind`);
        assert.match(obj.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${where}: metadata.name`);
        if (obj.kind !== 'Namespace') assert.equal(obj.metadata.namespace, 'tracoco', `${where}: namespace`);
      }
    });

    test('workloads: selectors match their pod labels, containers have images, volumes resolve', () => {
      const objects = k8sObjects().map((o) => o.obj);
      const named = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
      const services = objects.filter((o) => o.kind === 'Service');
      const workloads = objects.filter((o) => WORKLOADS.has(o.kind));
      assert.deepEqual(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort(), ['Deployment/worker', 'Job/coordinator', 'StatefulSet/nats']);
      for (const w of workloads) {
        const where = `${w.kind}/${w.metadata.name}`;
        if (w.kind !== 'Job') {
          assert.ok(w.spec.selector?.matchLabels, `${where}: spec.selector.matchLabels`);
          assert.ok(subset(w.spec.selector.matchLabels, podLabels(w)), `${where}: selector matches template labels`);
        } else {
          assert.ok(['OnFailure', 'Never'].includes(podSpec(w).restartPolicy), `${where}: a Job's restartPolicy is OnFailure or Never`);
        }
        assert.ok(podSpec(w).containers.length > 0, `${where}: containers`);
        const volumes = new Set<string>([
          ...(podSpec(w).volumes ?? []).map((v: Obj) => v.name),
          ...(w.spec.volumeClaimTemplates ?? []).map((t: Obj) => t.metadata.name),
        ]);
        for (const c of allContainers(w)) {
          assert.ok(c.name && c.image, `${where}: container ${c.name} has a name and an image`);
          for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${where}: mount ${m.name} names a volume`);
          for (const e of c.envFrom ?? []) {
            if (e.secretRef) assert.ok(named('Secret').has(e.secretRef.name), `${where}: secret ${e.secretRef.name} exists`);
            if (e.configMapRef) assert.ok(named('ConfigMap').has(e.configMapRef.name), `${where}: configmap ${e.configMapRef.name} exists`);
          }
        }
        for (const v of podSpec(w).volumes ?? []) {
          if (v.configMap) assert.ok(named('ConfigMap').has(v.configMap.name), `${where}: configmap ${v.configMap.name} exists`);
          if (v.persistentVolumeClaim) assert.ok(named('PersistentVolumeClaim').has(v.persistentVolumeClaim.claimName), `${where}: claim exists`);
        }
        if (w.kind === 'StatefulSet') {
          const service = services.find((s) => s.metadata.name === w.spec.serviceName);
          assert.ok(service, `${where}: serviceName ${w.spec.serviceName} is a Service`);
          assert.equal(service.spec.clusterIP, 'None', `${where}: its service is headless`);
          assert.ok(w.spec.volumeClaimTemplates?.length > 0, `${where}: volumeClaimTemplates (JetStream store)`);
        }
      }
      for (const s of services) {
        const where = `Service/${s.metadata.name}`;
        assert.ok(s.spec.ports?.length > 0, `${where}: ports`);
        assert.ok(s.spec.selector && Object.keys(s.spec.selector).length > 0, `${where}: selector`);
        const backends = workloads.filter((w) => subset(s.spec.selector, podLabels(w)));
        assert.equal(backends.length, 1, `${where}: selects one workload's pods`);
        const portNames = new Set(backends[0]!.spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => p.name)));
        for (const p of s.spec.ports) {
          assert.equal(typeof p.port, 'number', `${where}: port number`);
          if (typeof p.targetPort === 'string') assert.ok(portNames.has(p.targetPort), `${where}: targetPort ${p.targetPort} is a container port`);
        }
      }
    });

    test('the worker requests a GPU; coordinator and workers are scraped on their --metrics-port and reach NATS', () => {
      const objects = k8sObjects().map((o) => o.obj);
      const worker = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'worker')!;
      const coordinator = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'coordinator')!;
      assert.equal(String(podSpec(worker).containers[0].resources?.limits?.['nvidia.com/gpu']), '1', 'worker limits nvidia.com/gpu: 1');
      assert.ok(worker.spec.replicas >= Number(argAfter(podSpec(coordinator).containers[0].args, '--workers')), 'enough workers for --workers');

      const natsService = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'nats')!;
      for (const [role, w] of [['worker', worker], ['coordinator', coordinator]] as const) {
        const labels = podLabels(w);
        const annotations = w.spec.template.metadata.annotations ?? {};
        const container = podSpec(w).containers[0];
        assert.equal(labels.role, role, `${role}: role label (Prometheus job tracoco-${role})`);
        assert.equal(annotations['prometheus.io/scrape'], 'true', `${role}: prometheus.io/scrape`);
        const port = annotations['prometheus.io/port'];
        assert.equal(argAfter(container.args, '--metrics-port'), port, `${role}: --metrics-port equals prometheus.io/port`);
        assert.deepEqual(container.ports.find((p: Obj) => p.name === 'metrics')?.containerPort, Number(port), `${role}: container port 'metrics'`);
        const natsUrl = new URL(container.env.find((e: Obj) => e.name === 'NATS_URL').value);
        assert.equal(natsUrl.hostname, natsService.metadata.name, `${role}: NATS_URL names the nats Service`);
        assert.ok(natsService.spec.ports.some((p: Obj) => p.port === Number(natsUrl.port)), `${role}: NATS_URL port is served`);
      }
    });

    test('the NATS ConfigMap holds deploy/nats.conf and deploy/nats-auth.conf verbatim', () => {
      const config = k8sObjects().find((o) => o.obj.kind === 'ConfigMap' && o.obj.metadata.name === 'nats-config')!.obj;
      for (const name of ['nats.conf', 'nats-auth.conf']) assert.equal(config.data[name], readFileSync(join(deployDir, name), 'utf8'), name);
    });

    test('kustomization.yaml lists every manifest in deploy/k8s (the optional monitoring/ aside)', () => {
      const kustomization = yamlFile(join(k8sDir, 'kustomization.yaml'));
      const listed = new Set<string>(kustomization.resources);
      const top = readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
      assert.deepEqual([...listed].sort(), top.sort());
    });

    test('kubectl kustomize renders the manifests', { skip: findBinary('kubectl') ? false : 'kubectl not installed' }, () => {
      const rendered = execFileSync('kubectl', ['kustomize', k8sDir], { encoding: 'utf8', timeout: 60_000 });
      const kinds = parseAllDocuments(rendered).map((d) => (d.toJS() as Obj).kind);
      assert.equal(kinds[0], 'Namespace', 'the namespace comes first');
      assert.equal(kinds.length, k8sObjects().filter((o) => !o.file.includes('monitoring')).length);
    });
  });

  describe('compose', () => {
    const composePath = join(deployDir, 'compose.yaml');
    const compose = () => parse(withDefaults(readFileSync(composePath, 'utf8')), { merge: true }) as Obj;

    test('services reference only files and directories that exist', () => {
      const c = compose();
      const namedVolumes = new Set(Object.keys(c.volumes ?? {}));
      for (const [name, service] of Object.entries<Obj>(c.services)) {
        if (service.build) {
          const context = resolve(deployDir, service.build.context);
          assert.ok(existsSync(join(context, 'package.json')), `${name}: build context ${service.build.context} is the repository`);
          assert.ok(existsSync(join(context, service.build.dockerfile)), `${name}: dockerfile ${service.build.dockerfile}`);
        }
        for (const volume of service.volumes ?? []) {
          const source = String(volume).split(':')[0]!;
          if (source.startsWith('.')) assert.ok(existsSync(resolve(deployDir, source)), `${name}: volume source ${source} exists`);
          else assert.ok(namedVolumes.has(source), `${name}: named volume ${source} is declared`);
        }
        const dependsOn = service.depends_on ?? [];
        for (const dependency of Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn)) assert.ok(dependency in c.services, `${name}: depends on ${dependency}`);
      }
      // The `nats` command picks one of the mounted configs.
      const natsConfig = c.services.nats.command.at(-1) as string;
      assert.ok(c.services.nats.volumes.some((v: string) => v.endsWith(`:${natsConfig}:ro`)), `${natsConfig} is mounted`);
    });

    test('GPU workers reserve an NVIDIA GPU each, and Prometheus scrapes every tracoco service on its --metrics-port', () => {
      const c = compose();
      const workers = Object.entries<Obj>(c.services).filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile.worker');
      assert.ok(workers.length >= 2, 'two GPU workers');
      for (const [name, s] of workers) {
        const devices = s.deploy?.resources?.reservations?.devices ?? [];
        assert.ok(devices.some((d: Obj) => d.driver === 'nvidia' && d.capabilities.includes('gpu') && (d.count === 1 || d.device_ids?.length === 1)), `${name}: one NVIDIA GPU`);
      }
      const prometheus = yamlFile(join(deployDir, 'prometheus.yml'));
      const scraped = new Map<string, string>(); // service -> job
      for (const job of prometheus.scrape_configs) {
        for (const group of job.static_configs ?? []) for (const target of group.targets) scraped.set(target, job.job_name);
      }
      const exported = Object.entries<Obj>(c.services).filter(([, s]) => (s.command ?? []).includes('--metrics-port'));
      assert.ok(exported.length >= 3, 'coordinator and workers export metrics');
      for (const [name, s] of exported) {
        const target = `${name}:${argAfter(s.command, '--metrics-port')}`;
        assert.ok(scraped.has(target), `prometheus.yml scrapes ${target}`);
        assert.equal(scraped.get(target), s.command[0] === 'coordinator' ? 'tracoco-coordinator' : 'tracoco-worker', `${target} job`);
        assert.equal(new URL(s.environment.NATS_URL).hostname, 'nats', `${name}: NATS_URL names the nats service`);
      }
      for (const [target, job] of scraped) {
        if (job.startsWith('tracoco-')) assert.ok(target.split(':')[0]! in c.services, `${target} is a compose service`);
      }
    });

    test('the Prometheus and Grafana services mount files that exist and the paths their configs use', () => {
      const c = compose();
      const mounts = (service: string) => new Map<string, string>(c.services[service].volumes.map((v: string) => [v.split(':')[1], v.split(':')[0]]));
      const prometheusMounts = mounts('prometheus');
      const config = c.services.prometheus.command.find((a: string) => a.startsWith('--config.file=')).split('=')[1];
      assert.equal(prometheusMounts.get(config), './prometheus.yml');
      for (const rule of yamlFile(join(deployDir, 'prometheus.yml')).rule_files) {
        assert.ok(prometheusMounts.has(join(dirname(config), rule)), `${rule} is mounted beside the config`);
      }
      const grafanaMounts = mounts('grafana');
      const provisioning = resolve(deployDir, grafanaMounts.get('/etc/grafana/provisioning')!);
      assert.equal(provisioning, join(repoRoot, 'grafana', 'provisioning'));
      const provider = yamlFile(join(provisioning, 'dashboards', 'tracoco.yaml')).providers[0];
      assert.equal(provider.type, 'file');
      const dashboards = grafanaMounts.get(provider.options.path);
      assert.ok(dashboards, `the provider path ${provider.options.path} is mounted`);
      assert.equal(resolve(deployDir, dashboards), dashboardsDir);
      const datasource = yamlFile(join(provisioning, 'datasources', 'prometheus.yaml')).datasources[0];
      assert.equal(datasource.uid, 'prometheus');
      assert.equal(datasource.type, 'prometheus');
      const url = new URL(datasource.url);
      assert.ok(url.hostname in c.services, 'the datasource URL names the compose service');
      assert.ok(c.services[url.hostname].ports.some((p: string) => p.endsWith(`:${url.port}`)), 'on the port Prometheus serves');
    });
  });

  describe('Prometheus', () => {
    test('rule files exist; the alerts use only the job names both scrape configs produce', () => {
      const alertJobs = new Set([...readFileSync(join(deployDir, 'alerts.yml'), 'utf8').matchAll(/job="([^"]+)"/g)].map((m) => m[1]!));
      assert.deepEqual([...alertJobs].sort(), ['tracoco-coordinator', 'tracoco-worker']);
      const compose = yamlFile(join(deployDir, 'prometheus.yml'));
      const kubernetes = yamlFile(join(deployDir, 'prometheus-kubernetes.yml'));
      for (const config of [compose, kubernetes]) {
        for (const rule of config.rule_files) assert.ok(existsSync(join(deployDir, rule)), `${rule} exists`);
      }
      const composeJobs = new Set(compose.scrape_configs.map((j: Obj) => j.job_name));
      for (const job of alertJobs) assert.ok(composeJobs.has(job), `prometheus.yml has job ${job}`);
      // Kubernetes: the job is tracoco-<role label>; the manifests' roles must produce the alerts' jobs.
      const pods = kubernetes.scrape_configs.find((j: Obj) => j.kubernetes_sd_configs);
      const jobRule = pods.relabel_configs.find((r: Obj) => r.target_label === 'job');
      assert.deepEqual(jobRule.source_labels, ['__meta_kubernetes_pod_label_role']);
      const roles = k8sObjects()
        .map((o) => o.obj)
        .filter((o) => WORKLOADS.has(o.kind) && podLabels(o).role)
        .map((o) => podLabels(o).role as string);
      assert.deepEqual(new Set(roles.map((r) => jobRule.replacement.replace('$1', r))), alertJobs);
    });

    test('every alert has a for duration, a severity and summary/description annotations', () => {
      const rules = yamlFile(join(deployDir, 'alerts.yml')).groups.flatMap((g: Obj) => g.rules);
      assert.ok(rules.length >= 6, `${rules.length} rules`);
      for (const r of rules) {
        assert.ok(r.alert, 'alerting rules only');
        assert.match(String(r.for), /^\d+[smh]$/, `${r.alert}: for`);
        assert.ok(['warning', 'critical'].includes(r.labels?.severity), `${r.alert}: severity`);
        assert.ok(r.annotations?.summary && r.annotations?.description, `${r.alert}: summary and description`);
      }
    });
  });

  describe('Grafana dashboards', () => {
    const files = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'));

    test('training, throughput and cluster dashboards: valid JSON, unique uids and panel ids, grid inside 24 columns without overlaps', () => {
      assert.deepEqual(files.sort(), ['cluster.json', 'throughput.json', 'training.json']);
      const uids = new Set<string>();
      for (const file of files) {
        const d = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard & Obj;
        assert.ok(d.uid && !uids.has(d.uid), `${file}: unique uid`);
        uids.add(d.uid);
        assert.ok(d.schemaVersion >= 36, `${file}: schemaVersion ${d.schemaVersion}`);
        const panels = panelsOf(d);
        const ids = panels.map((p) => p.id);
        assert.equal(new Set(ids).size, ids.length, `${file}: unique panel ids`);
        const cells = new Map<string, number>();
        for (const p of panels) {
          const g = p.gridPos as { x: number; y: number; w: number; h: number };
          assert.ok(g && g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${file} panel ${p.id}: gridPos within 24 columns`);
          for (let x = g.x; x < g.x + g.w; x++) {
            for (let y = g.y; y < g.y + g.h; y++) {
              const other = cells.get(`${x},${y}`);
              assert.equal(other, undefined, `${file}: panels ${other} and ${p.id} overlap`);
              cells.set(`${x},${y}`, p.id);
            }
          }
          if (p.type === 'row') continue;
          assert.ok(['timeseries', 'stat', 'table', 'gauge', 'bargauge'].includes(p.type), `${file} panel ${p.id}: type ${p.type}`);
          assert.deepEqual(p.datasource, { type: 'prometheus', uid: 'prometheus' }, `${file} panel ${p.id}: datasource`);
          assert.ok((p.targets ?? []).length > 0, `${file} panel ${p.id}: targets`);
          const refIds = p.targets!.map((t) => t.refId);
          assert.equal(new Set(refIds).size, refIds.length, `${file} panel ${p.id}: unique refIds`);
        }
      }
    });

    test('every expression (panels, variables, alerts) reads only metrics the code defines', async () => {
      const defined = await definedMetricNames();
      const expressions: [string, string][] = dashboardQueries(dashboardsDir).map((q) => [`${q.dashboard} panel ${q.panelId} ${q.refId}`, q.expr]);
      for (const file of files) {
        const d = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard;
        for (const v of d.templating?.list ?? []) {
          const query = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
          const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1];
          assert.ok(selector, `${file} variable ${v.name}: label_values(selector, label)`);
          expressions.push([`${file} variable ${v.name}`, selector]);
        }
      }
      for (const group of yamlFile(join(deployDir, 'alerts.yml')).groups) {
        for (const rule of group.rules) expressions.push([`alert ${rule.alert}`, rule.expr]);
      }
      assert.ok(expressions.length > 40, `${expressions.length} expressions`);
      const unknown = expressions.flatMap(([where, expr]) => metricNames(expr).filter((n) => !defined.has(n)).map((n) => `${where}: ${n}`));
      assert.deepEqual(unknown, [], 'metric names not defined by src/shared/telemetry/metrics.ts or prom-client defaults');
    });
  });

  describe('images', () => {
    const dockerfile = (name: string) => readFileSync(join(deployDir, name), 'utf8');
    const instructions = (text: string) =>
      text
        .replace(/\\\n/g, ' ')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#'))
        .map((l) => l.trim());

    for (const name of ['Dockerfile', 'Dockerfile.worker']) {
      test(`${name}: COPY sources exist, the entrypoint is the tracoco CLI, build outputs stay out of the context`, () => {
        const lines = instructions(dockerfile(name));
        const copies = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
        assert.ok(copies.length >= 5);
        for (const line of copies) {
          for (const source of line.split(/\s+/).slice(1, -1)) assert.ok(existsSync(join(repoRoot, source)), `${name}: COPY ${source} exists`);
        }
        const entrypoint = JSON.parse(lines.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
        assert.ok(entrypoint.some((a) => a.endsWith('bin/tracoco.js')), `${name}: ENTRYPOINT runs bin/tracoco.js`);
        assert.ok(lines.some((l) => /RUN .*npm ci/.test(l)) && lines.some((l) => /RUN .*npm run build/.test(l)), `${name}: npm ci and build`);
        const ignored = readFileSync(join(deployDir, `${name}.dockerignore`), 'utf8').split('\n');
        for (const path of ['**/node_modules', 'dist', 'native/build']) assert.ok(ignored.includes(path), `${name}.dockerignore excludes ${path}`);
      });
    }

    test('the CPU image builds the oneDNN kernels; the GPU image pairs tfjs-node-gpu with tfjs-core and CUDA 11.2/cuDNN 8', () => {
      const cpu = dockerfile('Dockerfile');
      assert.match(cpu, /^FROM node:20-bookworm$/m);
      assert.match(cpu, /apt-get install [^\n]*libdnnl-dev/);
      const gpu = dockerfile('Dockerfile.worker');
      const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
      const tfjs = pkg.dependencies['@tensorflow/tfjs-core'].replace(/^[\^~]/, '');
      assert.match(gpu, new RegExp(`@tensorflow/tfjs-node-gpu@${tfjs.replace(/\./g, '\\.')}\\b`), `tfjs-node-gpu ${tfjs}, the version of tfjs-core`);
      assert.match(gpu, /ARG CUDA_IMAGE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu20\.04/);
      assert.match(gpu, /^FROM \$\{CUDA_IMAGE\}$/m);
      assert.match(gpu, /^FROM node:20-/m, 'Node 20');
    });
  });

  test('nats-server accepts nats.conf and nats-auth.conf', { skip: skipUnlessBinary('nats-server') }, () => {
    const { NATS_USER: _user, NATS_PASSWORD: _password, ...unset } = process.env;
    const check = (file: string, env: NodeJS.ProcessEnv) =>
      execFileSync('nats-server', ['-c', join(deployDir, file), '-t'], { encoding: 'utf8', env, timeout: 30_000, stdio: 'pipe' });
    check('nats.conf', unset);
    check('nats-auth.conf', { ...unset, NATS_USER: 'tracoco', NATS_PASSWORD: 'secret' });
    assert.throws(() => check('nats-auth.conf', unset), /NATS_USER/, 'without credentials the server refuses to start');
  });
});

test('Kubernetes grace periods leave room for the shutdown deadline (coordinator) and a step plus it (workers)', () => {
  const grace = (file: string) => {
    const docs = parseAllDocuments(readFileSync(join(repoRoot, 'deploy', 'k8s', file), 'utf8')).map((d) => d.toJS());
    const workload = docs.find((d) => d?.kind === 'Job' || d?.kind === 'Deployment');
    return workload.spec.template.spec.terminationGracePeriodSeconds as number;
  };
  assert.ok(grace('coordinator.yaml') * 1000 > SHUTDOWN_DEADLINE_MS, `coordinator grace ${grace('coordinator.yaml')} s`);
  assert.ok(grace('worker.yaml') * 1000 >= SHUTDOWN_DEADLINE_MS + 20_000, `worker grace ${grace('worker.yaml')} s`);
});
