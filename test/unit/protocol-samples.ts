/**
 * One valid message of every type, with seeded typed-array payloads, for the codec unit tests and
 * the NATS integration test.
 */
import { presets, validateConfig } from '../../src/shared/config/index.js';
import type { BatchPlan } from '../../src/shared/data/index.js';
import { PROTOCOL_VERSION, type Message, type MessageType } from '../../src/shared/protocol/index.js';
import { Random } from '../../src/shared/random.js';

const v = PROTOCOL_VERSION;

export function floats(n: number, seed: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function bytes(n: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: n }, () => rng.int(0, 256));
}

const metrics = { dice: 0.91, jaccard: 0.84, hd95: 3.5, asd: Number.POSITIVE_INFINITY };
const plan: BatchPlan = {
  seed: 7, iteration: 3, patch: [8, 8, 4],
  samples: [{
    shape: [16, 16, 8], rot90: 1, flipAxis: null, brightness: 1, frame: [16, 16, 8], startF: [0, 0, 0], startS: [2, 2, 0],
    overlapF: { start: [2, 2, 0], end: [8, 8, 4] }, overlapS: { start: [0, 0, 0], end: [6, 6, 4] },
  }],
  cutmix: { lambda: 0.5, perm: [0], boxes: [{ start: [0, 0, 0], end: [2, 2, 4] }] },
};

/** Every message type once; typed arrays of every class the protocol carries. */
export function sampleMessages(): Record<MessageType, Message> {
  const u16 = Uint16Array.from(floats(2 * 4 * 4 * 2 * 2, 3), (x) => Math.abs(x * 10000) % 65536);
  return {
    register: { v, type: 'register', workerId: 'w-1', resources: { device: 'cpu', backend: 'native' } },
    heartbeat: { v, type: 'heartbeat', runId: 'run-9', workerId: 'w-1', state: 'training', epoch: 3 },
    'step-done': {
      v, type: 'step-done', runId: 'run-9', workerId: 'w-1', epoch: 1, iteration: 12, role: 2,
      terms: { total: 1.5, supervised: 0.7, ce: 0.4, dice: 0.3, crc: 0.2, kl: 0.1, entropy: -0.05 },
      confidentRatio: { positive: 0.25, negative: 0.7 }, phases: { data: 0.01, forward: 0.2, exchange: 0.03, backward: 0.4, allreduce: 0.02, optimizer: 0.01 }, exchangeBytes: 123456,
    },
    'eval-done': {
      v, type: 'eval-done', runId: 'run-9', workerId: 'w-2', evalId: 'e-1', role: 1, iteration: 100, mean: metrics,
      cases: [
        { id: 'case_00', ...metrics, classes: [{ class: 1, ...metrics }] },
        { id: 'case_01', ...metrics, dice: Number.NaN, classes: [{ class: 1, ...metrics, dice: Number.NaN }, { class: 2, ...metrics }] },
      ],
      slices: [{ id: 'case_00', png: bytes(300, 4) }],
    },
    'checkpoint-done': { v, type: 'checkpoint-done', runId: 'run-9', workerId: 'w-1', epoch: 1, role: 1, iteration: 100, weights: 'ckpt/100/model1.safetensors', optimizer: 'ckpt/100/model1.opt' },
    'worker-error': { v, type: 'worker-error', runId: 'run-9', workerId: 'w-3', epoch: 2, error: 'out of memory' },
    assign: {
      v, type: 'assign', runId: 'run-9', epoch: 2, role: 1, pair: 0, peer: 'w-2', replicas: ['w-1'],
      config: validateConfig(presets.phantom!.base, 'phantom'),
      checkpoint: { iteration: 100, models: { 1: { weights: 'a', optimizer: 'b' }, 2: { weights: 'c', optimizer: 'd' } } },
    },
    cases: {
      v, type: 'cases', runId: 'run-9', epoch: 2, stored: ['big_case'],
      cases: [
        { id: 'c0', shape: [6, 5, 4], image: floats(120, 5), label: bytes(120, 6) },
        { id: 'c1', shape: [2, 2, 2], image: floats(8, 7), label: null },
      ],
    },
    step: { v, type: 'step', runId: 'run-9', epoch: 2, iteration: 13, lr: 0.01, consistencyWeight: 0.1, shards: [{ shard: 0, labeledIds: ['c0'], unlabeledIds: ['c1'], plan }] },
    evaluate: { v, type: 'evaluate', runId: 'run-9', evalId: 'e-2', epoch: 2, role: 2, iteration: 200, caseIds: ['c0', 'c1'], weights: 'run/4/model2.safetensors', config: null },
    checkpoint: { v, type: 'checkpoint', runId: 'run-9', epoch: 2, iteration: 200 },
    release: { v, type: 'release', runId: 'run-9', epoch: 2, shutdown: true },
    views: {
      v, type: 'views', runId: 'run-9', epoch: 2, iteration: 13,
      views: { pseudo: { dtype: 'uint16', shape: [2, 4, 4, 2, 2], data: u16 }, overlap: [{ dtype: 'float32', shape: [2, 2, 1, 2], data: floats(8, 8) }] },
    },
    reduce: { v, type: 'reduce', runId: 'run-9', epoch: 2, iteration: 13, phase: 'grads', step: 1, data: Float64Array.from(floats(33, 9)) },
  };
}
