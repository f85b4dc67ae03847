/** Assertions shared by tests: errors that name the file at fault, backends to run goldens on. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendName } from '../../src/shared/backend/index.js';
import { TracocoError, errorMessage } from '../../src/shared/errors.js';

function checkNaming(err: unknown, file: string, reason: RegExp): true {
  assert.ok(err instanceof TracocoError, `expected a TracocoError, got ${String(err)}`);
  assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
  assert.match(err.message, reason);
  return true;
}

/** `fn` throws a TracocoError whose message names `file` and matches `reason`. */
export function throwsNaming(fn: () => unknown, file: string, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => checkNaming(err, file, reason));
}

/** `promise` rejects with a TracocoError whose message names `file` and matches `reason`. */
export async function rejectsNaming(promise: Promise<unknown>, file: string, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => checkNaming(err, file, reason));
}

/** Activates `name`; a skip reason when it cannot load here (for per-backend golden tests). */
export async function activateBackend(name: BackendName): Promise<string | false> {
  try {
    const info = await initBackend(name);
    return info.name === name ? false : `backend ${name} resolved to ${info.name}`;
  } catch (err) {
    return `backend ${name} unavailable: ${errorMessage(err)}`;
  }
}

/** Every file under `root` by relative path (to compare two written trees byte for byte). */
export function readTree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    out.set(full.slice(root.length + 1), readFileSync(full));
  }
  return out;
}
