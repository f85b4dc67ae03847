/**
 * The co-training step with C > 2 classes (GUIDE §5b, ACDC): multi-class supervised Dice (also
 * over several replicas), the CRC form, and the ACDC options cutmix_both, pseudo_label_lcc and
 * pseudo_dice, each on a tiny 4-class case. Peer pseudo-labels are crafted, so each option's
 * effect does not hinge on what an untrained peer happens to predict.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/shared/backend/index.js';
import { validateConfig, type TracocoConfig } from '../../src/shared/config/index.js';
import { generateCardiacCase, planBatch } from '../../src/shared/data/index.js';
import { multiClassSupervisedLoss } from '../../src/shared/losses/multiclass.js';
import { assembleReplicaBatch, type CachedCase } from '../../src/shared/training/assemble.js';
import { packUnitInterval, type PeerViews } from '../../src/shared/training/exchange.js';
import { selectSlotValues, type ReplicaBatch } from '../../src/shared/training/replica-batch.js';
import { augmentOptionsFrom } from '../../src/shared/training/settings.js';
import { computeGradients, type StepGradients, type StepStatistics } from '../../src/shared/training/step.js';
import { Replica } from '../../src/worker/replica.js';
import type { Shape3 } from '../../src/shared/volume.js';

const C = 4;
const PATCH: Shape3 = [16, 16, 16];
const VOLUME: Shape3 = [24, 24, 20];

function config(train: Record<string, unknown> = {}, model: Record<string, unknown> = {}): TracocoConfig {
  return validateConfig(
    { name: 'mc', seed: 7, data: { patch: PATCH, labeled: 2, classes: C }, model: { filters: 4, dropout: false, ...model }, train: { batch_size: 4, exchange_dtype: 'float32', ...train } },
    'test',
  );
}

const data = new Map<string, CachedCase>(
  Array.from({ length: 4 }, (_, i) => {
    const c = generateCardiacCase({ seed: 4, index: i, shape: VOLUME });
    return [`c${i}`, { image: c.image, label: c.label, shape: [...c.shape] as [number, number, number] }];
  }),
);

/** Shard k holds labelled case k and unlabelled case k + 2; `shards` selects which are assembled. */
function batch(cfg: TracocoConfig, shards: number[] = [0, 1]): ReplicaBatch {
  const plans = [0, 1].map((k) => planBatch(cfg.seed + k, 0, [VOLUME, VOLUME], PATCH, augmentOptionsFrom(cfg), cfg.train.cutmix || cfg.train.cutmix_both));
  return assembleReplicaBatch(
    shards.map((k) => ({ shard: k, labeledIds: [`c${k}`], unlabeledIds: [`c${k + 2}`], plan: plans[k]! })),
    (id) => data.get(id),
  );
}

/**
 * Crafted peer probabilities [B, 16, 16, 16, C]: class 1 in a large box and a small separate one
 * (so the largest-component filter has something to drop), class 2 and 3 in boxes, background
 * elsewhere; the voxel's class has 0.8, the others 0.2/3 (under β: confident negatives).
 */
function craftedViews(slots: number): PeerViews {
  const [X, Y, Z] = PATCH;
  const values = new Float32Array(slots * X * Y * Z * C);
  const classAt = (x: number, y: number, z: number): number => {
    if (x < 6 && y < 8) return 1;
    if (x >= 13 && y >= 13 && z < 3) return 1;
    if (x >= 8 && x < 12 && y < 8) return 2;
    if (y >= 9 && y < 12 && z >= 4) return 3;
    return 0;
  };
  for (let b = 0; b < slots; b++)
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++)
        for (let z = 0; z < Z; z++) {
          const at = ((((b * X + x) * Y + y) * Z + z) * C);
          const k = classAt(x, y, z);
          for (let c = 0; c < C; c++) values[at + c] = c === k ? 0.8 : 0.2 / 3;
        }
  return { pseudo: packUnitInterval(values, [slots, X, Y, Z, C], 'float32'), overlap: null };
}

