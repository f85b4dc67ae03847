/**
 * `tracoco` child processes of the built CLI (so they can be SIGKILLed or SIGSTOPped), their logs
 * captured and parsed, every wait bounded: the processes of `tracoco chaos`, `bench load` and the
 * cluster tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CliProcess {
  child: ChildProcess;
  /** The arguments it was started with (to start its successor the same way). */
  args: string[];
  /** stderr + stdout so far. */
  output(): string;
  /** Lines of structured log events so far, parsed. */
  events(): Record<string, unknown>[];
  /** Resolves with the exit code, rejecting after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Starts `node <cliPath> ...args`. */
export function startTracoco(cliPath: string, args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [cliPath, ...args], {
    // Several processes share the cores: one compute thread each keeps them from starving each other.
    env: { ...process.env, TRACOCO_LOG_LEVEL: 'info', TRACOCO_THREADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = once(child, 'exit').then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return {
    child,
    args,
    output: () => out,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited: (timeoutMs) =>
      Promise.race([
        exit,
        // unref: the timer must not keep the test process alive once the child exited.
        sleep(timeoutMs, undefined, { ref: false }).then(() => {
          throw new Error(`process ${args[0]} did not exit within ${timeoutMs} ms; output tail:\n${out.slice(-3000)}`);
        }),
      ]),
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

/** Polls `predicate` every 100 ms until true, failing after `timeoutMs` with `what`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Arguments of a `tracoco worker` on `url` (heartbeats every 200 ms: loopback clusters notice faults fast). */
export function workerArgs(url: string, id: string, extra: string[] = []): string[] {
  return ['worker', '--nats', url, '--id', id, '--heartbeat-ms', '200', ...extra];
}

/** The `--id` a process was started with. */
export function processId(p: CliProcess): string {
  return p.args[p.args.indexOf('--id') + 1]!;
}

/** The iterations of the `train.step` lines a coordinator logged (replays appear again). */
export function stepIterations(p: CliProcess): number[] {
  return p.events().filter((e) => e.event === 'train.step').map((e) => e.iteration as number);
}
