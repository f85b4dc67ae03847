import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchIndices, iterationsPerEpoch, pairSeed, shardIndices, type SamplerConfig } from '../../src/shared/data/batch-sampler.js';
import { TracocoError } from '../../src/shared/errors.js';

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);

// Index values far from 0..n-1 so a test notices positions returned instead of indices.
const CONFIGS: SamplerConfig[] = [
  { labeled: range(100, 16), unlabeled: range(500, 64), batchSize: 4, seed: 1 },
  { labeled: range(100, 7), unlabeled: range(500, 5), batchSize: 4, seed: 2 },
  { labeled: range(100, 9), unlabeled: range(500, 3), batchSize: 8, seed: 3 },
  { labeled: range(100, 2), unlabeled: range(500, 1), batchSize: 2, seed: 4 },
];

test('iterationsPerEpoch is floor(L / (B/2)) and rejects odd batches and too few labelled cases', () => {
  assert.equal(iterationsPerEpoch(16, 4), 8);
  assert.equal(iterationsPerEpoch(7, 4), 3);
  assert.equal(iterationsPerEpoch(8, 2), 8);
  assert.throws(() => iterationsPerEpoch(16, 3), (e: unknown) => e instanceof TracocoError && /batchSize/.test(e.message));
  assert.throws(() => iterationsPerEpoch(16, 0), TracocoError);
  assert.throws(() => iterationsPerEpoch(1, 4), (e: unknown) => e instanceof TracocoError && /labeled/.test(e.message));
});

test('each epoch visits every labelled index at most once, and exactly once when B/2 divides L', () => {
  for (const config of CONFIGS) {
    const half = config.batchSize / 2;
    const perEpoch = iterationsPerEpoch(config.labeled.length, config.batchSize);
    for (let epoch = 0; epoch < 5; epoch++) {
      const seen: number[] = [];
      for (let t = epoch * perEpoch; t < (epoch + 1) * perEpoch; t++) {
        const b = batchIndices(t, config);
        assert.equal(b.epoch, epoch);
        assert.equal(b.labeled.length, half);
        seen.push(...b.labeled);
      }
      assert.equal(new Set(seen).size, seen.length, 'a labelled index repeats within an epoch');
      assert.ok(seen.every((i) => config.labeled.includes(i)));
      assert.equal(seen.length, perEpoch * half);
      if (config.labeled.length % half === 0) assert.deepEqual(sorted(seen), sorted([...config.labeled]));
    }
  }
});

test('the unlabelled stream is a sequence of full permutations, across epoch boundaries', () => {
  for (const config of CONFIGS) {
    const U = config.unlabeled.length;
    const stream: number[] = [];
    for (let t = 0; stream.length < 6 * U + 3; t++) {
      const b = batchIndices(t, config);
      assert.equal(b.unlabeled.length, config.batchSize / 2);
      stream.push(...b.unlabeled);
    }
    for (let pass = 0; pass < 6; pass++) {
      assert.deepEqual(sorted(stream.slice(pass * U, (pass + 1) * U)), sorted([...config.unlabeled]), `pass ${pass}`);
    }
  }
});

test('passes and epochs are reshuffled, not repeated', () => {
  const config = CONFIGS[0]!;
  const epochOrder = (epoch: number) => range(epoch * 8, 8).flatMap((t) => batchIndices(t, config).labeled);
  assert.notDeepEqual(epochOrder(0), epochOrder(1));
  const unlabeledPass = (p: number) => range(p * 32, 32).flatMap((t) => batchIndices(t, config).unlabeled);
  assert.notDeepEqual(unlabeledPass(0), unlabeledPass(1));
});

test('iteration t gives the same batch directly, after 0..t-1, and in any order', () => {
  for (const config of CONFIGS) {
    const sequential = range(0, 40).map((t) => batchIndices(t, config));
    for (const t of [39, 17, 0, 23, 5]) assert.deepEqual(batchIndices(t, config), sequential[t]);
    assert.deepEqual(batchIndices(1_000_003, config), batchIndices(1_000_003, { ...config }));
  }
});

test('the same seed repeats exactly and different seeds differ', () => {
  const config = CONFIGS[0]!;
  const run = (seed: number) => range(0, 20).map((t) => batchIndices(t, { ...config, seed }));
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});

test('batchIndices rejects bad iterations and empty unlabelled sets', () => {
  const config = CONFIGS[0]!;
  assert.throws(() => batchIndices(-1, config), TracocoError);
  assert.throws(() => batchIndices(1.5, config), TracocoError);
  assert.throws(() => batchIndices(0, { ...config, unlabeled: [] }), (e: unknown) => e instanceof TracocoError && /unlabeled/.test(e.message));
});

test('shardIndices splits into disjoint, balanced shards covering every index, and batches stay in their shard', () => {
  const indices = range(1000, 23);
  for (const pairs of [1, 2, 3, 5, 23]) {
    const shards = shardIndices(indices, pairs);
    assert.equal(shards.length, pairs);
    assert.deepEqual(sorted(shards.flat()), indices);
    const sizes = shards.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    shards.forEach((shard, p) => {
      const config = { labeled: range(0, 8), unlabeled: shard, batchSize: 4, seed: pairSeed(9, p) };
      for (let t = 0; t < 10; t++) assert.ok(batchIndices(t, config).unlabeled.every((i) => shard.includes(i)));
    });
  }
  assert.throws(() => shardIndices(indices, 24), TracocoError);
  assert.throws(() => shardIndices(indices, 0), TracocoError);
  assert.notEqual(pairSeed(9, 0), pairSeed(9, 1));
  assert.equal(pairSeed(9, 1), pairSeed(9, 1));
});
