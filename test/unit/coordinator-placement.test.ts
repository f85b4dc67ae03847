/**
 * The coordinator's pure parts: placement of replicas on live workers, the step summary of the
 * replies, the reply keys both sides build, and the mailbox failing every wait of a lost epoch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerOf, placeWorkers, replicasOf, shardsOfPair } from '../../src/coordinator/placement.js';
import { summarizeStep } from '../../src/coordinator/step-summary.js';
import { Mailbox } from '../../src/shared/mailbox.js';
import { coordinatorReplyKey, messages, PROTOCOL_VERSION, replyKeys, type StepDoneMessage } from '../../src/shared/protocol/index.js';

test('placement: pairs of (model 1, model 2) in worker order, as many as divide the shards', () => {
  const plan = placeWorkers(['a', 'b', 'c', 'd', 'e'], 4, 2)!;
  assert.equal(plan.pairs, 2);
  assert.deepEqual(plan.placements.map((p) => `${p.workerId}:${p.role}/${p.pair}/${p.rank}`), ['a:1/0/0', 'b:2/0/0', 'c:1/1/1', 'd:2/1/1']);
  assert.equal(peerOf(plan.placements, plan.placements[0]!)?.workerId, 'b');
  assert.deepEqual(replicasOf(plan.placements, 2), ['b', 'd']);
  // 3 pairs' worth of workers but 4 shards: 3 does not divide 4, so 2 pairs.
  assert.equal(placeWorkers(['a', 'b', 'c', 'd', 'e', 'f'], 4, 2)!.pairs, 2);
  // More workers than shards: one pair per shard at most.
  assert.equal(placeWorkers(['a', 'b', 'c', 'd'], 1, 2)!.pairs, 1);
  // The supervised baseline: single replicas, model 1 only, no peer.
  const single = placeWorkers(['a', 'b', 'c'], 3, 1)!;
  assert.deepEqual(single.placements.map((p) => [p.role, p.pair]), [[1, 0], [1, 1], [1, 2]]);
  assert.equal(peerOf(single.placements, single.placements[0]!), undefined);
  assert.equal(placeWorkers(['a'], 2, 2), null);
});

test('placement: every shard belongs to exactly one pair', () => {
  for (const [pairs, shards] of [[1, 1], [2, 4], [3, 6], [4, 4]] as const) {
    const all = Array.from({ length: pairs }, (_, p) => shardsOfPair(p, pairs, shards)).flat().sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: shards }, (_, s) => s));
  }
});

const done = (workerId: string, role: 1 | 2, total: number, forward: number): StepDoneMessage =>
  messages.stepDone({
    runId: 'run-9',
    workerId, epoch: 1, iteration: 4, role,
    terms: { total, supervised: 1, ce: 0.5, dice: 0.5, crc: 0, kl: 0, entropy: 0 },
    confidentRatio: { positive: 0.5, negative: 0.25 },
    phases: { data: 0.1, forward, exchange: 0, backward: 1, allreduce: 0, optimizer: 0.1 },
    exchangeBytes: 100,
  });

test('step summary: terms summed per role, ratios averaged over pairs, slowest phase', () => {
  const s = summarizeStep([done('a', 1, 1, 0.5), done('b', 2, 2, 0.7), done('c', 1, 3, 0.9), done('d', 2, 4, 0.2)], 2);
  assert.equal(s.terms[1]!.total, 4);
  assert.equal(s.terms[2]!.total, 6);
  assert.equal(s.terms[1]!.supervised, 2);
  assert.deepEqual(s.confidentRatio[1], { positive: 0.5, negative: 0.25 });
  assert.equal(s.phases.forward, 0.9);
  assert.equal(s.exchangeBytes, 400);
});

test('reply keys: the key a reply is delivered under is the key its request waits on', () => {
  const step = done('w-1', 2, 1, 1);
  assert.equal(coordinatorReplyKey(step), replyKeys.step(1, 4, 'w-1'));
  const ckpt = messages.checkpointDone({ runId: 'run-9', workerId: 'w', epoch: 3, role: 2, iteration: 50, weights: 'a', optimizer: 'b' });
  assert.equal(coordinatorReplyKey(ckpt), replyKeys.checkpoint(3, 50, 2));
  const evalDone = messages.evalDone({ runId: 'run-9', workerId: 'w', evalId: '3/50/1', role: 1, iteration: 50, mean: { dice: 1, jaccard: 1, hd95: 0, asd: 0 }, cases: [], slices: [] });
  assert.equal(coordinatorReplyKey(evalDone), replyKeys.evaluation('3/50/1'));
  assert.equal(coordinatorReplyKey(messages.heartbeat({ runId: 'run-9', workerId: 'w', state: 'idle', epoch: 1 })), null);
  assert.equal(step.v, PROTOCOL_VERSION);
  assert.equal(step.type, 'step-done');
});

test('mailbox: fail rejects current and later waits with the first error until resume', async () => {
  const box = new Mailbox<string>();
  const waiting = box.take('k1', 10_000);
  box.fail(new Error('lost worker'));
  box.fail(new Error('second failure'));
  await assert.rejects(waiting, /lost worker/);
  box.deliver('k2', 'x');
  await assert.rejects(box.take('k2', 10_000), /lost worker/);
  assert.equal(box.failure?.message, 'lost worker');
  box.resume();
  assert.equal(await box.take('k2', 10_000), 'x');
  const later = box.take('k3', 10_000);
  box.deliver('k3', 'y');
  assert.equal(await later, 'y');
});
