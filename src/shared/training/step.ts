/**
 * One co-training step of ONE model, written as the worker side of the cluster design (GUIDE §5,
 * §6). A step has two halves around the exchange with the peer model:
 *
 *   computePeerViews  — no gradient: what this model gives its peer (pseudo-label probabilities
 *                       of f, and in cross pairing its translation targets on the s-overlap boxes);
 *   computeGradients  — this model's losses and gradients, given the peer's views.
 *
 * With R replicas of the same model (data-parallel pairs), every loss term is normalised by
 * GLOBAL counts and sums (Dice sums, CRC mask sizes, number of views), exchanged as a few
 * scalars before the gradient pass, so summing the replicas' gradients gives exactly the gradient
 * of one model on the whole batch (up to BatchNorm batch statistics, which stay per replica as in
 * PyTorch DDP without SyncBatchNorm).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SegmentationNetwork } from '../model/index.js';
import { forward3d } from './forward.js';
import {
  crcLoss,
  pseudoLabelCrossEntropy,
  translationLoss,
  translationTarget,
  type CrcForm,
  type TranslationMode,
} from '../losses/index.js';
import { multiClassSupervisedLoss, pseudoLabelDiceLoss } from '../losses/multiclass.js';
import { crossEntropy, DICE_SMOOTH, foregroundProbability } from '../losses/supervised.js';
import { classDiceSums, classDiceSurrogate, classDiceValue } from './dice-statistics.js';
import { groundTruthPseudoLabels, mixesInput, pseudoLabelsFor } from './pseudo-labels.js';
import { emptyStatistics, type StatisticsReducer, type StepStatistics } from './statistics.js';
import { boxShape, boxVoxels, type Box3 } from '../data/index.js';
import { packUnitInterval, unpackUnitInterval, type ExchangeDtype, type PeerViews } from './exchange.js';
import {
  cutMixSlots,
  dropoutStreams,
  selectSlots,
  selectSlotValues,
  withInputNoise,
  type InputNoise,
  type ReplicaBatch,
  type StepContext,
} from './replica-batch.js';
import { disposingScope } from './scope.js';
import { LOSS_TERMS, recordOf, type LossTerms, type PseudoLabelSource } from '../names.js';

export interface StepSettings {
  classes: number;
  /** false: supervised-only baseline (labelled slots only, no peer). */
  semiSupervised: boolean;
  pairing: 'cross' | 'intra';
  kl: TranslationMode;
  /** CutMix model 2's unlabelled input and pseudo-labels. */
  cutmix: boolean;
  /** CutMix both models' (the ACDC code). */
  cutmixBoth: boolean;
  /** Keep only each class's largest connected component of the peer's pseudo-labels (ACDC). */
  pseudoLabelLcc: boolean;
  /** Unsupervised term (CRC + multi-class Dice vs the argmax pseudo-label) / 2 (ACDC). */
  pseudoDice: boolean;
  /** false: plain CE on argmax pseudo-labels (ablation). */
  crc: boolean;
  /** CRC's negative term (losses/crc.ts). */
  crcForm: CrcForm;
  translationLoss: boolean;
  /** 'ground-truth': the unlabelled slots' own labels replace the peer's probabilities (a diagnostic upper bound). */
  pseudoLabels: PseudoLabelSource;
  threshold: number;
  negThreshold: number;
  spatialWeight: number;
  entropyWeight: number;
  inputNoise: number;
  /** Clamp the noisy input to [0, 1]. */
  inputNoiseClamp: boolean;
  exchangeDtype: ExchangeDtype;
}

export type { LossTerms } from '../names.js';

export interface StepGradients {
  /** Gradients by parameter key (caller disposes). */
  grads: Map<string, tf.Tensor>;
  terms: LossTerms;
  /** Fraction of this replica's unlabelled voxels in the CRC masks. */
  confidentRatio: { positive: number; negative: number };
}

export type { StatisticsReducer, StepStatistics } from './statistics.js';

export interface GradientContext extends StepContext {
  consistencyWeight: number;
  /** Replicas of this model training on other shards this step. */
  replicas: number;
  reduce?: StatisticsReducer;
}

const batchShape = (rb: ReplicaBatch) => rb.batch.shape;

