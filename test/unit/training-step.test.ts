import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { validateConfig, type TracocoConfig } from '../../src/shared/config/index.js';
import { planBatch } from '../../src/shared/data/index.js';
import { generatePhantomCase } from '../../src/shared/data/phantom.js';
import { assembleReplicaBatch, type CachedCase } from '../../src/shared/training/assemble.js';
import { augmentOptionsFrom } from '../../src/shared/training/settings.js';
import { computeGradients, computePeerViews, type LossTerms } from '../../src/shared/training/step.js';
import { groundTruthPseudoLabels } from '../../src/shared/training/pseudo-labels.js';
import { TracocoError } from '../../src/shared/errors.js';
import type { PeerViews } from '../../src/shared/training/exchange.js';
import type { ReplicaBatch } from '../../src/shared/training/replica-batch.js';
import { Replica } from '../../src/worker/replica.js';
import type { Shape3 } from '../../src/shared/volume.js';

const PATCH: Shape3 = [16, 16, 16];
const VOLUME: Shape3 = [24, 24, 20];

function smallConfig(train: Record<string, unknown> = {}): TracocoConfig {
  return validateConfig({ name: 'test', seed: 5, data: { patch: PATCH, labeled: 2 }, model: { filters: 4 }, train: { batch_size: 4, ...train } }, 'test');
}

function cases(): Map<string, CachedCase> {
  return new Map(
    Array.from({ length: 4 }, (_, i) => {
      const c = generatePhantomCase({ seed: 3, index: i, shape: VOLUME });
      return [`c${i}`, { image: c.image, label: c.label, shape: [...c.shape] as [number, number, number] }];
    }),
  );
}

function batchFor(config: TracocoConfig, iteration: number, data: Map<string, CachedCase>, unlabeledLabels = false): ReplicaBatch {
  const ids = [...data.keys()];
  const plan = planBatch(config.seed, iteration, ids.map(() => VOLUME), PATCH, augmentOptionsFrom(config), config.train.cutmix);
  return assembleReplicaBatch([{ shard: 0, labeledIds: ids.slice(0, 2), unlabeledIds: ids.slice(2), plan }], (id) => data.get(id), { unlabeledLabels });
}

/**
 * Both models' losses (and, with `lr`, one SGD update) for one step of a pair; `fixedViews`
 * reuses earlier peer views instead of computing them.
 */
async function pairStep(replicas: Replica[], rb: ReplicaBatch, iteration: number, lr: number | null, fixedViews?: PeerViews[]): Promise<LossTerms[]> {
  const seed = 5;
  const views = fixedViews ?? peerViewsOf(replicas, rb, iteration);
  const terms: LossTerms[] = [];
  for (const [i, r] of replicas.entries()) {
    const g = await computeGradients(r.model, rb, views[1 - i]!, r.settings, { seed, iteration, role: r.role, consistencyWeight: 1, replicas: 1 });
    if (lr !== null) r.optimizer.step(r.model.params, g.grads, lr);
    for (const t of g.grads.values()) t.dispose();
    terms.push(g.terms);
  }
  return terms;
}

function peerViewsOf(replicas: Replica[], rb: ReplicaBatch, iteration: number): PeerViews[] {
  return replicas.map((r) => computePeerViews(r.model, rb, r.settings, { seed: 5, iteration, role: r.role }));
}

