/**
 * Builds one replica's step batch from the shard plans the coordinator sent: each shard's slots
 * are its labelled cases then its unlabelled ones, augmented and cropped by `buildBatch`, and the
 * shards are concatenated. Unlabelled cases' labels are dropped unless `unlabeledLabels` asks for
 * them (`train.pseudo_labels: ground-truth`, a diagnostic), so nothing else can train on them.
 */
import { TracocoError } from '../errors.js';
import { buildBatch, type Batch, type BatchCase, type IntensityRange } from '../data/index.js';
import type { ShardPlan } from '../protocol/messages.js';
import type { ReplicaBatch } from './replica-batch.js';

export interface CachedCase {
  image: Float32Array;
  label: Uint8Array | null;
  shape: [number, number, number];
  range?: IntensityRange;
}

export interface AssembleOptions {
  /** Crop the unlabelled cases' labels too (each must have one). */
  unlabeledLabels?: boolean;
}

export function assembleReplicaBatch(shards: readonly ShardPlan[], lookup: (id: string) => CachedCase | undefined, options: AssembleOptions = {}): ReplicaBatch {
  const parts: Batch[] = [];
  const rb: ReplicaBatch = { batch: undefined as unknown as Batch, labeledSlots: [], unlabeledSlots: [], slotKeys: [], cutmix: [] };
  let offset = 0;
  for (const shard of shards) {
    const ids = [...shard.labeledIds, ...shard.unlabeledIds];
    const cases: BatchCase[] = [];
    const ranges: (IntensityRange | undefined)[] = [];
    ids.forEach((id, slot) => {
      const c = lookup(id);
      if (!c) throw new TracocoError(`case '${id}' was not sent to this worker`, { field: 'cases' });
      const labeled = slot < shard.labeledIds.length;
      if (labeled && !c.label) throw new TracocoError(`labelled case '${id}' has no label`, { field: 'cases' });
      if (!labeled && options.unlabeledLabels && !c.label) {
        throw new TracocoError(`unlabelled case '${id}' has no label, which train.pseudo_labels: ground-truth needs`, { field: 'train.pseudo_labels' });
      }
      cases.push({ image: c.image, label: labeled || options.unlabeledLabels ? c.label : null, shape: c.shape });
      ranges.push(c.range);
    });
    parts.push(buildBatch(cases, shard.plan, undefined, ranges));
    const slots = ids.map((_, i) => offset + i);
    rb.labeledSlots.push(...slots.slice(0, shard.labeledIds.length));
    rb.unlabeledSlots.push(...slots.slice(shard.labeledIds.length));
    rb.slotKeys.push(...ids.map((_, i) => `${shard.shard}:${i}`));
    if (shard.plan.cutmix) rb.cutmix.push({ slots, params: shard.plan.cutmix });
    offset += ids.length;
  }
  rb.batch = parts.length === 1 ? parts[0]! : concatBatches(parts);
  return rb;
}

function concatBatches(parts: Batch[]): Batch {
  const [, X, Y, Z, C] = parts[0]!.shape;
  const B = parts.reduce((n, p) => n + p.shape[0], 0);
  const join = <T extends Float32Array | Uint8Array>(pick: (b: Batch) => T, make: (n: number) => T): T => {
    const out = make(parts.reduce((n, p) => n + pick(p).length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(pick(p), at);
      at += pick(p).length;
    }
    return out;
  };
  return {
    shape: [B, X, Y, Z, C],
    f: join((b) => b.f, (n) => new Float32Array(n)),
    s: join((b) => b.s, (n) => new Float32Array(n)),
    labelF: join((b) => b.labelF, (n) => new Uint8Array(n)),
    labelS: join((b) => b.labelS, (n) => new Uint8Array(n)),
    overlapF: parts.flatMap((p) => p.overlapF),
    overlapS: parts.flatMap((p) => p.overlapS),
  };
}
