/**
 * Evaluations on idle workers survive the loss of the evaluating worker: the registry watches
 * evaluators as well as replica holders, and a pending evaluation whose worker is gone goes to an
 * idle worker as soon as there is one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/shared/config/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { PROTOCOL_VERSION, type Message, type WorkerResources } from '../../src/shared/protocol/index.js';
import { Evaluations } from '../../src/coordinator/evaluations.js';
import type { RunState } from '../../src/coordinator/run-state.js';
import { WorkerRegistry, type WorkerRecord } from '../../src/coordinator/worker-registry.js';

const RESOURCES: WorkerResources = { device: 'cpu', backend: 'cpu' };
const TIMEOUT_MS = 1000;

function registryAt(clock: { t: number }, ids: string[]): WorkerRegistry {
  const registry = new WorkerRegistry(() => clock.t);
  for (const workerId of ids) registry.onRegister({ v: PROTOCOL_VERSION, type: 'register', workerId, resources: RESOURCES });
  return registry;
}

function beat(registry: WorkerRegistry, workerId: string, state: 'idle' | 'evaluating' = 'idle'): void {
  registry.onHeartbeat({ v: PROTOCOL_VERSION, type: 'heartbeat', runId: 'run-9', workerId, state, epoch: -1 });
}

test('silent() reports a busy unassigned worker, and only assigned or busy ones', () => {
  const clock = { t: 0 };
  const registry = registryAt(clock, ['evaluator', 'spare', 'replica']);
  registry.workers.get('replica')!.assigned = { role: 1, pair: 0, rank: 0 };
  clock.t = 5 * TIMEOUT_MS;
  assert.deepEqual(registry.silent(TIMEOUT_MS).map((w) => w.id), ['replica']);
  assert.deepEqual(
    registry.silent(TIMEOUT_MS, (id) => id === 'evaluator').map((w) => w.id).sort(),
    ['evaluator', 'replica'],
  );
});

test('an evaluation whose worker is gone is sent to an idle worker once there is one', async () => {
  const clock = { t: 0 };
  const registry = registryAt(clock, ['evaluator', 'spare']);
  const sent: { to: string; message: Message }[] = [];
  const evaluations = new Evaluations({
    config: validateConfig({ name: 't' }, 'test'),
    evalIds: ['case_0'],
    objects: { put: async () => {}, get: async () => null, delete: async () => {}, list: async () => [] },
    outputs: null,
    log: () => silentLogger,
    state: () => ({}) as RunState, // only recording results reads it
    saveState: async () => {},
    send: async (to, message) => void sent.push({ to, message }),
    sendEvalCases: async () => {},
  });
  const ref = { iteration: 10, models: { 1: { weights: 'w1', optimizer: 'o1' }, 2: { weights: 'w2', optimizer: 'o2' } } };
  assert.equal(await evaluations.dispatchToIdle(ref, [1], [registry.workers.get('evaluator')!]), true);
  assert.equal(evaluations.isEvaluating('evaluator'), true);
  assert.equal(evaluations.isEvaluating('spare'), false);

  const live = (ids: string[]) => (id: string) => ids.includes(id);
  // The evaluator is still live: nothing moves.
  await evaluations.redispatch(live(['evaluator', 'spare']), [registry.workers.get('spare')!]);
  assert.equal(sent.length, 1);
  // Gone, but no idle worker yet: the evaluation waits.
  await evaluations.redispatch(live(['spare']), [] as WorkerRecord[]);
  assert.equal(sent.length, 1);
  assert.equal(evaluations.outstanding, 1);
  // An idle worker: the same evaluation (iteration, model, weights) goes there.
  beat(registry, 'spare');
  await evaluations.redispatch(live(['spare']), [registry.workers.get('spare')!]);
  assert.equal(sent.length, 2);
  const again = sent[1]!;
  assert.equal(again.to, 'spare');
  assert.equal(again.message.type, 'evaluate');
  assert.deepEqual(
    again.message.type === 'evaluate' && { iteration: again.message.iteration, role: again.message.role, weights: again.message.weights },
    { iteration: 10, role: 1, weights: 'w1' },
  );
  assert.equal(evaluations.isEvaluating('spare'), true);
  assert.equal(evaluations.isEvaluating('evaluator'), false);
  assert.equal(evaluations.outstanding, 1);
});
