import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_HEADER_BYTES, Reassembler, isChunkFrame, parseChunkFrame, splitFrame, type Chunk, type ReassemblyLimits } from '../../src/shared/protocol/chunking.js';
import { ProtocolRejection, encodeMessage } from '../../src/shared/protocol/codec.js';
import { Random } from '../../src/shared/random.js';
import { sampleMessages } from './protocol-samples.js';

const LIMITS: ReassemblyLimits = { maxMessageBytes: 1 << 20, maxPendingBytes: 4 << 20, maxPendingMessages: 8, timeoutMs: 1000 };
const SENDER_A = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const SENDER_B = Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]);

function randomBytes(rng: Random, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(0, 256));
}

function shuffled<T>(rng: Random, items: T[]): T[] {
  return rng.permutation(items.length).map((i) => items[i]!);
}

/** A manual clock for expiry tests. */
function clock(start = 0) {
  const c = { now: start, read: () => c.now };
  return c;
}

function chunksOf(frame: Uint8Array, max: number, sender = SENDER_A, sequence = 1): Chunk[] {
  return splitFrame(frame, max, sender, sequence).map((f) => parseChunkFrame(f));
}

function rejection(fn: () => unknown): ProtocolRejection {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolRejection, String(err));
    return err;
  }
  assert.fail('expected a ProtocolRejection');
}

test('a frame that fits is sent as it is, and is not mistaken for a chunk', () => {
  const frame = encodeMessage(sampleMessages().heartbeat);
  const frames = splitFrame(frame, frame.byteLength, SENDER_A, 0);
  assert.equal(frames.length, 1);
  assert.equal(frames[0], frame);
  for (const message of Object.values(sampleMessages())) assert.equal(isChunkFrame(encodeMessage(message)), false, message.type);
});

test('chunk frames stay within the limit and carry every byte once', () => {
  const rng = new Random(1);
  for (let trial = 0; trial < 40; trial++) {
    const max = rng.int(CHUNK_HEADER_BYTES + 1, 600);
    const frame = randomBytes(rng, rng.int(max + 1, 5000));
    const frames = splitFrame(frame, max, SENDER_A, trial);
    assert.ok(frames.every((f) => f.byteLength <= max && isChunkFrame(f)));
    const chunks = frames.map((f) => parseChunkFrame(f));
    assert.ok(chunks.every((c, i) => c.index === i && c.count === frames.length && c.total === frame.byteLength && c.id === `0102030405060708/${trial}`));
    const joined = new Uint8Array(frame.byteLength);
    let offset = 0;
    for (const c of chunks) {
      joined.set(c.bytes, offset);
      offset += c.bytes.byteLength;
    }
    assert.equal(offset, frame.byteLength);
    assert.deepEqual(joined, frame);
  }
});

test('a limit with no room for the header is an error, not an endless split', () => {
  assert.throws(() => splitFrame(new Uint8Array(100), CHUNK_HEADER_BYTES, SENDER_A, 0), /no room/);
});

test('random frames reassemble in any arrival order, with duplicates ignored', () => {
  const rng = new Random(2);
  for (let trial = 0; trial < 30; trial++) {
    const r = new Reassembler(LIMITS);
    const frame = randomBytes(rng, rng.int(1000, 20_000));
    const chunks = chunksOf(frame, rng.int(CHUNK_HEADER_BYTES + 1, 2000), SENDER_A, trial);
    const arrivals = shuffled(rng, [...chunks, ...chunks.filter(() => rng.uniform() < 0.3)]);
    const firstArrival = new Map<number, number>();
    arrivals.forEach((c, i) => firstArrival.has(c.index) || firstArrival.set(c.index, i));
    const last = Math.max(...firstArrival.values());
    const results = arrivals.map((c) => r.accept(c));
    // Exactly the arrival that supplied the last missing index completes the message.
    const completedAt = results.findIndex((x) => x !== null);
    assert.equal(completedAt, last);
    assert.deepEqual(results[completedAt], frame);
    assert.equal(results.filter((x) => x !== null).length, 1);
    assert.equal(r.pendingMessages, 0);
    assert.equal(r.pendingBytes, 0);
  }
});

test('interleaved messages of two senders with the same sequence number stay apart', () => {
  const rng = new Random(3);
  const r = new Reassembler(LIMITS);
  const a = randomBytes(rng, 3000);
  const b = randomBytes(rng, 2500);
  const arrivals = shuffled(rng, [...chunksOf(a, 500, SENDER_A, 5), ...chunksOf(b, 500, SENDER_B, 5)]);
  const done = arrivals.map((c) => r.accept(c)).filter((x): x is Uint8Array => x !== null);
  assert.equal(done.length, 2);
  assert.deepEqual(new Set(done.map((d) => d.byteLength)), new Set([3000, 2500]));
  assert.deepEqual(done.find((d) => d.byteLength === 3000), a);
  assert.deepEqual(done.find((d) => d.byteLength === 2500), b);
});

test('a late duplicate of a completed message is ignored rather than started again', () => {
  const r = new Reassembler(LIMITS);
  const chunks = chunksOf(new Uint8Array(1000).fill(7), 300);
  for (const c of chunks) r.accept(c);
  assert.equal(r.accept(chunks[0]!), null);
  assert.equal(r.pendingMessages, 0);
});

