/**
 * What one model replica trains on in one step: the built crops of one or more data shards, with
 * each slot's role (labelled or not), its global identity (which seeds its noise and dropout, so a
 * slot gets the same randomness whichever worker processes it), and the CutMix of each shard.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyCutMix, type Batch, type CutMixParams } from '../data/index.js';
import { hashString, Random, fillUniform } from '../random.js';

export interface CutMixGroup {
  /** Slots of one shard, in the order CutMix's permutation indexes them. */
  slots: number[];
  params: CutMixParams;
}

export interface ReplicaBatch {
  batch: Batch;
  labeledSlots: number[];
  unlabeledSlots: number[];
  /** Global identity of each slot, e.g. `shard:slot`. */
  slotKeys: string[];
  cutmix: CutMixGroup[];
}

/** The stream names of the forwards of one step (each gets its own noise and dropout). */
export type ForwardName = 'pseudo' | 'views' | 'f' | 's' | 'u';

export interface StepContext {
  seed: number;
  iteration: number;
  role: 1 | 2;
}

function slotSeed(ctx: StepContext, kind: string, forward: ForwardName, slotKey: string): number {
  return hashString(`${ctx.seed}/${kind}/${ctx.iteration}/${ctx.role}/${forward}/${slotKey}`);
}

/** One dropout stream per slot, so the masks of a slot do not depend on its batch-mates. */
export function dropoutStreams(ctx: StepContext, forward: ForwardName, slotKeys: readonly string[]): Random[] {
  return slotKeys.map((key) => new Random(slotSeed(ctx, 'dropout', forward, key)));
}

/** Additive input noise U(-amplitude, amplitude), optionally clamped to [0, 1] afterwards (Pancreas, BraTS). */
export interface InputNoise {
  amplitude: number;
  clamp: boolean;
}

/** A copy of `x` ([B, ...], one slot per `slotKeys` entry) plus U(-a, a) noise seeded per slot. */
export function withInputNoise(x: Float32Array, noise: InputNoise, ctx: StepContext, forward: ForwardName, slotKeys: readonly string[]): Float32Array {
  const out = new Float32Array(x.length);
  if (noise.amplitude === 0) {
    out.set(x);
  } else {
    const per = x.length / slotKeys.length;
    slotKeys.forEach((key, b) => {
      const slot = out.subarray(b * per, (b + 1) * per);
      fillUniform(slot, -noise.amplitude, noise.amplitude, slotSeed(ctx, 'noise', forward, key));
      for (let i = 0; i < per; i++) slot[i]! += x[b * per + i]!;
    });
  }
  if (noise.clamp) for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]!));
  return out;
}

/** CutMix applied shard by shard (a shard's permutation only mixes its own slots). */
export function cutMixSlots<T extends Float32Array>(values: T, shape: readonly number[], groups: readonly CutMixGroup[]): T {
  if (groups.length === 0) return values;
  const per = values.length / shape[0]!;
  const out = values.slice() as T;
  for (const g of groups) {
    const packed = new Float32Array(g.slots.length * per);
    g.slots.forEach((slot, i) => packed.set(values.subarray(slot * per, (slot + 1) * per), i * per));
    const mixed = applyCutMix(packed, [g.slots.length, ...shape.slice(1)], g.params);
    g.slots.forEach((slot, i) => out.set(mixed.subarray(i * per, (i + 1) * per), slot * per));
  }
  return out;
}

/** Rows `slots` of a batch tensor (a slice when they are contiguous, else a gather). */
export function selectSlots<T extends tf.Tensor>(x: T, slots: readonly number[]): T {
  const contiguous = slots.every((s, i) => s === slots[0]! + i);
  if (contiguous && slots.length === x.shape[0]) return x;
  if (contiguous) {
    const begin = x.shape.map((_, k) => (k === 0 ? slots[0]! : 0));
    const size = x.shape.map((d, k) => (k === 0 ? slots.length : d));
    return tf.slice(x, begin, size);
  }
  return tf.gather(x, Array.from(slots), 0);
}

/** The same slots of a typed batch array (images, labels or probabilities). */
export function selectSlotValues<T extends Float32Array | Uint8Array>(values: T, batchSize: number, slots: readonly number[]): T {
  const per = values.length / batchSize;
  const out = new (values.constructor as new (n: number) => T)(slots.length * per);
  slots.forEach((slot, i) => out.set(values.subarray(slot * per, (slot + 1) * per), i * per));
  return out;
}