/** Phase 1: what this model sends its peer. No gradient; BN statistics update as in training. */
export function computePeerViews(model: SegmentationNetwork, rb: ReplicaBatch, settings: StepSettings, ctx: StepContext): PeerViews {
  const [B, X, Y, Z] = batchShape(rb);
  return disposingScope((): PeerViews => {
    const f = tf.tensor5d(rb.batch.f, batchShape(rb));
    const logits = forward3d(model, f, { training: true, dropout: dropoutStreams(ctx, 'pseudo', rb.slotKeys) });
    const prob = tf.softmax(logits);
    const pseudo = packUnitInterval(copyOf(prob), [B, X, Y, Z, settings.classes], settings.exchangeDtype);
    if (settings.pairing !== 'cross' || !settings.translationLoss) return { pseudo, overlap: null };
    const s = tf.tensor5d(withInputNoise(rb.batch.s, noiseOf(settings), ctx, 'views', rb.slotKeys), batchShape(rb));
    const outS = forward3d(model, s, { training: true, dropout: dropoutStreams(ctx, 'views', rb.slotKeys) });
    const overlap = rb.batch.overlapS.map((box, i) => {
      const target = translationTarget(sliceBox(outS, i, box), settings.kl);
      return packUnitInterval(copyOf(target), [...target.shape], settings.exchangeDtype);
    });
    return { pseudo, overlap };
  });
}

