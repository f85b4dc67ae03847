import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch } from '../../src/shared/data/index.js';
import { generatePhantomCase } from '../../src/shared/data/phantom.js';
import { assembleReplicaBatch, type CachedCase } from '../../src/shared/training/assemble.js';
import type { ShardPlan } from '../../src/shared/protocol/index.js';
import { createBatchPool, shareCase } from '../../src/worker/batch-pool.js';
import type { Shape3 } from '../../src/shared/volume.js';

test('the piscina batch pool builds exactly the batch the inline builder does, from shared volumes', async (t) => {
  const pool = createBatchPool(1);
  if (!pool) {
    t.skip('compiled batch task not found (running from sources)');
    return;
  }
  try {
    const volume: Shape3 = [28, 24, 20];
    const cases = new Map<string, CachedCase>();
    for (let i = 0; i < 6; i++) {
      const c = generatePhantomCase({ seed: 8, index: i, shape: volume });
      cases.set(`c${i}`, shareCase({ image: c.image, label: c.label, shape: [...c.shape] as [number, number, number] }));
    }
    assert.ok(cases.get('c0')!.image.buffer instanceof SharedArrayBuffer, 'volumes are shared');
    const shards: ShardPlan[] = [0, 1].map((shard) => ({
      shard,
      labeledIds: [`c${shard}`],
      unlabeledIds: [`c${shard + 2}`, `c${shard + 4}`].slice(0, 1),
      plan: planBatch(3 + shard, 7, [volume, volume], [16, 16, 16], {}, true),
    }));
    const pooled = await pool.build(shards, (id) => cases.get(id));
    const inline = assembleReplicaBatch(shards, (id) => cases.get(id));
    assert.deepEqual(pooled.batch.shape, inline.batch.shape);
    for (const key of ['f', 's', 'labelF', 'labelS'] as const) assert.deepEqual(pooled.batch[key], inline.batch[key], key);
    assert.deepEqual(pooled.labeledSlots, inline.labeledSlots);
    assert.deepEqual(pooled.unlabeledSlots, inline.unlabeledSlots);
    assert.deepEqual(pooled.slotKeys, inline.slotKeys);
    assert.deepEqual(pooled.cutmix, inline.cutmix);
    assert.deepEqual(pooled.batch.overlapF, inline.batch.overlapF);
  } finally {
    await pool.close();
  }
});
