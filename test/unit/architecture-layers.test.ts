/**
 * The layer rules of .dependency-cruiser.cjs hold for src/, and they do catch a breach: a probe
 * tree in a temporary directory with one forbidden import per rule must fail on each of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');
const config = join(root, '.dependency-cruiser.cjs');
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function cruise(cwd: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'err'], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('src/ keeps the layer rules (dependency-cruiser)', () => {
  const { status, output } = cruise(root);
  assert.equal(status, 0, output);
});

test('each layer rule catches a forbidden import', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tracoco-layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  const files: Record<string, string> = {
    'src/shared/lib.ts': "import { connect } from 'nats';\nimport { createServer } from 'node:http';\nimport { x } from '../cli/main.js';\nexport const y = [connect, createServer, x];\n",
    'src/shared/protocol/messages.ts': "import type { T } from '../training/step.js';\nexport type M = T;\n",
    'src/shared/training/step.ts': 'export type T = number;\n',
    'src/cli/main.ts': 'export const x = 1;\n',
    'src/coordinator/coordinator.ts': "import { w } from '../worker/worker.js';\nimport { n } from '../transport/nats.js';\nexport const c = [w, n];\n",
    'src/worker/worker.ts': "import { c } from '../coordinator/coordinator.js';\nexport const w = c;\n",
    'src/transport/nats.ts': "import type { Command } from 'commander';\nexport const n = 1;\nexport type C = Command;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const { status, output } = cruise(dir);
  assert.notEqual(status, 0, output);
  for (const rule of [
    'shared-is-a-library',
    'shared-knows-no-services',
    'coordinator-not-worker',
    'worker-not-coordinator',
    'roles-not-transport-implementations',
    'only-wiring-imports-wiring',
    'transport-has-no-cli',
    'protocol-owns-its-types',
    'no-circular',
  ]) {
    assert.match(output, new RegExp(`error ${rule}:`), `rule ${rule} did not fire:\n${output}`);
  }
});