/** Phase 2: this model's loss terms and gradients. `peer` is null for the supervised baseline. */
export async function computeGradients(
  model: SegmentationNetwork,
  rb: ReplicaBatch,
  peer: PeerViews | null,
  settings: StepSettings,
  ctx: GradientContext,
): Promise<StepGradients> {
  const role = ctx.role;
  const semi = settings.semiSupervised;
  if (semi && !peer) throw new Error('computeGradients: semi-supervised training needs the peer views');
  const [B, X, Y, Z] = batchShape(rb);
  const C = settings.classes;
  const w = semi ? ctx.consistencyWeight : 0;

  const targets = !semi ? null : settings.pseudoLabels === 'ground-truth' ? groundTruthPseudoLabels(rb.batch.labelF, C) : unpackUnitInterval(peer!.pseudo);
  const pseudo = targets ? pseudoLabelsFor(targets, [B, X, Y, Z, C], rb, settings, role) : null;
  const local = localStatistics(rb, pseudo, settings);
  const inputF = forwardFInput(rb, settings, ctx);
  const inputU = semi ? unlabeledInput(rb, settings, ctx) : null;
  if (ctx.replicas > 1) {
    Object.assign(local, diceStatistics(model, rb, inputF, settings, ctx));
    if (settings.pseudoDice && pseudo) local.pseudoDice = pseudoDiceStatistics(model, rb, inputU!, pseudo, settings, ctx);
  }
  const global = ctx.replicas > 1 && ctx.reduce ? await ctx.reduce(local) : local;

  const vars = [...model.params.entries()];
  const keyOf = new Map(vars.map(([key, v]) => [v.name, key]));
  const terms: LossTerms = recordOf(LOSS_TERMS, () => 0);
  const confidentRatio = { positive: 0, negative: 0 };
  const grads = new Map<string, tf.Tensor>();
  const accumulate = (g: tf.NamedTensorMap) => {
    for (const [name, grad] of Object.entries(g)) {
      const key = keyOf.get(name)!;
      const prev = grads.get(key);
      if (prev) {
        grads.set(key, tf.add(prev, grad));
        prev.dispose();
        grad.dispose();
      } else grads.set(key, grad);
    }
  };

  // Pass A: supervised + translation terms (out_f, and out_s for intra pairing).
  const passA = tf.variableGrads(() => {
    const xF = tf.tensor5d(inputF.values, [inputF.keys.length, X, Y, Z, 1]);
    const outF = forward3d(model, xF, { training: true, dropout: dropoutStreams(ctx, 'f', inputF.keys) });
    const labeledLogits = semi ? selectSlots(outF, rb.labeledSlots) : outF;
    const labels = tf.tensor4d(Int32Array.from(selectLabels(rb)), [rb.labeledSlots.length, X, Y, Z], 'int32');
    const sup = supervisedTerm(labeledLogits, labels, global, ctx.replicas, C);
    terms.ce = sup.ce;
    terms.dice = sup.dice;
    terms.supervised = 0.5 * (sup.ce + sup.dice);
    let loss: tf.Scalar = sup.loss;
    if (semi && settings.translationLoss) {
      const a = rb.batch.overlapF.map((box, i) => sliceBox(outF, i, box));
      const targets = translationTargets(model, rb, peer!, settings, ctx);
      const tra = translationLoss(a, targets, { mode: settings.kl, spatialWeight: 1, entropyWeight: 1 });
      const viewShare = global.views > 0 ? local.views / global.views : 0;
      terms.kl = tra.klSum.dataSync()[0]!;
      terms.entropy = tra.regulariser.dataSync()[0]! * viewShare;
      const traLoss = tf.add(tf.mul(tra.klSum, settings.spatialWeight), tf.mul(tra.regulariser, settings.entropyWeight * viewShare));
      loss = tf.add(loss, tf.mul(traLoss, w));
    }
    return loss as tf.Scalar;
  }, vars.map(([, v]) => v));
  passA.value.dispose();
  accumulate(passA.grads);

  // Pass B: CRC (or plain CE) on the unlabelled slots of the (CutMixed) input.
  if (semi) {
    const passB = tf.variableGrads(() => {
      const xU = tf.tensor5d(inputU!, batchShape(rb));
      const outU = forward3d(model, xU, { training: true, dropout: dropoutStreams(ctx, 'u', rb.slotKeys) });
      const logits = selectSlots(outU, rb.unlabeledSlots);
      const target = tf.tensor5d(selectSlotValues(pseudo!, B, rb.unlabeledSlots), [rb.unlabeledSlots.length, X, Y, Z, C]);
      let crc: tf.Scalar;
      if (settings.crc) {
        const r = crcLoss(logits, target, { threshold: settings.threshold, negThreshold: settings.negThreshold, form: settings.crcForm });
        confidentRatio.positive = r.positiveRatio;
        confidentRatio.negative = r.negativeRatio;
        const posShare = global.crcPositive > 0 ? local.crcPositive / global.crcPositive : 0;
        const negShare = global.crcNegative > 0 ? local.crcNegative / global.crcNegative : 0;
        crc = tf.add(tf.mul(r.positive, posShare), tf.mul(r.negative, negShare));
      } else {
        crc = tf.div(pseudoLabelCrossEntropy(logits, target), ctx.replicas);
      }
      terms.crc = crc.dataSync()[0]!;
      if (settings.pseudoDice) {
        // ACDC: the CRC term is averaged with the Dice against the argmax pseudo-label.
        const dice = pseudoDiceTerm(logits, target, global, ctx.replicas, C);
        crc = tf.mul(tf.add(crc, dice.loss), 0.5);
        terms.crc = 0.5 * (terms.crc + dice.value);
      }
      return tf.mul(crc, w) as tf.Scalar;
    }, vars.map(([, v]) => v));
    passB.value.dispose();
    accumulate(passB.grads);
  }

  const translation = settings.spatialWeight * terms.kl + settings.entropyWeight * terms.entropy;
  terms.total = terms.supervised + w * (terms.crc + translation);
  return { grads, terms, confidentRatio };
}

/** Counts known before any forward: CRC mask sizes (from the peer's probabilities) and views. */
function localStatistics(rb: ReplicaBatch, pseudo: Float32Array | null, settings: StepSettings): StepStatistics {
  const stats = emptyStatistics();
  stats.views = 2 * rb.batch.overlapF.filter((box) => boxVoxels(box) > 0).length;
  if (!pseudo) return stats;
  const C = settings.classes;
  const per = pseudo.length / rb.batch.shape[0];
  for (const slot of rb.unlabeledSlots) {
    for (let v = slot * per; v < (slot + 1) * per; v += C) {
      let max = -Infinity;
      let min = Infinity;
      for (let c = 0; c < C; c++) {
        const p = pseudo[v + c]!;
        if (p > max) max = p;
        if (p < min) min = p;
      }
      if (max >= settings.threshold) stats.crcPositive++;
      if (min < settings.negThreshold) stats.crcNegative++;
    }
  }
  return stats;
}

