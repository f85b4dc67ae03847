/**
 * The NATS transport against a real nats-server with JetStream on 127.0.0.1: every message type,
 * chunking over a small max_payload, ordering, malformed frames, KV, object store, credentials and
 * a server restart. Skips without nats-server (fails in CI, see test/support/env.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Packr } from 'msgpackr';
import { connect, type NatsConnection } from 'nats';
import { TracocoError } from '../../src/shared/errors.js';
import { createLogger, type Logger } from '../../src/shared/log.js';
import { splitFrame } from '../../src/shared/protocol/chunking.js';
import { encodeMessage, type ProtocolRejection } from '../../src/shared/protocol/codec.js';
import { PROTOCOL_VERSION, type Message } from '../../src/shared/protocol/index.js';
import { connectNatsTransport, type NatsTransport, type NatsTransportOptions } from '../../src/transport/index.js';
import { skipUnlessBinary } from '../support/env.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';
import { sampleMessages } from '../unit/protocol-samples.js';

const skip = skipUnlessBinary('nats-server');
const v = PROTOCOL_VERSION;

/** A logger that keeps its events, to assert on what was logged. */
function recordingLogger(): Logger & { events: Record<string, unknown>[] } {
  const events: Record<string, unknown>[] = [];
  const logger = createLogger({}, { level: 'debug', write: (line) => events.push(JSON.parse(line)) });
  return Object.assign(logger, { events });
}

async function open(server: NatsServer, extra: Partial<NatsTransportOptions> = {}): Promise<NatsTransport> {
  return connectNatsTransport({
    prefix: 'itest',
    ...extra,
    connection: { servers: server.url, reconnectTimeWait: 100, ...extra.connection },
    retry: { attempts: 30, delayMs: 100, maxDelayMs: 500, attemptTimeoutMs: 20_000 },
  });
}

/** Subscribes, waits until the server knows, and collects until `count` messages arrived. */
async function collect(transport: NatsTransport, subject: string, count: number, timeoutMs = 20_000): Promise<{ done: Promise<Message[]>; received: Message[] }> {
  const received: Message[] = [];
  let resolve!: (m: Message[]) => void;
  const done = new Promise<Message[]>((res, reject) => {
    resolve = res;
    setTimeout(() => reject(new Error(`${received.length} of ${count} messages on ${subject} after ${timeoutMs} ms`)), timeoutMs).unref();
  });
  const sub = transport.subscribe(subject, (m) => {
    received.push(m);
    if (received.length === count) {
      sub.unsubscribe();
      resolve(received);
    }
  });
  await transport.flush();
  return { done, received };
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function bigFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 0.001 + seed) * (i % 977);
  return out;
}