async function step(cfg: TracocoConfig, role: 1 | 2, rb = batch(cfg)): Promise<StepGradients> {
  const r = Replica.fresh(cfg, role);
  try {
    return await computeGradients(r.model, rb, craftedViews(rb.batch.shape[0]), r.settings, { seed: 7, iteration: 0, role, consistencyWeight: 1, replicas: 1 });
  } finally {
    r.dispose();
  }
}

function dispose(g: StepGradients): void {
  for (const t of g.grads.values()) t.dispose();
}

async function crcTerm(cfg: TracocoConfig, role: 1 | 2 = 1): Promise<number> {
  const g = await step(cfg, role);
  dispose(g);
  assert.ok(Number.isFinite(g.terms.crc), `finite CRC term ${g.terms.crc}`);
  return g.terms.crc;
}

describe('co-training step with 4 classes', () => {
  before(async () => {
    await initBackend(process.env.TRACOCO_TEST_BACKEND);
  });

  test('the supervised term is 0.5 × (CE + multi-class Dice) of the labelled logits', async () => {
    const cfg = config({ semi_supervised: false, input_noise: 0 });
    const rb = batch(cfg);
    const r = Replica.fresh(cfg, 1);
    // The same forward as the step's (no noise, no dropout, BN on batch statistics) on the labelled slots.
    const [, X, Y, Z] = rb.batch.shape;
    const expected = tf.tidy(() => {
      const x = tf.tensor5d(selectSlotValues(rb.batch.f, rb.batch.shape[0], rb.labeledSlots), [rb.labeledSlots.length, X, Y, Z, 1]);
      const labels = tf.tensor4d(Int32Array.from(selectSlotValues(rb.batch.labelF, rb.batch.shape[0], rb.labeledSlots)), [rb.labeledSlots.length, X, Y, Z], 'int32');
      const sup = multiClassSupervisedLoss(r.model.forward(x, { training: true, updateStatistics: false }) as tf.Tensor5D, labels);
      return [sup.ce.dataSync()[0]!, sup.dice.dataSync()[0]!];
    });
    const g = await computeGradients(r.model, rb, null, r.settings, { seed: 7, iteration: 0, role: 1, consistencyWeight: 1, replicas: 1 });
    dispose(g);
    r.dispose();
    assert.ok(Math.abs(g.terms.ce - expected[0]!) < 1e-6, `CE ${g.terms.ce} vs ${expected[0]}`);
    assert.ok(Math.abs(g.terms.dice - expected[1]!) < 1e-6, `Dice ${g.terms.dice} vs ${expected[1]}`);
    assert.equal(g.terms.supervised, 0.5 * (g.terms.ce + g.terms.dice));
  });

  test('crc: reference changes the CRC term only; least-likely is what crc: true computes', async () => {
    const least = await step(config({ crc: 'least-likely' }), 1);
    const former = await step(config({ crc: true }), 1);
    const reference = await step(config({ crc: 'reference' }), 1);
    for (const g of [least, former, reference]) dispose(g);
    assert.deepEqual(former.terms, least.terms);
    assert.notEqual(reference.terms.crc, least.terms.crc);
    assert.equal(reference.terms.supervised, least.terms.supervised);
    assert.equal(reference.terms.kl, least.terms.kl);
  });

  test('cutmix_both mixes model 1 too; model 2 (already mixing) is unchanged', async () => {
    const off = [await crcTerm(config(), 1), await crcTerm(config(), 2)];
    const on = [await crcTerm(config({ cutmix_both: true }), 1), await crcTerm(config({ cutmix_both: true }), 2)];
    assert.notEqual(on[0], off[0], 'model 1 trains on a CutMix');
    assert.equal(on[1], off[1], 'model 2 mixes with the same boxes either way');
    assert.equal(await crcTerm(config({ cutmix_both: false }), 1), off[0], 'off is the default');
  });

  test('pseudo_label_lcc filters the pseudo-labels (the CRC term changes)', async () => {
    const off = await crcTerm(config());
    const on = await crcTerm(config({ pseudo_label_lcc: true }));
    assert.notEqual(on, off);
    assert.equal(await crcTerm(config({ pseudo_label_lcc: false })), off);
  });

  test('pseudo_dice halves CRC + the Dice against the argmax pseudo-label', async () => {
    for (const crc of ['least-likely', 'reference'] as const) {
      const off = await crcTerm(config({ crc }));
      const on = await crcTerm(config({ crc, pseudo_dice: true }));
      const dice = 2 * on - off;
      assert.ok(dice > 0 && dice <= 1, `${crc}: Dice term ${dice} = 2 × ${on} − ${off} lies in (0, 1]`);
    }
  });

  test('steps with every ACDC option leave no tensors behind', async () => {
    const cfg = config({ crc: 'reference', cutmix_both: true, pseudo_label_lcc: true, pseudo_dice: true });
    const rb = batch(cfg);
    const r = Replica.fresh(cfg, 1);
    const run = async () => dispose(await computeGradients(r.model, rb, craftedViews(4), r.settings, { seed: 7, iteration: 0, role: 1, consistencyWeight: 1, replicas: 1 }));
    await run();
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await run();
    assert.equal(tf.memory().numTensors, baseline);
    r.dispose();
  });

  test('two replicas on half batches sum to one replica on the whole batch (multi-class Dice sums all-reduced)', async () => {
    // Instance normalisation: no batch statistics, so the halves see exactly what the whole does.
    const cfg = config({ crc: 'reference', cutmix_both: true, pseudo_label_lcc: true, pseudo_dice: true }, { normalization: 'instancenorm' });
    const whole = await step(cfg, 2);
    const halves = [batch(cfg, [0]), batch(cfg, [1])];
    const locals: StepStatistics[] = [];
    const global = new Promise<StepStatistics>((resolve) => {
      const check = setInterval(() => {
        if (locals.length < 2) return;
        clearInterval(check);
        const [a, b] = locals as [StepStatistics, StepStatistics];
        const add = (x: number[], y: number[]) => x.map((v, i) => v + y[i]!);
        resolve({
          diceIntersection: a.diceIntersection + b.diceIntersection,
          dicePrediction: a.dicePrediction + b.dicePrediction,
          diceTarget: a.diceTarget + b.diceTarget,
          diceClasses: add(a.diceClasses, b.diceClasses),
          pseudoDice: add(a.pseudoDice, b.pseudoDice),
          crcPositive: a.crcPositive + b.crcPositive,
          crcNegative: a.crcNegative + b.crcNegative,
          views: a.views + b.views,
        });
      }, 5);
    });
    const reduce = async (local: StepStatistics) => {
      assert.equal(local.diceClasses.length, 3 * C);
      assert.equal(local.pseudoDice.length, 3 * C);
      locals.push(local);
      return global;
    };
    const parts = await Promise.all(
      halves.map(async (rb) => {
        const r = Replica.fresh(cfg, 2);
        const g = await computeGradients(r.model, rb, craftedViews(rb.batch.shape[0]), r.settings, { seed: 7, iteration: 0, role: 2, consistencyWeight: 1, replicas: 2, reduce });
        r.dispose();
        return g;
      }),
    );
    for (const name of ['ce', 'dice', 'supervised', 'crc', 'kl', 'entropy'] as const) {
      const sum = parts[0]!.terms[name] + parts[1]!.terms[name];
      assert.ok(Math.abs(sum - whole.terms[name]) < 1e-4 * Math.max(1, Math.abs(whole.terms[name])), `${name}: halves ${sum} vs whole ${whole.terms[name]}`);
    }
    let worst = 0;
    let scale = 0;
    for (const [key, g] of whole.grads) {
      const w = g.dataSync();
      const [a, b] = parts.map((p) => p.grads.get(key)!.dataSync());
      for (let i = 0; i < w.length; i++) {
        worst = Math.max(worst, Math.abs(a![i]! + b![i]! - w[i]!));
        scale = Math.max(scale, Math.abs(w[i]!));
      }
    }
    for (const g of [whole, ...parts]) dispose(g);
    assert.ok(worst <= 1e-4 * scale, `max |Σ halves − whole| = ${worst} (largest gradient ${scale})`);
  });
});
