/**
 * PyTorch peers of the benchmarks (`bench/peers/*.py`, run with the Debian /usr/bin/python3 and
 * its python3-torch): the same work measured in the same run, so a speed claim is a ratio of two
 * figures taken side by side (GUIDE §9). Each peer prints one JSON line with `median_ms`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';

export interface PeerResult {
  median_ms: number;
  ms: number[];
  torch: string;
  threads: number;
}

/** Why the PyTorch peer cannot run here, or null when it can. */
export function pytorchUnavailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (install python3-torch)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? null : `PyTorch not importable by ${PYTHON} (install the Debian package python3-torch)`;
}

/** Path of a peer script; works from the sources and from dist/ (which has no .py files). */
export function peerScript(name: string): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const dir of [`${here}../peers`, `${here}../../../bench/peers`]) {
    const path = `${dir}/${name}`;
    if (existsSync(path)) return path;
  }
  throw new Error(`bench peer ${name} not found next to ${here}`);
}

/** Runs one peer measurement; throws with the peer's stderr when it fails. */
export function runPytorchPeer(script: string, args: string[], timeoutMs = 600_000): PeerResult {
  const r = spawnSync(PYTHON, ['-W', 'ignore', peerScript(script), ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${script} failed (status ${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as PeerResult;
}
