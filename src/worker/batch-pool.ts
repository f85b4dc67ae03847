/**
 * A `BatchBuilder` running in a piscina pool (GUIDE §2: the worker's data pipeline), so cropping
 * and augmenting never blocks the thread that talks to NATS. Cases are cached in
 * SharedArrayBuffers (`shareCase`) so handing them to a pool thread copies nothing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { CachedCase } from '../shared/training/assemble.js';
import type { ReplicaBatch } from '../shared/training/replica-batch.js';
import type { BatchBuilder } from './batch-builder.js';
import type { BatchTask } from './batch-task.js';

export interface BatchPool {
  build: BatchBuilder;
  close(): Promise<void>;
}

/** A pool of `threads` batch builders, or null when the compiled task file is not available (tsx). */
export function createBatchPool(threads = 1): BatchPool | null {
  const filename = fileURLToPath(new URL('./batch-task.js', import.meta.url));
  if (!existsSync(filename)) return null;
  const pool = new Piscina({ filename, minThreads: threads, maxThreads: threads });
  return {
    build: async (shards, lookup, options) => {
      const cases: Record<string, CachedCase> = {};
      for (const s of shards) {
        for (const id of [...s.labeledIds, ...s.unlabeledIds]) {
          const c = lookup(id);
          if (c) cases[id] = c;
        }
      }
      return (await pool.run({ shards, cases, options } satisfies BatchTask)) as ReplicaBatch;
    },
    close: () => pool.destroy(),
  };
}

/** The case with its volumes copied into SharedArrayBuffers (once, when it is cached). */
export function shareCase(c: CachedCase): CachedCase {
  const image = new Float32Array(new SharedArrayBuffer(c.image.byteLength));
  image.set(c.image);
  let label: Uint8Array | null = null;
  if (c.label) {
    label = new Uint8Array(new SharedArrayBuffer(c.label.byteLength));
    label.set(c.label);
  }
  return { ...c, image, label };
}
