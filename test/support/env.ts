/** Where tests find shared data and external binaries, and how they skip when those are absent. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/..., sources from test/...). */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above test files');
    dir = up;
  }
  return dir;
})();

export const sharedDir = resolve(process.env.TRACOCO_SHARED_DIR ?? join(repoRoot, '..', 'shared'));
export const goldenDir = resolve(process.env.TRACOCO_GOLDEN_DIR ?? join(sharedDir, 'golden'));
export const laSampleDir = join(sharedDir, 'data', 'la-sample');

/** `skip` option for node:test: a reason string when the path is absent, else false. */
export function skipUnlessExists(path: string, what: string): string | false {
  return existsSync(path) ? false : `${what} not found at ${path}`;
}

/**
 * External services (nats-server, prometheus) are installed by .ci/run: in CI a missing binary is
 * a failure, locally the test is skipped with the reason.
 */
export function findBinary(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function skipUnlessBinary(name: string): string | false {
  if (findBinary(name)) return false;
  if (process.env.CI) throw new Error(`${name} is required in CI (.ci/run installs it) but was not found on PATH`);
  return `${name} not installed`;
}

/** A fresh temporary directory removed when `cleanup` is called. */
export function tempDir(prefix = 'tracoco-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Path of the built CLI entry point. */
export const cliPath = join(repoRoot, 'bin', 'tracoco.js');

export { freePort } from '../../src/cli/cluster/free-port.js';