describe('NATS transport', { skip }, () => {
  let server: NatsServer;
  let small: NatsServer;
  const transports: NatsTransport[] = [];
  const keep = (t: NatsTransport) => (transports.push(t), t);

  before(async () => {
    [server, small] = await Promise.all([startNatsServer({ jetstream: true }), startNatsServer({ jetstream: true, maxPayload: 64 * 1024 })]);
  });
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all([server?.stop(), small?.stop()]);
  });

  test('every message type arrives intact, typed arrays as the same classes', async () => {
    const [a, b] = [keep(await open(server)), keep(await open(server))];
    const samples = Object.values(sampleMessages());
    const { done } = await collect(b, 'itest.roundtrip', samples.length);
    for (const m of samples) await a.publish('itest.roundtrip', m);
    const received = await done;
    assert.deepStrictEqual(received, samples);
    assert.ok(a.bytesPublished > 0);
  });

  test('a 20 MB message crosses a server with a 64 KB max_payload intact', async () => {
    const [a, b] = [keep(await open(small)), keep(await open(small))];
    assert.equal(a.maxPayload, 64 * 1024);
    const image = bigFloats(5 * 2 ** 20, 1);
    const message: Message = { v, type: 'cases', runId: 'run-9', epoch: 1, stored: [], cases: [{ id: 'huge', shape: [256, 256, 80], image, label: new Uint8Array(image.length).fill(1) }] };
    const { done } = await collect(b, 'itest.big', 1);
    const before = a.bytesPublished;
    await a.publish('itest.big', message);
    const [got] = await done;
    assert.ok(got!.type === 'cases');
    assert.ok(got.cases[0]!.image instanceof Float32Array);
    assert.deepStrictEqual(got, message);
    assert.ok(a.bytesPublished - before > image.byteLength + image.length, 'chunk headers and both arrays were published');
    assert.equal(b.rejectedCount, 0);
  });

  test('messages on one subject arrive in publish order, chunked ones included', async () => {
    const [a, b] = [keep(await open(small)), keep(await open(small))];
    const sent: Message[] = [];
    for (let i = 0; i < 120; i++) {
      sent.push(
        i % 10 === 5
          ? { v, type: 'reduce', runId: 'run-9', epoch: 0, iteration: i, phase: 'grads', step: i, data: bigFloats(50_000, i) }
          : { v, type: 'heartbeat', runId: 'run-9', workerId: 'w', state: 'training', epoch: i },
      );
    }
    const { done } = await collect(b, 'itest.order', sent.length);
    for (const m of sent) await a.publish('itest.order', m);
    const received = await done;
    // The sequence number travels as the reduce chunk's iteration or the heartbeat's epoch.
    const order = (m: Message) => (m.type === 'reduce' ? m.iteration : (m as { epoch: number }).epoch);
    assert.deepEqual(received.map(order), sent.map((_, i) => i));
    assert.deepStrictEqual(received[15], sent[15]);
  });

  test('malformed frames are logged, counted and dropped; later messages still arrive', async () => {
    const logger = recordingLogger();
    const rejections: [ProtocolRejection, string][] = [];
    const b = keep(await open(server, { logger, limits: { maxMessageBytes: 64 * 1024 }, onRejected: (r, s) => rejections.push([r, s]) }));
    const a = keep(await open(server));
    const raw: NatsConnection = await connect({ servers: server.url });
    try {
      const packr = new Packr({ useRecords: false, moreTypes: true });
      const { done } = await collect(b, 'itest.bad', 1);
      const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256);
      raw.publish('itest.bad', garbage);
      raw.publish('itest.bad', packr.pack({ ...sampleMessages().heartbeat, v: 7 }));
      raw.publish('itest.bad', packr.pack({ v, type: 'heartbeat', runId: 'run-9', workerId: 'w' }));
      raw.publish('itest.bad', new Uint8Array(100 * 1024).fill(0x90));
      raw.publish('itest.bad', Uint8Array.from([0xc1, 1, 2, 3]));
      await raw.flush();
      await a.publish('itest.bad', { v, type: 'reduce', runId: 'run-9', epoch: 0, iteration: 0, phase: 'grads', step: 0, data: new Float32Array(400_000) });
      await until('six rejections', () => b.rejectedCount === 6);
      await a.publish('itest.bad', sampleMessages().heartbeat);
      assert.deepStrictEqual(await done, [sampleMessages().heartbeat]);

      assert.equal(b.rejectedCount, 6);
      const reasons = rejections.map(([r]) => r.reason).sort();
      assert.deepEqual(reasons, ['chunk', 'field', 'malformed', 'oversized', 'oversized', 'version']);
      assert.ok(rejections.every(([, subject]) => subject === 'itest.bad'));
      const version = rejections.find(([r]) => r.reason === 'version')![0];
      assert.match(version.message, /protocol version 7/);
      const field = rejections.find(([r]) => r.reason === 'field')![0];
      assert.equal(field.context.message, 'heartbeat');
      const logged = logger.events.filter((e) => e.event === 'transport.message_rejected');
      assert.equal(logged.length, 6);
      assert.ok(logged.every((e) => e.level === 'warn' && e.subject === 'itest.bad' && typeof e.error === 'string'));

      // The sender refuses what receivers with the same limits would drop.
      const strict = keep(await open(server, { limits: { maxMessageBytes: 1000 } }));
      const tooBig: Message = { v, type: 'reduce', runId: 'run-9', epoch: 0, iteration: 0, phase: 'grads', step: 0, data: new Float32Array(300) };
      await assert.rejects(strict.publish('itest.bad', tooBig), /message 'reduce': encoded size \d+ bytes exceeds the message limit of 1000/);
    } finally {
      await raw.close();
    }
  });

  test('a chunked message that never completes expires as one rejection', async () => {
    const rejections: ProtocolRejection[] = [];
    const b = keep(await open(server, { limits: { timeoutMs: 200 }, onRejected: (r) => rejections.push(r) }));
    const raw: NatsConnection = await connect({ servers: server.url });
    try {
      const { done } = await collect(b, 'itest.partial', 1);
      const frame = encodeMessage(sampleMessages().cases);
      const [first, second] = splitFrame(frame, 300, Uint8Array.from([7, 7, 7, 7, 7, 7, 7, 7]), 1);
      raw.publish('itest.partial', first!);
      await raw.flush();
      await until('the expiry', () => rejections.length === 1);
      assert.equal(rejections[0]!.reason, 'expired');
      assert.equal(rejections[0]!.context.message, 'itest.partial');
      // A straggler of the expired message is ignored; a whole message still gets through.
      raw.publish('itest.partial', second!);
      raw.publish('itest.partial', encodeMessage(sampleMessages().checkpoint));
      assert.deepStrictEqual(await done, [sampleMessages().checkpoint]);
      assert.equal(b.rejectedCount, 1);
    } finally {
      await raw.close();
    }
  });

  test('close drains what was just published; publishing afterwards is refused', async () => {
    const [a, b] = [keep(await open(small)), keep(await open(small))];
    const message: Message = { v, type: 'reduce', runId: 'run-9', epoch: 0, iteration: 1, phase: 'stats', step: 0, data: bigFloats(300_000, 5) };
    const { done } = await collect(b, 'itest.close', 2);
    await a.publish('itest.close', message);
    await a.publish('itest.close', sampleMessages().release);
    await a.close();
    assert.deepStrictEqual(await done, [message, sampleMessages().release]);
    await assert.rejects(a.publish('itest.close', sampleMessages().release), /transport is closed/);
    await a.close();
  });

  test('a throwing handler is logged and the subscription keeps delivering', async () => {
    const logger = recordingLogger();
    const [a, b] = [keep(await open(server)), keep(await open(server, { logger }))];
    const seen: number[] = [];
    b.subscribe('itest.throw', (m) => {
      seen.push((m as { epoch: number }).epoch);
      if (seen.length === 1) throw new Error('handler bug');
    });
    b.subscribe('itest.throw', async () => {
      throw new Error('async handler bug');
    });
    await b.flush();
    for (const epoch of [1, 2]) await a.publish('itest.throw', { v, type: 'heartbeat', runId: 'run-9', workerId: 'w', state: 'idle', epoch });
    await until('both messages', () => seen.length === 2);
    await until('three failures logged', () => logger.events.filter((e) => e.event === 'transport.handler_failed').length === 3);
    assert.deepEqual(seen, [1, 2]);
  });

  test('KV put, get, overwrite and delete, for plain and arbitrary keys', async () => {
    const t = keep(await open(server));
    const value = new TextEncoder().encode(JSON.stringify({ iteration: 3 }));
    assert.equal(await t.kv.get('absent'), null);
    for (const key of ['run', 'epoch/3.state', 'with space:and?odd chars']) {
      await t.kv.put(key, value);
      assert.deepEqual(await t.kv.get(key), value);
      await t.kv.put(key, Uint8Array.from([1, 2]));
      assert.deepEqual(await t.kv.get(key), Uint8Array.from([1, 2]));
      await t.kv.delete(key);
      assert.equal(await t.kv.get(key), null);
    }
    // Another connection with the same prefix sees the same bucket.
    await t.kv.put('shared', value);
    const other = keep(await open(server));
    assert.deepEqual(await other.kv.get('shared'), value);
  });

  test('the object store holds 30 MB, lists and deletes', async () => {
    const t = keep(await open(server, { prefix: 'objects' }));
    const data = new Uint8Array(bigFloats(30 * 2 ** 18, 2).buffer);
    await t.objects.put('ckpt/model1.safetensors', data);
    await t.objects.put('tiny', Uint8Array.from([9]));
    assert.deepEqual(await t.objects.get('ckpt/model1.safetensors'), data);
    assert.deepEqual((await t.objects.list()).sort(), ['ckpt/model1.safetensors', 'tiny']);
    await t.objects.delete('ckpt/model1.safetensors');
    await t.objects.delete('never-stored');
    assert.equal(await t.objects.get('ckpt/model1.safetensors'), null);
    assert.deepEqual(await t.objects.list(), ['tiny']);
  });

  test('objects larger than a small max_payload are stored in chunks that fit it', async () => {
    const t = keep(await open(small, { prefix: 'objects' }));
    const data = new Uint8Array(bigFloats(2 ** 18, 3).buffer);
    await t.objects.put('one-mb', data);
    assert.deepEqual(await t.objects.get('one-mb'), data);
  });

  test('credentials: the right password connects, a wrong or missing one fails clearly', async () => {
    const secured = await startNatsServer({ jetstream: true, user: 'tracoco', password: 'right' });
    try {
      const ok = await open(secured, { connection: { user: 'tracoco', pass: 'right' } });
      const { done } = await collect(ok, 'itest.auth', 1);
      await ok.publish('itest.auth', sampleMessages().release);
      assert.deepStrictEqual(await done, [sampleMessages().release]);
      await ok.close();
      for (const connection of [{ user: 'tracoco', pass: 'wrong' }, {}]) {
        await assert.rejects(open(secured, { connection }), (err: unknown) => {
          assert.ok(err instanceof TracocoError);
          assert.equal(err.context.flag, '--nats');
          assert.match(err.message, /rejected the credentials/);
          return true;
        });
      }
    } finally {
      await secured.stop();
    }
    await assert.rejects(open(secured), /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
  });

  test('a server without JetStream is refused at once with a clear error', async () => {
    const plain = await startNatsServer({ jetstream: false });
    try {
      await assert.rejects(open(plain), /JetStream is not usable on .* \(start nats-server with -js\): the server does not offer JetStream/);
    } finally {
      await plain.stop();
    }
  });

  test('after a server restart the clients reconnect, subscriptions resume and stored data is intact', async () => {
    const restartable = await startNatsServer({ jetstream: true });
    const [logA, logB] = [recordingLogger(), recordingLogger()];
    // A JetStream call lost in the reconnect times out after apiTimeoutMs and is retried.
    const a = await open(restartable, { logger: logA, apiTimeoutMs: 1000 });
    const b = await open(restartable, { logger: logB, apiTimeoutMs: 1000 });
    try {
      const received: number[] = [];
      b.subscribe('itest.restart', (m) => received.push((m as { epoch: number }).epoch));
      await b.flush();
      await a.publish('itest.restart', { v, type: 'heartbeat', runId: 'run-9', workerId: 'w', state: 'idle', epoch: -1 });
      await until('the first message', () => received.length === 1);
      const state = new TextEncoder().encode('{"iteration":200}');
      const weights = new Uint8Array(bigFloats(2 ** 20, 4).buffer);
      await a.kv.put('run', state);
      await a.objects.put('weights', weights);

      const restarted = restartable.restart({ downMs: 500 });
      await until('the disconnect', () => logB.events.some((e) => e.event === 'nats.disconnected'));
      // Store calls made while the server is down wait for it (bounded retries), then succeed.
      const [, during] = await Promise.all([restarted, b.kv.get('run')]);
      assert.deepEqual(during, state);
      for (const log of [logA, logB]) await until('a reconnect', () => log.events.some((e) => e.event === 'nats.reconnected'));
      assert.ok(logA.events.some((e) => e.event === 'nats.disconnected' && e.level === 'warn'));

      // Resubscription is asynchronous: publish until one gets through (bounded).
      for (let i = 1; i <= 100 && received.length < 2; i++) {
        await a.publish('itest.restart', { v, type: 'heartbeat', runId: 'run-9', workerId: 'w', state: 'idle', epoch: -1 });
        await sleep(100);
      }
      assert.ok(received.length >= 2, 'a message after the restart arrived');
      assert.deepEqual(await b.kv.get('run'), state);
      assert.deepEqual(await b.objects.get('weights'), weights);
      await b.kv.put('run', Uint8Array.from([7]));
      assert.deepEqual(await a.kv.get('run'), Uint8Array.from([7]));
    } finally {
      await Promise.all([a.close(), b.close()]);
      await restartable.stop();
    }
  });
});
