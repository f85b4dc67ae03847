/**
 * A real `nats-server -js` for integration tests: 127.0.0.1 only, a free port, JetStream state in
 * a temp dir. `restart()` brings it back on the same port and store so JetStream state survives.
 * Tests skip with `skipUnlessBinary('nats-server')` (test/support/env.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, tempDir } from './env.js';
import { terminate } from './process.js';

export interface NatsServerOptions {
  jetstream?: boolean;
  /** Bytes; set through a config file (there is no command-line flag for it). */
  maxPayload?: number;
  user?: string;
  password?: string;
  /** Bound on waiting for "Server is ready". */
  startTimeoutMs?: number;
}

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server and removes its store. */
  stop(): Promise<void>;
  /** Stops the server, waits `downMs`, starts it again on the same port and store. */
  restart(options?: { downMs?: number }): Promise<void>;
}

const STOP_TIMEOUT_MS = 5000;
const OUTPUT_TAIL = 4000;

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = tempDir('tracoco-nats-');
  const storeDir = join(dir.path, 'jetstream');
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.jetstream ?? true) args.push('-js', '-sd', storeDir);
  if (options.user !== undefined) args.push('--user', options.user, '--pass', options.password ?? '');
  if (options.maxPayload !== undefined) {
    const config = join(dir.path, 'nats.conf');
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
    async stop() {
      await halt();
      process.removeListener('exit', killOnExit);
      dir.cleanup();
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

