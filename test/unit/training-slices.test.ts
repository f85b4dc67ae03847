/**
 * The training step on a 2D network (GUIDE §5b): slices travel as depth-1 patches, the step's
 * forward reshapes them around the 2D UNet, and a depth > 1 patch is a TracocoError naming
 * data.patch.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { validateConfig, type TracocoConfig } from '../../src/shared/config/index.js';
import { generateCardiacCase } from '../../src/shared/data/phantom-cardiac.js';
import { planBatch } from '../../src/shared/data/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { Random } from '../../src/shared/random.js';
import { assembleReplicaBatch, type CachedCase } from '../../src/shared/training/assemble.js';
import { forward3d } from '../../src/shared/training/forward.js';
import { augmentOptionsFrom, sliceSizeFrom, stepSettingsFrom } from '../../src/shared/training/settings.js';
import { computeGradients, computePeerViews } from '../../src/shared/training/step.js';
import { Replica } from '../../src/worker/replica.js';
import { StepPlanner } from '../../src/coordinator/planner.js';
import type { Shape3 } from '../../src/shared/volume.js';

const VOLUME: Shape3 = [24, 20, 16];

function unet2dConfig(patch: Shape3 = [32, 32, 1]): TracocoConfig {
  return validateConfig(
    { name: 'slices', seed: 4, data: { patch, slice_size: [32, 32], classes: 4, labeled: 2 }, model: { architecture: 'unet2d', filters: 2 }, train: { batch_size: 4, pairing: 'cross', kl: 'class' } },
    'test',
  );
}

before(async () => {
  await initBackend(process.env.TRACOCO_TEST_BACKEND);
});

test('forward3d runs a 2D network on [N, X, Y, 1, C] and refuses depth > 1 naming data.patch', () => {
  const replica = Replica.fresh(unet2dConfig(), 1);
  const before = tf.memory().numTensors;
  const x = tf.randomUniform([2, 16, 16, 1, 1]) as tf.Tensor5D;
  const out = forward3d(replica.model, x, { training: false });
  assert.deepEqual(out.shape, [2, 16, 16, 1, 4]);
  const [flat, direct] = tf.tidy(() => [out.reshape([2, 16, 16, 4]), replica.model.forward(tf.reshape(x, [2, 16, 16, 1]), { training: false })]);
  assert.deepEqual(flat!.arraySync(), direct!.arraySync());
  tf.dispose([out, flat!, direct!]);
  const deep = tf.zeros([2, 16, 16, 4, 1]) as tf.Tensor5D;
  assert.throws(
    () => forward3d(replica.model, deep, { training: false }),
    (e: unknown) => e instanceof TracocoError && e.context.field === 'data.patch' && /unet2d trains on axial slices/.test(e.message),
  );
  tf.dispose([x, deep]);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  replica.model.dispose();
});

test('a unet2d config needs [x, y, 1] patches; the refusal of unet2d training is gone', () => {
  assert.deepEqual(sliceSizeFrom(unet2dConfig()), [32, 32]);
  assert.equal(stepSettingsFrom(unet2dConfig()).classes, 4);
  assert.throws(() => stepSettingsFrom(unet2dConfig([32, 32, 8])), (e: unknown) => e instanceof TracocoError && e.context.field === 'data.patch' && /\[x, y, 1\]/.test(e.message));
  assert.equal(sliceSizeFrom(validateConfig({}, 'test')), null, 'a 3D network trains on crops');
});

test('one co-training step of two unet2d models on slice batches gives finite losses and every gradient', async () => {
  const config = unet2dConfig();
  const data = new Map<string, CachedCase>(
    Array.from({ length: 4 }, (_, i) => {
      const c = generateCardiacCase({ seed: 2, index: i, shape: VOLUME });
      return [`c${i}`, { image: c.image, label: c.label, shape: [...c.shape] as [number, number, number] }];
    }),
  );
  const ids = [...data.keys()];
  const rng = new Random(1);
  const z = ids.map(() => rng.int(0, VOLUME[2]));
  const plan = planBatch(config.seed, 0, ids.map(() => VOLUME), config.data.patch, augmentOptionsFrom(config), true, { z, size: config.data.slice_size });
  const rb = assembleReplicaBatch([{ shard: 0, labeledIds: ids.slice(0, 2), unlabeledIds: ids.slice(2), plan }], (id) => data.get(id));
  assert.deepEqual(rb.batch.shape, [4, 32, 32, 1, 1]);
  const replicas = [Replica.fresh(config, 1), Replica.fresh(config, 2)];
  const before = tf.memory().numTensors;
  const views = replicas.map((r) => computePeerViews(r.model, rb, r.settings, { seed: 4, iteration: 0, role: r.role }));
  for (const [i, r] of replicas.entries()) {
    const g = await computeGradients(r.model, rb, views[1 - i]!, r.settings, { seed: 4, iteration: 0, role: r.role, consistencyWeight: 1, replicas: 1 });
    for (const [name, value] of Object.entries(g.terms)) assert.ok(Number.isFinite(value), `${name} = ${value}`);
    assert.ok(g.terms.supervised > 0 && g.terms.crc >= 0);
    assert.equal(g.grads.size, r.model.params.size);
    for (const t of g.grads.values()) t.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'the step disposes its tensors');
  for (const r of replicas) r.model.dispose();
});

test('StepPlanner plans slices for a unet2d: labelled slots from labelled cases, unlabelled from the shard, replayable', () => {
  const config = unet2dConfig();
  const shapes = new Map<string, Shape3>([
    ['l0', [20, 20, 3]],
    ['l1', [20, 20, 5]],
    ['u0', [20, 20, 2]],
    ['u1', [20, 20, 4]],
    ['u2', [20, 20, 6]],
    ['u3', [20, 20, 1]],
  ]);
  const planner = new StepPlanner(config, { labeled: ['l0', 'l1'], unlabeled: ['u0', 'u1', 'u2', 'u3'], shapes }, 2, 4);
  assert.equal(planner.iterationsPerEpoch, 4, '8 labelled slices, 2 per step');
  for (let t = 0; t < 12; t++) {
    for (const shard of [0, 1]) {
      const p = planner.shardPlan(shard, t);
      assert.equal(p.labeledIds.length, 2);
      assert.ok(p.labeledIds.every((id) => id.startsWith('l')));
      assert.ok(p.unlabeledIds.every((id) => planner.shardCases(shard).includes(id)), `shard ${shard}: ${p.unlabeledIds}`);
      [...p.labeledIds, ...p.unlabeledIds].forEach((id, slot) => {
        const s = p.plan.samples[slot]!;
        assert.ok(s.slice && s.slice.z < shapes.get(id)![2], `${id} slice ${s.slice?.z}`);
        assert.deepEqual([s.frame, s.startF[2], s.startS[2]], [[32, 32, 1], 0, 0]);
      });
      assert.deepEqual(planner.shardPlan(shard, t), p, 'a step replays exactly');
    }
  }
});
