/**
 * One hosted model replica: the network, its optimiser and the step settings of its role. Knows
 * how to start fresh or from a checkpoint in the object store, and how to serialise itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TracocoConfig } from '../shared/config/index.js';
import { CHECKSUM_KEY, decodeCheckpoint, decodeSafetensors, encodeCheckpoint, encodeSafetensors, stateDictChecksum } from '../shared/checkpoint/index.js';
import { createNetwork, type SegmentationNetwork } from '../shared/model/index.js';
import { SGD, type SGDState } from '../shared/optim/sgd.js';
import type { ObjectStore, Role } from '../shared/protocol/index.js';
import { hashString } from '../shared/random.js';
import { networkSpecFrom, stepSettingsFrom } from '../shared/training/settings.js';
import type { StepSettings } from '../shared/training/step.js';
import { TracocoError } from '../shared/errors.js';

export class Replica {
  private constructor(
    readonly role: Role,
    readonly model: SegmentationNetwork,
    readonly optimizer: SGD,
    readonly settings: StepSettings,
  ) {}

  /** Replicas of the same role start from the same weights: the seed depends on the role only. */
  static fresh(config: TracocoConfig, role: Role): Replica {
    const model = createNetwork(networkSpecFrom(config), modelSeed(config.seed, role));
    return new Replica(role, model, sgdFor(config), stepSettingsFrom(config));
  }

  static async fromStore(config: TracocoConfig, role: Role, store: ObjectStore, ref: { weights: string; optimizer: string }): Promise<Replica> {
    const weights = await store.get(ref.weights);
    if (!weights) throw new TracocoError('checkpoint weights not found in the object store', { file: ref.weights });
    const { model } = decodeCheckpoint(weights, ref.weights, config.model.architecture);
    const optimizer = sgdFor(config);
    const optimizerBytes = await store.get(ref.optimizer);
    if (optimizerBytes) optimizer.loadState(decodeOptimizerState(optimizerBytes, ref.optimizer), model.params, ref.optimizer);
    return new Replica(role, model, optimizer, stepSettingsFrom(config));
  }

  /** Weights (safetensors with architecture metadata) and optimiser state (safetensors). */
  serialize(iteration: number): { weights: Uint8Array; optimizer: Uint8Array } {
    return {
      weights: encodeCheckpoint(this.model, { iteration: String(iteration), role: String(this.role) }),
      optimizer: encodeOptimizerState(this.optimizer.state()),
    };
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}

export function modelSeed(seed: number, role: Role): number {
  return hashString(`${seed}/model/${role}`);
}

function sgdFor(config: TracocoConfig): SGD {
  return new SGD({ momentum: config.train.momentum, weightDecay: config.train.weight_decay });
}

function encodeOptimizerState(state: SGDState): Uint8Array {
  const tensors = new Map(Object.entries(state.momentum).map(([k, v]) => [k, { shape: v.shape, dtype: 'float32' as const, data: v.data }]));
  return encodeSafetensors(tensors, { kind: 'sgd-momentum', [CHECKSUM_KEY]: stateDictChecksum(tensors) });
}

function decodeOptimizerState(bytes: Uint8Array, source: string): SGDState {
  const content = decodeSafetensors(bytes, source);
  const stored = content.metadata[CHECKSUM_KEY];
  if (stored !== undefined && stored !== stateDictChecksum(content.tensors)) {
    throw new TracocoError('optimizer state checksum mismatch: the file is corrupted', { file: source, field: CHECKSUM_KEY });
  }
  const momentum: SGDState['momentum'] = {};
  for (const [key, t] of content.tensors) {
    if (!(t.data instanceof Float32Array)) throw new TracocoError(`momentum buffer '${key}' is not float32`, { file: source });
    momentum[key] = { shape: t.shape, data: t.data };
  }
  return { momentum };
}

/** Flattens gradients in parameter order (the all-reduce payload). */
export function flattenGradients(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): Float32Array {
  let total = 0;
  for (const p of params.values()) total += p.size;
  const out = new Float32Array(total);
  let at = 0;
  for (const [key, p] of params) {
    const g = grads.get(key);
    if (g) out.set(g.dataSync() as Float32Array, at);
    at += p.size;
  }
  return out;
}

export function unflattenGradients(params: ReadonlyMap<string, tf.Variable>, flat: Float32Array): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  let at = 0;
  for (const [key, p] of params) {
    out.set(key, tf.tensor(flat.subarray(at, at + p.size), p.shape, 'float32'));
    at += p.size;
  }
  return out;
}