/** The f-crop forward's input: every slot (semi-supervised) or the labelled ones, with input noise. */
function forwardFInput(rb: ReplicaBatch, settings: StepSettings, ctx: StepContext): { keys: string[]; values: Float32Array } {
  const B = rb.batch.shape[0];
  const semi = settings.semiSupervised;
  const inputSlots = semi ? Array.from({ length: B }, (_, i) => i) : rb.labeledSlots;
  const keys = inputSlots.map((i) => rb.slotKeys[i]!);
  const fValues = semi ? rb.batch.f : selectSlotValues(rb.batch.f, B, rb.labeledSlots);
  return { keys, values: withInputNoise(fValues, noiseOf(settings), ctx, 'f', keys) };
}

/** The (CutMixed) unlabelled-pass input of every slot, with input noise. */
function unlabeledInput(rb: ReplicaBatch, settings: StepSettings, ctx: StepContext): Float32Array {
  const values = mixesInput(settings, ctx.role) ? cutMixSlots(rb.batch.f, batchShape(rb), rb.cutmix) : rb.batch.f;
  return withInputNoise(values, noiseOf(settings), ctx, 'u', rb.slotKeys);
}

/**
 * Σpt, Σp², Σt² of this replica's labelled slots (per class for C > 2), from a forward without tape that repeats the
 * gradient pass's forward exactly (same input, noise and dropout, BN statistics left alone): only
 * needed when Dice must be normalised over several replicas.
 */
function diceStatistics(model: SegmentationNetwork, rb: ReplicaBatch, input: { keys: string[]; values: Float32Array }, settings: StepSettings, ctx: StepContext): Partial<StepStatistics> {
  const [, X, Y, Z] = batchShape(rb);
  return disposingScope(() => {
    const xF = tf.tensor5d(input.values, [input.keys.length, X, Y, Z, 1]);
    const outF = forward3d(model, xF, { training: true, dropout: dropoutStreams(ctx, 'f', input.keys), updateStatistics: false });
    const logits = settings.semiSupervised ? selectSlots(outF, rb.labeledSlots) : outF;
    if (settings.classes > 2) {
      const labels = tf.tensor4d(Int32Array.from(selectLabels(rb)), logits.shape.slice(0, 4) as [number, number, number, number], 'int32');
      return { diceClasses: classDiceSums(tf.softmax(logits), labels, settings.classes) };
    }
    const p = foregroundProbability(logits);
    const t = tf.tensor4d(Float32Array.from(selectLabels(rb), (v) => (v === 1 ? 1 : 0)), p.shape as [number, number, number, number]);
    const sums = tf.stack([tf.sum(tf.mul(p, t)), tf.sum(tf.square(p)), tf.sum(t)]).dataSync();
    return { diceIntersection: sums[0]!, dicePrediction: sums[1]!, diceTarget: sums[2]! };
  });
}

/** The unlabelled slots' Dice sums against the argmax pseudo-labels, from a forward without tape (as `diceStatistics`). */
function pseudoDiceStatistics(model: SegmentationNetwork, rb: ReplicaBatch, inputU: Float32Array, pseudo: Float32Array, settings: StepSettings, ctx: StepContext): number[] {
  const [B, X, Y, Z] = batchShape(rb);
  const C = settings.classes;
  return disposingScope(() => {
    const outU = forward3d(model, tf.tensor5d(inputU, batchShape(rb)), { training: true, dropout: dropoutStreams(ctx, 'u', rb.slotKeys), updateStatistics: false });
    const logits = selectSlots(outU, rb.unlabeledSlots);
    const target = tf.tensor5d(selectSlotValues(pseudo, B, rb.unlabeledSlots), [rb.unlabeledSlots.length, X, Y, Z, C]);
    return classDiceSums(tf.softmax(logits), tf.argMax(target, -1), C);
  });
}

/**
 * Multi-class Dice of the prediction against the argmax pseudo-label: `loss` differentiates to
 * this replica's share of the gradient, `value` is its 1/R share of the global Dice.
 */
