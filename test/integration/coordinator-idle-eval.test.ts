/**
 * An idle worker that dies while evaluating, through the real coordinator (in-process transport,
 * real training workers): the coordinator notices the silent evaluator although it holds no model
 * replica, hands its evaluation to another idle worker, and the run ends with both models'
 * evaluations of the last checkpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { loadConfig } from '../../src/shared/config/index.js';
import { writePhantomDataset } from '../../src/shared/data/phantom-dataset.js';
import { openDataset } from '../../src/shared/io/index.js';
import { createLogger, type LogFields } from '../../src/shared/log.js';
import { messages, subjects, type Message } from '../../src/shared/protocol/index.js';
import { Coordinator } from '../../src/coordinator/coordinator.js';
import { loadTrainingData } from '../../src/coordinator/training-data.js';
import { TrainingWorker } from '../../src/worker/worker.js';
import { InProcessTransport } from '../../src/transport/in-process.js';
import { tempDir } from '../support/env.js';

const tmp = tempDir('tracoco-idle-eval-');
let backend = 'cpu';
let dataRoot = '';

before(async () => {
  backend = (await initBackend(process.env.TRACOCO_TEST_BACKEND)).name;
  dataRoot = (await writePhantomDataset({ out: join(tmp.path, 'data'), cases: 6, testCases: 2, shape: [24, 24, 20], seed: 5 })).root;
});
after(() => tmp.cleanup());

/** A tiny phantom run of `iterations` steps, checkpointed and evaluated at its end. */
function tinyConfig(iterations: number) {
  return loadConfig({
    configArg: 'phantom',
    flags: { data: { root: dataRoot }, train: { max_iterations: iterations } },
    set: ['data.patch=[16,16,16]', 'eval.patch=[16,16,16]', 'eval.stride_xy=8', 'eval.stride_z=8', `eval.every=${iterations}`, `checkpoint.every=${iterations}`, 'model.filters=2'],
  });
}

/** A worker that registers and beats until it is asked to evaluate, then goes silent (dies). */
function dyingEvaluator(transport: InProcessTransport, id: string) {
  const s = subjects(transport.prefix);
  let alive = true;
  const asked: Message[] = [];
  const beat = () => {
    if (!alive) return;
    void transport.publish(s.register, messages.register({ workerId: id, resources: { device: 'cpu', backend } }));
    void transport.publish(s.heartbeat, messages.heartbeat({ runId: 'run-9', workerId: id, state: 'idle', epoch: -1 }));
  };
  const timer = setInterval(beat, 100);
  const sub = transport.subscribe(s.worker(id), (m) => {
    if (m.type !== 'evaluate') return;
    asked.push(m);
    alive = false;
  });
  beat();
  return { asked, stop: () => (clearInterval(timer), sub.unsubscribe()) };
}

test('an idle evaluator that dies mid-evaluation is replaced and the evaluation completes', async () => {
  const out = join(tmp.path, 'run');
  const config = tinyConfig(4);
  const events: LogFields[] = [];
  const logger = createLogger({}, { write: (line) => events.push(JSON.parse(line) as LogFields) });
  const transport = new InProcessTransport({ storeDir: join(out, '.store'), logger });
  const data = await loadTrainingData(openDataset(dataRoot), config, logger);
  const resources = { device: 'cpu' as const, backend };
  // Live workers are placed in id order: p-0/p-1 form the pair; the idle ones x-dies and z-idle get
  // one evaluation each, x-dies (sorted first) model 1's.
  const workers = ['p-0', 'p-1', 'z-idle'].map((id) => new TrainingWorker({ workerId: id, transport, resources, logger, heartbeatMs: 100 }));
  const dying = dyingEvaluator(transport, 'x-dies');
  // 3 s: the in-process workers' synchronous steps must never look like silence on a loaded machine.
  const coordinator = new Coordinator({ transport, config, data, workers: 2, out, logger, heartbeatTimeoutMs: 3000, livenessIntervalMs: 100, maxRetries: 0 });
  try {
    coordinator.listen();
    for (const w of workers) await w.start();
    const summary = await coordinator.run();
    assert.equal(summary.iteration, 4);
    assert.equal(dying.asked.length, 1, 'the dying worker was given one evaluation');
    const lost = events.filter((e) => e.event === 'worker.lost').map((e) => e.worker);
    assert.deepEqual(lost, ['x-dies']);
    const dispatched = events.filter((e) => e.event === 'eval.dispatched').map((e) => [e.worker, e.model]);
    assert.ok(dispatched.some(([w]) => w === 'x-dies'));
    const redispatched = dispatched.filter(([w]) => w === 'z-idle');
    assert.equal(redispatched.length, 2, `both evaluations end up on the healthy idle worker: ${JSON.stringify(dispatched)}`);
    assert.deepEqual(summary.evals.map((e) => [e.iteration, e.role]).sort(), [[4, 1], [4, 2]]);
  } finally {
    dying.stop();
    for (const w of workers) await w.stop();
    await transport.close();
  }
});

