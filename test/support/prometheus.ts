/**
 * A real `prometheus` for integration tests: 127.0.0.1 only, a free port, a temp config and
 * storage, 1 s scrape and rule evaluation, and a small client for its HTTP API. Tests skip with
 * `skipUnlessBinary('prometheus')` (test/support/env.ts).
 *
 * Also reads the Grafana dashboards: the PromQL each panel sends, with Grafana's variables
 * replaced by concrete values, so tests can run it against this Prometheus.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePort, tempDir } from './env.js';
import { terminate } from '../../src/cli/cluster/terminate.js';

export interface PrometheusOptions {
  /** Scrape jobs as job name -> `host:port` targets (ignored when `config` is given). */
  jobs?: Record<string, string[]>;
  /** A whole prometheus.yml as an object; its global intervals are set to `scrapeIntervalS`. */
  config?: Record<string, unknown>;
  /** Files written beside the config (rule files, file_sd target files), by relative name. */
  files?: Record<string, string>;
  scrapeIntervalS?: number;
  /** Bound on waiting for /-/ready. */
  startTimeoutMs?: number;
}

/** One series of an instant query (a scalar result has no labels). */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  url: string;
  port: number;
  /** The directory holding the config and `files`. */
  dir: string;
  /** An instant query at `time` (seconds since the epoch; default now). Rejects with Prometheus's error. */
  query(expr: string, time?: number): Promise<Sample[]>;
  /** Polls `expr` every 250 ms until `accept(result)`, or rejects after `timeoutMs` with the last result. */
  waitFor(expr: string, accept: (result: Sample[]) => boolean, timeoutMs: number): Promise<Sample[]>;
  /** GET /api/v1/<path> and return its `data`. */
  api<T = unknown>(path: string): Promise<T>;
  /** Stops the server and removes its config and storage. */
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 5000;
const OUTPUT_TAIL = 4000;
const REQUEST_TIMEOUT_MS = 10_000;

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const dir = tempDir('tracoco-prometheus-');
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  const config = options.config
    ? { ...options.config, global: { ...(options.config.global as object | undefined), scrape_interval: interval, evaluation_interval: interval } }
    : {
        global: { scrape_interval: interval, evaluation_interval: interval },
        scrape_configs: Object.entries(options.jobs ?? {}).map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] })),
      };
  const configFile = join(dir.path, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir.path, name), text);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir.path, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ];
  const child = spawn('prometheus', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (data: Buffer) => (output = (output + data.toString()).slice(-OUTPUT_TAIL));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    await terminate(child, STOP_TIMEOUT_MS);
    process.removeListener('exit', killOnExit);
    dir.cleanup();
  };

  try {
    await waitReady(url, child, options.startTimeoutMs ?? 15_000);
  } catch (err) {
    await stop();
    throw new Error(`prometheus ${args.join(' ')}: ${(err as Error).message}\n${output}`);
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const query = async (expr: string, time?: number): Promise<Sample[]> => {
    const params = new URLSearchParams({ query: expr });
    if (time !== undefined) params.set('time', String(time));
    return samplesOf(await api<QueryData>(`query?${params}`));
  };
  return {
    url,
    port,
    dir: dir.path,
    query,
    api,
    async waitFor(expr, accept, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last: Sample[] = [];
      for (;;) {
        last = await query(expr);
        if (accept(last)) return last;
        if (Date.now() > deadline) throw new Error(`'${expr}' not as expected after ${timeoutMs} ms; last result ${JSON.stringify(last)}`);
        await sleep(250);
      }
    },
    stop,
  };
}

type QueryData =
  | { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'matrix' | 'string'; result: unknown };

function samplesOf(data: QueryData): Sample[] {
  switch (data.resultType) {
    case 'vector':
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    case 'scalar':
      return [{ metric: {}, value: Number(data.result[1]) }];
    default:
      throw new Error(`expected an instant vector or scalar, got a ${data.resultType}`);
  }
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}



// ---------------------------------------------------------------------------------------------
// Grafana dashboards as Prometheus sees them.

export interface PanelQuery {
  dashboard: string;
  panelId: number;
  panelTitle: string;
  refId: string;
  /** The expression as stored in the dashboard. */
  expr: string;
}

/** Every panel target of every dashboard JSON in `dir` (rows' nested panels included). */
export function dashboardQueries(dir: string): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard;
    for (const panel of panelsOf(dashboard)) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string') {
          queries.push({ dashboard: file, panelId: panel.id, panelTitle: panel.title, refId: target.refId ?? '?', expr: target.expr });
        }
      }
    }
  }
  return queries;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: unknown }[] };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
  [key: string]: unknown;
}

/** Top-level panels and those collapsed inside rows. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * Replaces Grafana's variables: `$job`/`${job}`-style dashboard variables by `values[name]`
 * (for `=~` matchers, `.*` selects all), `$__rate_interval`/`$__interval`/`$__range` by `window`.
 * Throws when a variable is left over, so a new one cannot silently break the query.
 */
export function substituteVariables(expr: string, values: Record<string, string>, window: string): string {
  const all: Record<string, string> = { ...values, __rate_interval: window, __interval: window, __range: window };
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (match, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (!(name in all)) throw new Error(`unknown dashboard variable ${match} in ${expr}`);
    return all[name]!;
  });
  return out;
}