function pseudoDiceTerm(logits: tf.Tensor5D, target: tf.Tensor5D, global: StepStatistics, replicas: number, classes: number): { loss: tf.Scalar; value: number } {
  if (replicas === 1) {
    const loss = pseudoLabelDiceLoss(logits, target);
    return { loss, value: loss.dataSync()[0]! };
  }
  const loss = classDiceSurrogate(tf.softmax(logits), tf.argMax(target, -1), classes, global.pseudoDice);
  return { loss, value: classDiceValue(global.pseudoDice, classes) / replicas };
}

function supervisedTerm(logits: tf.Tensor5D, labels: tf.Tensor4D, global: StepStatistics, replicas: number, classes: number): { loss: tf.Scalar; ce: number; dice: number } {
  if (replicas === 1) {
    // C = 2: exactly the binary `supervisedLoss` (Dice on class 1); C > 2: the multi-class Dice.
    const sup = multiClassSupervisedLoss(logits, labels);
    return { loss: sup.loss, ce: sup.ce.dataSync()[0]!, dice: sup.dice.dataSync()[0]! };
  }
  if (classes > 2) {
    const ce = tf.div(crossEntropy(logits, labels), replicas) as tf.Scalar;
    const surrogate = classDiceSurrogate(tf.softmax(logits), labels, classes, global.diceClasses);
    return { loss: tf.mul(tf.add(ce, surrogate), 0.5) as tf.Scalar, ce: ce.dataSync()[0]!, dice: classDiceValue(global.diceClasses, classes) / replicas };
  }
  // Dice over all replicas: a surrogate linear in this replica's sums with the global
  // derivative as coefficients has exactly this replica's share of the gradient.
  const denominator = global.dicePrediction + global.diceTarget + DICE_SMOOTH;
  const numerator = 2 * global.diceIntersection + DICE_SMOOTH;
  const dIntersection = -2 / denominator;
  const dPrediction = numerator / (denominator * denominator);
  const p = foregroundProbability(logits);
  const t = tf.cast(tf.equal(labels, 1), 'float32');
  const surrogate = tf.add(tf.mul(tf.sum(tf.mul(p, t)), dIntersection), tf.mul(tf.sum(tf.square(p)), dPrediction));
  const ce = tf.div(crossEntropy(logits, labels), replicas) as tf.Scalar;
  const diceValue = (1 - numerator / denominator) / replicas;
  return { loss: tf.mul(tf.add(ce, surrogate), 0.5) as tf.Scalar, ce: ce.dataSync()[0]!, dice: diceValue };
}

function translationTargets(model: SegmentationNetwork, rb: ReplicaBatch, peer: PeerViews, settings: StepSettings, ctx: StepContext): tf.Tensor4D[] {
  if (settings.pairing === 'cross') {
    if (!peer.overlap) throw new Error('cross pairing needs the peer overlap views');
    return peer.overlap.map((p) => tf.tensor4d(unpackUnitInterval(p), p.shape as [number, number, number, number]));
  }
  const xS = tf.tensor5d(withInputNoise(rb.batch.s, noiseOf(settings), ctx, 's', rb.slotKeys), batchShape(rb));
  const outS = forward3d(model, xS, { training: true, dropout: dropoutStreams(ctx, 's', rb.slotKeys) });
  return rb.batch.overlapS.map((box, i) => translationTarget(sliceBox(outS, i, box), settings.kl));
}

function noiseOf(settings: StepSettings): InputNoise {
  return { amplitude: settings.inputNoise, clamp: settings.inputNoiseClamp };
}

function selectLabels(rb: ReplicaBatch): Uint8Array {
  return selectSlotValues(rb.batch.labelF, rb.batch.shape[0], rb.labeledSlots);
}

/** Sample i of a [B, x, y, z, C] tensor restricted to a box, as [x, y, z, C]. */
export function sliceBox(t: tf.Tensor5D, i: number, box: Box3): tf.Tensor4D {
  const [sx, sy, sz] = boxShape(box);
  return tf.reshape(tf.slice(t, [i, box.start[0], box.start[1], box.start[2], 0], [1, sx, sy, sz, t.shape[4]]), [sx, sy, sz, t.shape[4]]);
}

function copyOf(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}
