#!/usr/bin/env node
// Runs the compiled node:test files. `node scripts/run-tests.mjs [group...]` where a group is a
// folder under test/ (unit, golden, integration) or a file-name substring; default: all.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { applyProcessDefaults } from '../bin/process-env.mjs';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');
if (!existsSync(testRoot)) {
  console.error('dist/test not found: run `npm run build` first');
  process.exit(1);
}
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
const filters = process.argv.slice(2);
const files = walk(testRoot)
  .filter((f) => filters.length === 0 || filters.some((g) => relative(testRoot, f).includes(g)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const reporter = process.env.TRACOCO_TEST_REPORTER ?? 'spec';
const r = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-concurrency=1', `--test-reporter=${reporter}`, ...files],
  { stdio: 'inherit', cwd: root, env: applyProcessDefaults({ ...process.env }) },
);
process.exit(r.status ?? 1);
