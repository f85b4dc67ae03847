/** Stopping a child process politely, then firmly. */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`. */
export async function terminate(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
