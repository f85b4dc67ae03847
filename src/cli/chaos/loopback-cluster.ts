/**
 * A whole cluster on loopback — a `nats-server -js`, a coordinator and N workers, each a real
 * process of the built CLI — with the handles a chaos run or a load benchmark needs: the
 * iteration reached, fault injection (SIGKILL, SIGSTOP/SIGCONT, a server restart, a late
 * joiner), restarts that mimic a supervisor, and per-process CPU time.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../cluster/free-port.js';
import { startNatsServer, type NatsServer } from '../cluster/nats-server.js';
import { processId, startTracoco, stepIterations, waitUntil, workerArgs, type CliProcess } from '../cluster/tracoco-process.js';

export interface LoopbackClusterOptions {
  /** Path of the built CLI (bin/tracoco.js). */
  cli: string;
  workers: number;
  /** Run config: `--config` and `--set` overrides, `--data`, `--max-iterations`. */
  config: string;
  sets: string[];
  dataRoot: string;
  maxIterations: number;
  out: string;
  heartbeatTimeoutMs: number;
  backend?: string;
  /** Serve nats-server's monitoring endpoint (message and byte counts for `bench load`). */
  monitor?: boolean;
}

export class LoopbackCluster {
  nats!: NatsServer;
  /** Every coordinator process started, the current one last. */
  readonly coordinators: CliProcess[] = [];
  /** Every worker process started, in order. */
  readonly workers: CliProcess[] = [];
  private readonly stopped = new Set<CliProcess>();
  private metricsPort = 0;
  private workerCount = 0;

  constructor(readonly o: LoopbackClusterOptions) {}

  async start(): Promise<void> {
    this.nats = await startNatsServer({ jetstream: true, monitor: this.o.monitor });
    this.metricsPort = await freePort();
    for (let i = 0; i < this.o.workers; i++) this.startWorker();
    this.startCoordinator();
  }

  get coordinator(): CliProcess {
    return this.coordinators.at(-1)!;
  }

  startWorker(): CliProcess {
    const id = `w${this.workerCount++}`;
    const backend = this.o.backend ? ['--backend', this.o.backend] : [];
    const w = startTracoco(this.o.cli, workerArgs(this.nats.url, id, backend));
    this.workers.push(w);
    return w;
  }

  /** Workers that have not been killed. */
  liveWorkers(): CliProcess[] {
    return this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  /** A fresh coordinator with the same arguments: what a supervisor's restart does. */
  startCoordinator(): CliProcess {
    const args = [
      'coordinator', '--config', this.o.config, '--nats', this.nats.url, '--data', this.o.dataRoot, '--out', this.o.out,
      '--workers', String(this.o.workers), '--max-iterations', String(this.o.maxIterations),
      '--heartbeat-timeout-ms', String(this.o.heartbeatTimeoutMs), '--step-timeout-s', '120', '--json', '--shutdown-workers',
      '--metrics-port', String(this.metricsPort), '--metrics-linger-s', '3',
      ...this.o.sets.flatMap((s) => ['--set', s]),
    ];
    const c = startTracoco(this.o.cli, args);
    this.coordinators.push(c);
    return c;
  }

  /** The highest iteration any coordinator has logged as completed. */
  iteration(): number {
    let best = 0;
    for (const c of this.coordinators) for (const i of stepIterations(c)) best = Math.max(best, i);
    return best;
  }

  /** Every `train.step` of every coordinator: replays after a rollback appear more than once. */
  stepsExecuted(): number {
    return this.coordinators.reduce((n, c) => n + stepIterations(c).length, 0);
  }

  async waitForIteration(k: number, timeoutMs: number): Promise<void> {
    await waitUntil(() => this.iteration() >= k || this.coordinator.child.exitCode !== null, timeoutMs, `iteration ${k}`);
  }

  async killCoordinator(): Promise<void> {
    const c = this.coordinator;
    c.kill('SIGKILL');
    await c.exited(10_000);
    this.startCoordinator();
  }

  /** SIGKILLs a live worker and starts a replacement (a supervisor's restart). */
  async killWorker(target: number): Promise<string> {
    const live = this.liveWorkers();
    const w = live[target % live.length]!;
    w.kill('SIGKILL');
    await w.exited(10_000);
    this.startWorker();
    return processId(w);
  }

  /** SIGSTOPs a live worker for `ms`, then SIGCONTs it. */
  async pauseWorker(target: number, ms: number): Promise<string> {
    const live = this.liveWorkers();
    const w = live[target % live.length]!;
    w.kill('SIGSTOP');
    this.stopped.add(w);
    await sleep(ms);
    w.kill('SIGCONT');
    this.stopped.delete(w);
    return processId(w);
  }

  /** Waits for the current coordinator to exit; its final `/metrics` scrape is taken during the linger. */
  async finish(timeoutMs: number): Promise<{ code: number | null; metrics: string | null }> {
    const c = this.coordinator;
    let metrics: string | null = null;
    await waitUntil(() => c.child.exitCode !== null || c.events().some((e) => e.event === 'metrics.linger'), timeoutMs, 'the run to finish');
    if (c.child.exitCode === null) metrics = await scrape(`http://127.0.0.1:${this.metricsPort}/metrics`);
    const code = await c.exited(30_000);
    return { code, metrics };
  }

  /** CPU seconds (user + system) of a running process so far, from /proc; null where unavailable. */
  static cpuSeconds(pid: number | null | undefined): number | null {
    if (!pid) return null;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // utime and stime are fields 14 and 15 of proc_pid_stat(5) (fields[0] here is field 3), in
      // clock ticks of USER_HZ, 100 on Linux.
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  }

  /** Writes every process's output to `dir/<prefix>-<process>.log`. */
  writeLogs(dir: string, prefix: string): void {
    mkdirSync(dir, { recursive: true });
    this.coordinators.forEach((c, i) => writeFileSync(join(dir, `${prefix}-coordinator${i}.log`), c.output()));
    for (const w of this.workers) writeFileSync(join(dir, `${prefix}-${processId(w)}.log`), w.output());
  }

  async stop(): Promise<void> {
    for (const w of this.stopped) w.kill('SIGCONT');
    for (const p of [...this.coordinators, ...this.workers]) if (p.child.exitCode === null) p.kill('SIGKILL');
    await this.nats?.stop();
  }
}

async function scrape(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

/** A sample's value in Prometheus text format (`name{...} value` or `name value`); null when absent. */
export function metricValue(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}