describe('co-training step', () => {
  before(async () => {
    await initBackend(process.env.TRACOCO_TEST_BACKEND);
  });

  for (const variant of [
    { pairing: 'cross', kl: 'class' },
    { pairing: 'intra', kl: 'reference' },
  ] as const) {
    test(`one step with fixed inputs lowers both models' losses (${variant.pairing}, ${variant.kl})`, async () => {
      const config = smallConfig({ ...variant, momentum: 0, weight_decay: 0 });
      // No dropout: the loss before and after the update is then a deterministic function of the weights.
      const noDropout = validateConfig({ ...config, model: { ...config.model, dropout: false } }, 'test');
      const replicas = [Replica.fresh(noDropout, 1), Replica.fresh(noDropout, 2)];
      const rb = batchFor(noDropout, 0, cases());
      // Fixed inputs: the same batch, noise and peer views before and after the update (BatchNorm
      // uses batch statistics in training, so re-evaluating the same batch is a fair comparison).
      const views = peerViewsOf(replicas, rb, 0);
      const before = await pairStep(replicas, rb, 0, 0.05, views);
      const after = await pairStep(replicas, rb, 0, null, views);
      for (const r of [0, 1]) {
        assert.ok(Number.isFinite(before[r]!.total), `model ${r + 1} loss is finite`);
        assert.ok(after[r]!.total < before[r]!.total, `model ${r + 1}: ${after[r]!.total} should be below ${before[r]!.total}`);
        assert.ok(before[r]!.crc > 0, 'the CRC term is active');
        // f and s are different crops: the translation term sees different views, so it is positive.
        assert.ok(before[r]!.kl > 0, `model ${r + 1}: translation KL ${before[r]!.kl} should be positive`);
        assert.ok(before[r]!.supervised > 0);
      }
      for (const r of replicas) r.dispose();
    });
  }

  test('20 steps leave no growing tensor count', async () => {
    const config = smallConfig();
    const data = cases();
    const replicas = [Replica.fresh(config, 1), Replica.fresh(config, 2)];
    await pairStep(replicas, batchFor(config, 0, data), 0, 0.01);
    await pairStep(replicas, batchFor(config, 1, data), 1, 0.01);
    const baseline = tf.memory().numTensors;
    const counts: number[] = [];
    for (let it = 2; it < 22; it++) {
      await pairStep(replicas, batchFor(config, it, data), it, 0.01);
      counts.push(tf.memory().numTensors);
    }
    assert.deepEqual(new Set(counts), new Set([baseline]), `tensor counts over 20 steps: ${counts.join(', ')} (baseline ${baseline})`);
    for (const r of replicas) r.dispose();
  });

  test('the same seed and iteration give the same losses; another iteration differs', async () => {
    const config = smallConfig();
    const data = cases();
    const run = async (iteration: number) => {
      const replicas = [Replica.fresh(config, 1), Replica.fresh(config, 2)];
      const terms = await pairStep(replicas, batchFor(config, iteration, data), iteration, null);
      for (const r of replicas) r.dispose();
      return terms.map((t) => t.total);
    };
    const a = await run(3);
    assert.deepEqual(await run(3), a);
    assert.notDeepEqual(await run(4), a);
  });

  test('unlabelled slots carry no label crop unless ground-truth pseudo-labels ask for one, and then each needs a label', () => {
    const config = smallConfig();
    const data = cases();
    const voxels = PATCH[0] * PATCH[1] * PATCH[2];
    const organIn = (rb: ReplicaBatch, slot: number) => rb.batch.labelF.subarray(slot * voxels, (slot + 1) * voxels).reduce((n, v) => n + v, 0);
    const hidden = batchFor(config, 0, data);
    const shown = batchFor(config, 0, data, true);
    for (const slot of [2, 3]) {
      assert.equal(organIn(hidden, slot), 0, `slot ${slot}: an unlabelled label crop is zeros`);
      assert.ok(organIn(shown, slot) > 0, `slot ${slot}: the ground-truth crop holds the organ`);
    }
    assert.deepEqual(shown.batch.f, hidden.batch.f, 'the images do not change');
    const unlabelledWithout = new Map([...data].map(([id, c], i) => [id, i >= 2 ? { ...c, label: null } : c]));
    assert.doesNotThrow(() => batchFor(config, 0, unlabelledWithout));
    assert.throws(
      () => batchFor(config, 0, unlabelledWithout, true),
      (e: unknown) => e instanceof TracocoError && /field 'train\.pseudo_labels': unlabelled case 'c2' has no label/.test(e.message),
    );
  });

  test('ground-truth pseudo-labels replace the peer views: the same CRC as a peer predicting the labels one-hot, and every voxel confident', async () => {
    // Model 2 CutMixes its input and pseudo-labels, so this also checks the labels are mixed like the images.
    const peerConfig = smallConfig({ exchange_dtype: 'float32' });
    const oracleConfig = smallConfig({ exchange_dtype: 'float32', pseudo_labels: 'ground-truth' });
    const data = cases();
    const rb = batchFor(oracleConfig, 0, data, true);
    const [B, X, Y, Z] = rb.batch.shape;
    const oneHotPeer: PeerViews = { pseudo: { dtype: 'float32', shape: [B, X, Y, Z, 2], data: groundTruthPseudoLabels(rb.batch.labelF, 2) }, overlap: null };
    const model1 = Replica.fresh(peerConfig, 1);
    const realPeer = computePeerViews(model1.model, rb, model1.settings, { seed: 5, iteration: 0, role: 1 });
    const crcOf = async (config: TracocoConfig, peer: PeerViews) => {
      const r = Replica.fresh(config, 2);
      const g = await computeGradients(r.model, rb, peer, r.settings, { seed: 5, iteration: 0, role: 2, consistencyWeight: 1, replicas: 1 });
      for (const t of g.grads.values()) t.dispose();
      r.dispose();
      return { crc: g.terms.crc, positive: g.confidentRatio.positive };
    };
    const oracle = await crcOf(oracleConfig, realPeer);
    const fromOneHotPeer = await crcOf(peerConfig, oneHotPeer);
    const fromModel1 = await crcOf(peerConfig, realPeer);
    assert.equal(oracle.crc, fromOneHotPeer.crc);
    assert.equal(oracle.positive, 1, 'p = 1 passes the threshold everywhere');
    assert.ok(oracle.crc > 0);
    assert.notEqual(oracle.crc, fromModel1.crc, 'the peer views are not what the oracle trains on');
    assert.deepEqual(Array.from(groundTruthPseudoLabels(Uint8Array.from([0, 2, 1]), 3)), [1, 0, 0, 0, 0, 1, 0, 1, 0]);
    model1.dispose();
  });

  test('the supervised baseline trains on the labelled slots alone, without peer views', async () => {
    const config = smallConfig({ semi_supervised: false });
    const data = cases();
    const ids = [...data.keys()];
    const plan = planBatch(config.seed, 0, [VOLUME, VOLUME], PATCH, augmentOptionsFrom(config), false);
    const rb = assembleReplicaBatch([{ shard: 0, labeledIds: ids.slice(0, 2), unlabeledIds: [], plan }], (id) => data.get(id));
    const r = Replica.fresh(config, 1);
    const g = await computeGradients(r.model, rb, null, r.settings, { seed: 5, iteration: 0, role: 1, consistencyWeight: 1, replicas: 1 });
    assert.equal(g.terms.crc, 0);
    assert.equal(g.terms.kl, 0);
    assert.ok(g.terms.supervised > 0);
    assert.equal(g.grads.size, r.model.params.size);
    for (const t of g.grads.values()) t.dispose();
    r.dispose();
  });
});