test('messages of another run are dropped: a foreign worker error does not fail the epoch, a foreign worker is not placed', async () => {
  const out = join(tmp.path, 'foreign');
  const config = tinyConfig(3);
  const logger = createLogger({}, { write: () => {} });
  const transport = new InProcessTransport({ storeDir: join(out, '.store'), logger });
  const data = await loadTrainingData(openDataset(dataRoot), config, logger);
  const resources = { device: 'cpu' as const, backend };
  const s = subjects(transport.prefix);
  const rejected: string[] = [];
  const observer = {
    onRejected: (reason: string) => rejected.push(reason),
    // On every step of our run, another run's worker reports an error for the same epoch.
    onStep: () => void transport.publish(s.coordinator, messages.workerError({ runId: 'other-run', workerId: 'p-0', epoch: 1, error: 'poison' })),
  };
  // A worker of another run beats before ours: it must not take a place in our pair.
  const beat = setInterval(() => void transport.publish(s.heartbeat, messages.heartbeat({ runId: 'other-run', workerId: 'a-foreign', state: 'training', epoch: 1 })), 50);
  const workers = ['p-0', 'p-1'].map((id) => new TrainingWorker({ workerId: id, transport, resources, logger, heartbeatMs: 100 }));
  const coordinator = new Coordinator({ transport, config, data, workers: 2, out, logger, observer, heartbeatTimeoutMs: 3000, livenessIntervalMs: 100, maxRetries: 0 });
  try {
    coordinator.listen();
    for (const w of workers) await w.start();
    const summary = await coordinator.run();
    assert.equal(summary.iteration, 3);
    assert.equal(summary.recoveries, 0, 'no epoch failed');
    assert.ok(rejected.length >= 3 && rejected.every((r) => r.includes('another run (other-run)')), JSON.stringify(rejected));
  } finally {
    clearInterval(beat);
    for (const w of workers) await w.stop();
    await transport.close();
  }
});

/** A worker that takes its placement, then dies at its first step (never replies, stops beating). */
function dyingTrainer(transport: InProcessTransport, id: string) {
  const s = subjects(transport.prefix);
  let alive = true;
  let epoch = -1;
  let runId = '';
  const beat = () => {
    if (!alive) return;
    void transport.publish(s.register, messages.register({ workerId: id, resources: { device: 'cpu', backend } }));
    void transport.publish(s.heartbeat, messages.heartbeat({ runId, workerId: id, state: epoch >= 0 ? 'assigned' : 'idle', epoch }));
  };
  const timer = setInterval(beat, 100);
  const sub = transport.subscribe(s.worker(id), (m) => {
    if (m.type === 'assign') [epoch, runId] = [m.epoch, m.runId];
    if (m.type === 'step') alive = false;
  });
  beat();
  return { stop: () => (clearInterval(timer), sub.unsubscribe()) };
}

test('a worker left out of the placement while waiting on a dead peer is released, and evaluates', async () => {
  const out = join(tmp.path, 'released');
  const iterations = 3;
  const config = loadConfig({
    configArg: 'phantom',
    flags: { data: { root: dataRoot }, train: { max_iterations: iterations } },
    set: ['data.patch=[16,16,16]', 'eval.patch=[16,16,16]', 'eval.stride_xy=8', 'eval.stride_z=8', `eval.every=${iterations}`, `checkpoint.every=${iterations}`, 'model.filters=2', 'train.shards=2', 'train.batch_size=2'],
  });
  const events: LogFields[] = [];
  const logger = createLogger({}, { write: (line) => events.push(JSON.parse(line) as LogFields) });
  const transport = new InProcessTransport({ storeDir: join(out, '.store'), logger });
  const data = await loadTrainingData(openDataset(dataRoot), config, logger);
  const resources = { device: 'cpu' as const, backend };
  // Placed in id order: pair 0 = a-0, a-1; pair 1 = b-0 and b-1, which dies at its first step and
  // leaves b-0 waiting for its views. The recovery has 3 live workers: one pair, b-0 left out.
  const workers = ['a-0', 'a-1', 'b-0'].map((id) => new TrainingWorker({ workerId: id, transport, resources, logger, heartbeatMs: 100 }));
  const dying = dyingTrainer(transport, 'b-1');
  const toB0: string[] = [];
  const watch = transport.subscribe(subjects(transport.prefix).worker('b-0'), (m) => toB0.push(m.type));
  // Without the release, b-0's evaluation would queue behind a step waiting 10 min for views, and
  // be abandoned after the step timeout: no evaluations in the summary.
  const coordinator = new Coordinator({ transport, config, data, workers: 4, out, logger, heartbeatTimeoutMs: 3000, livenessIntervalMs: 100, stepTimeoutMs: 60_000 });
  try {
    coordinator.listen();
    for (const w of workers) await w.start();
    const summary = await coordinator.run();
    assert.equal(summary.iteration, iterations);
    assert.equal(summary.recoveries, 1);
    const placed = events.filter((e) => e.event === 'run.placed').map((e) => e.pairs);
    assert.deepEqual(placed, [2, 1], 'two pairs, then one after b-1 died');
    assert.ok(toB0.includes('release'), `b-0 was released: ${toB0.join(', ')}`);
    const dispatched = events.filter((e) => e.event === 'eval.dispatched').map((e) => e.worker);
    assert.deepEqual(dispatched, ['b-0', 'b-0'], 'the released worker is the idle evaluator');
    assert.deepEqual(summary.evals.map((e) => [e.iteration, e.role]).sort(), [[iterations, 1], [iterations, 2]]);
  } finally {
    watch.unsubscribe();
    dying.stop();
    for (const w of workers) await w.stop();
    await transport.close();
  }
});
