/**
 * A real `nats-server -js` started by this process (integration tests, `tracoco chaos`,
 * `bench load`): 127.0.0.1 only, a free port, JetStream state in a temp dir. `restart()` brings it
 * back on the same port and store so JetStream state survives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { terminate } from './terminate.js';

export interface NatsServerOptions {
  jetstream?: boolean;
  /** Bytes; set through a config file (there is no command-line flag for it). */
  maxPayload?: number;
  user?: string;
  password?: string;
  /** Bound on waiting for "Server is ready". */
  startTimeoutMs?: number;
  /** Serve the HTTP monitoring endpoints (`/varz`: message and byte counts) on a free port. */
  monitor?: boolean;
}

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** The monitoring base URL (`http://127.0.0.1:<port>`) when started with `monitor`. */
  monitorUrl: string | null;
  /** The server process's pid (null while it is down). */
  pid(): number | null;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
  /** Stops the server, waits `downMs`, starts it again on the same port and store. */
  restart(options?: { downMs?: number }): Promise<void>;
}

const STOP_TIMEOUT_MS = 5000;
const OUTPUT_TAIL = 4000;

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tracoco-nats-'));
  const storeDir = join(dir, 'jetstream');
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  const monitorPort = options.monitor ? await freePort() : null;
  if (monitorPort !== null) args.push('-m', String(monitorPort));
  if (options.jetstream ?? true) args.push('-js', '-sd', storeDir);
  if (options.user !== undefined) args.push('--user', options.user, '--pass', options.password ?? '');
  if (options.maxPayload !== undefined) {
    const config = join(dir, 'nats.conf');
    writeFileSync(config, `max_payload: ${options.maxPayload}\n`);
    args.push('-c', config);
  }
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let child: ChildProcess | null = await launch(args, timeoutMs);
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const halt = async () => {
    if (child) await terminate(child, STOP_TIMEOUT_MS);
    child = null;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pid: () => child?.pid ?? null,
    monitorUrl: monitorPort === null ? null : `http://127.0.0.1:${monitorPort}`,
    async stop() {
      await halt();
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart({ downMs = 0 } = {}) {
      await halt();
      if (downMs > 0) await sleep(downMs);
      child = await launch(args, timeoutMs);
    },
  };
}

/** Starts nats-server and resolves once it logs "Server is ready"; rejects on exit or timeout. */
async function launch(args: string[], timeoutMs: number): Promise<ChildProcess> {
  const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`nats-server ${args.join(' ')}: ${why}\n${output.slice(-OUTPUT_TAIL)}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (data: Buffer) => {
      output = (output + data.toString()).slice(-OUTPUT_TAIL);
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        child.removeListener('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => fail(`exited with code ${code}`);
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (err) => fail(err.message));
  });
  return child;
}

