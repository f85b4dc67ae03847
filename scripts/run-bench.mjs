#!/usr/bin/env node
// Runs every benchmark of bench/ and prints one JSON object per line (name, figures).
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { applyProcessDefaults } from '../bin/process-env.mjs';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'bench');
if (!existsSync(dir)) {
  console.error('dist/bench not found: run `npm run build` first');
  process.exit(1);
}
const only = process.argv.slice(2);
let failed = 0;
for (const f of readdirSync(dir).filter((n) => n.endsWith(".js") && n !== "registry.js").sort()) {
  if (only.length && !only.some((o) => f.includes(o))) continue;
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, env: applyProcessDefaults({ ...process.env }) });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