test('a message with a missing chunk expires after the timeout, as one rejection naming it', () => {
  const t = clock(1000);
  const r = new Reassembler(LIMITS, t.read);
  const chunks = chunksOf(new Uint8Array(2000).fill(1), 400 + CHUNK_HEADER_BYTES);
  for (const c of chunks.slice(0, -1)) assert.equal(r.accept(c, 'tracoco.worker.w1'), null);
  assert.equal(r.pendingMessages, 1);
  assert.equal(r.pendingBytes, 2000);
  t.now += LIMITS.timeoutMs - 1;
  assert.deepEqual(r.expire(), []);
  t.now += 1;
  const expired = r.expire();
  assert.equal(expired.length, 1);
  assert.equal(expired[0]!.reason, 'expired');
  assert.equal(expired[0]!.context.message, 'tracoco.worker.w1');
  assert.match(expired[0]!.message, /4 of 5 chunks/);
  assert.equal(r.pendingMessages, 0);
  assert.equal(r.pendingBytes, 0);
  assert.deepEqual(r.expire(), []);
  // The straggler arrives after all: ignored, not the start of a new message.
  assert.equal(r.accept(chunks.at(-1)!), null);
  assert.equal(r.pendingMessages, 0);
});

test('an announced size above the message limit is rejected at the first chunk', () => {
  const r = new Reassembler({ ...LIMITS, maxMessageBytes: 5000 });
  const chunks = chunksOf(new Uint8Array(5001), 1000);
  const e = rejection(() => r.accept(chunks[3]!, 'subj'));
  assert.equal(e.reason, 'oversized');
  assert.match(e.message, /5001 bytes exceeds the limit of 5000/);
  assert.equal(r.pendingBytes, 0);
  // One rejection per message: its other chunks are dropped silently.
  for (const c of chunks) assert.equal(r.accept(c), null);
  assert.equal(r.pendingMessages, 0);
});

test('reassembly memory is bounded in bytes and in pending messages', () => {
  const bytes = new Reassembler({ ...LIMITS, maxPendingBytes: 5000 });
  bytes.accept(chunksOf(new Uint8Array(3000), 1000, SENDER_A, 1)[0]!);
  const e = rejection(() => bytes.accept(chunksOf(new Uint8Array(2001), 1000, SENDER_A, 2)[0]!));
  assert.equal(e.reason, 'overloaded');
  assert.equal(bytes.pendingBytes, 3000);
  assert.equal(bytes.accept(chunksOf(new Uint8Array(2000), 1000, SENDER_A, 3)[0]!), null);
  assert.equal(bytes.pendingBytes, 5000);

  const count = new Reassembler({ ...LIMITS, maxPendingMessages: 2 });
  const halves = (seq: number) => chunksOf(new Uint8Array(100), 50 + CHUNK_HEADER_BYTES, SENDER_A, seq);
  for (const seq of [1, 2]) count.accept(halves(seq)[0]!);
  assert.equal(rejection(() => count.accept(halves(3)[0]!)).reason, 'overloaded');
  // Completing one frees its slot.
  assert.ok(count.accept(halves(1)[1]!));
  assert.equal(count.accept(halves(3)[0]!), null);
});

test('inconsistent or truncated chunks are rejected and drop their message', () => {
  const frame = new Uint8Array(1000).fill(3);
  const [c0, c1, c2] = chunksOf(frame, 400 + CHUNK_HEADER_BYTES) as [Chunk, Chunk, Chunk];
  const cases: [string, Chunk[], RegExp][] = [
    ['wrong count', [c0, { ...c1, count: 4 }], /disagrees/],
    ['short payload', [c0, { ...c1, bytes: c1.bytes.subarray(1) }], /holds 399 bytes, expected 400/],
    ['long last chunk', [{ ...c2, bytes: new Uint8Array(400) }], /holds 400 bytes, expected 200/],
    ['index out of range', [{ ...c0, index: 3 }], /out of range/],
    ['count that does not cover the size', [{ ...c0, count: 2 }], /inconsistent chunk header/],
    ['zero chunk size', [{ ...c0, chunkSize: 0 }], /inconsistent chunk header/],
  ];
  for (const [what, arrivals, pattern] of cases) {
    const r = new Reassembler(LIMITS);
    for (const c of arrivals.slice(0, -1)) r.accept(c);
    const e = rejection(() => r.accept(arrivals.at(-1)!));
    assert.equal(e.reason, 'chunk', what);
    assert.match(e.message, pattern, what);
    assert.equal(r.pendingMessages, 0, what);
    assert.equal(r.pendingBytes, 0, what);
    assert.equal(r.accept(c1), null, what);
    assert.equal(r.pendingMessages, 0, what);
  }
});

test('frames with a broken chunk header are rejected', () => {
  const [first] = splitFrame(new Uint8Array(200), 100, SENDER_A, 0) as [Uint8Array];
  assert.equal(rejection(() => parseChunkFrame(first.subarray(0, CHUNK_HEADER_BYTES - 1), 's')).reason, 'chunk');
  const otherFormat = Uint8Array.from(first);
  otherFormat[1] = 9;
  assert.match(rejection(() => parseChunkFrame(otherFormat)).message, /chunk format 9/);
});
