import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { TracocoError } from '../../src/shared/errors.js';
import { MESSAGE_TYPES, ProtocolRejection, decodeMessage, encodeMessage, type RejectionReason } from '../../src/shared/protocol/codec.js';
import { PROTOCOL_VERSION, type Message } from '../../src/shared/protocol/index.js';
import { floats, sampleMessages } from './protocol-samples.js';

const MAX = 1 << 20;
/** Encodes arbitrary values the way a foreign (or buggy) sender would. */
const raw = new Packr({ useRecords: false, moreTypes: true });

function rejects(bytes: Uint8Array, reason: RejectionReason, pattern: RegExp, maxBytes = MAX): ProtocolRejection {
  let caught: unknown;
  try {
    decodeMessage(bytes, { maxBytes, subject: 'tracoco.test' });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolRejection, `expected a ProtocolRejection, got ${String(caught)}`);
  assert.ok(caught instanceof TracocoError);
  assert.equal(caught.reason, reason, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

test('the samples cover every message type the codec knows', () => {
  assert.deepEqual(Object.keys(sampleMessages()).sort(), [...MESSAGE_TYPES].sort());
});

test('every message type round-trips with its typed arrays as the same classes', () => {
  for (const [type, message] of Object.entries(sampleMessages())) {
    const decoded = decodeMessage(encodeMessage(message), { maxBytes: MAX });
    assert.deepStrictEqual(decoded, message, type);
  }
  const views = decodeMessage(encodeMessage(sampleMessages().views), { maxBytes: MAX });
  assert.ok(views.type === 'views' && views.views.pseudo.data instanceof Uint16Array);
  assert.ok(views.views.overlap![0]!.data instanceof Float32Array);
  const reduce = decodeMessage(encodeMessage(sampleMessages().reduce), { maxBytes: MAX });
  assert.ok(reduce.type === 'reduce' && reduce.data instanceof Float64Array);
});

test('typed arrays that are views into a larger buffer encode only their own elements', () => {
  const backing = floats(100, 11);
  const data = backing.subarray(37, 41);
  const message: Message = { v: PROTOCOL_VERSION, type: 'reduce', runId: 'run-9', epoch: 0, iteration: 0, phase: 'stats', step: 0, data };
  const decoded = decodeMessage(encodeMessage(message), { maxBytes: MAX });
  assert.ok(decoded.type === 'reduce');
  assert.deepStrictEqual(decoded.data, Float32Array.from(backing.slice(37, 41)));
});

test('bulk payloads cost their raw bytes plus a small overhead', () => {
  const image = floats(250_000, 12);
  const message: Message = { v: PROTOCOL_VERSION, type: 'cases', runId: 'run-9', epoch: 0, stored: [], cases: [{ id: 'x', shape: [100, 50, 50], image, label: null }] };
  const size = encodeMessage(message).byteLength;
  assert.ok(size >= image.byteLength && size < image.byteLength + 200, `frame of ${size} bytes for ${image.byteLength} bytes of floats`);
});

test('a frame above the size limit is rejected before it is parsed', () => {
  const garbage = new Uint8Array(64).fill(0xc1);
  rejects(garbage, 'oversized', /64 bytes exceeds the limit of 63/, 63);
  const good = encodeMessage(sampleMessages().heartbeat);
  rejects(good, 'oversized', /exceeds/, good.byteLength - 1);
  assert.equal(decodeMessage(good, { maxBytes: good.byteLength }).type, 'heartbeat');
});

test('bytes that are not MessagePack or not an object are malformed', () => {
  rejects(new Uint8Array(0), 'malformed', /not a MessagePack frame/);
  rejects(Uint8Array.from([0x92, 0x01]), 'malformed', /not a MessagePack frame/);
  rejects(raw.pack([1, 2]), 'malformed', /an array, not a message object/);
  rejects(raw.pack(42), 'malformed', /a number/);
  rejects(raw.pack(null), 'malformed', /null/);
  rejects(raw.pack(new Float32Array(3)), 'malformed', /Float32Array/);
});

test('another protocol version is rejected naming that version', () => {
  const r = rejects(raw.pack({ ...sampleMessages().heartbeat, v: 2 }), 'version', new RegExp(`protocol version 2 is not supported \\(expected ${PROTOCOL_VERSION}\\)`));
  assert.equal(r.context.message, 'tracoco.test');
  rejects(raw.pack({ type: 'heartbeat', runId: 'run-9', workerId: 'w', state: 'idle', epoch: 0 }), 'version', /version undefined/);
});

test('a missing or unknown type is rejected', () => {
  rejects(raw.pack({ v: PROTOCOL_VERSION, workerId: 'w' }), 'type', /missing message type/);
  rejects(raw.pack({ v: PROTOCOL_VERSION, type: 'launch-missiles' }), 'type', /unknown message type 'launch-missiles'/);
  rejects(raw.pack({ v: PROTOCOL_VERSION, type: 'toString' }), 'type', /unknown message type/);
});

test('removing any top-level field of any message type is rejected naming type and field', () => {
  for (const message of Object.values(sampleMessages())) {
    for (const field of Object.keys(message)) {
      if (field === 'v' || field === 'type') continue;
      const broken: Record<string, unknown> = { ...message };
      delete broken[field];
      const r = rejects(raw.pack(broken), 'field', /missing/);
      assert.equal(r.context.message, message.type);
      assert.equal(r.context.field, field, `${message.type}.${field}`);
    }
  }
});

test('fields of the wrong kind are rejected with the path of the offending value', () => {
  const s = sampleMessages();
  const cases: [unknown, string, RegExp][] = [
    [{ ...s.heartbeat, epoch: '12' }, 'epoch', /must be number, got a string/],
    [{ ...s['step-done'], runId: undefined }, 'runId', /missing/],
    [{ ...s.views, runId: 7 }, 'runId', /must be string/],
    [{ ...s.assign, config: { name: 'x', train: { lr: -1 } } }, 'config', /must be config/],
    [{ ...s.evaluate, config: { seed: 'one' } }, 'config', /must be config\|null/],
    [{ ...s.heartbeat, state: 'sleeping' }, 'state', /one of idle, assigned, training, evaluating/],
    [{ ...s['step-done'], role: 3 }, 'role', /must be role/],
    [{ ...s.release, shutdown: 1 }, 'shutdown', /must be boolean/],
    [{ ...s.register, resources: { ...(s.register as any).resources, backend: null } }, 'resources.backend', /got null/],
    [{ ...s.cases, cases: [(s.cases as any).cases[0], { ...(s.cases as any).cases[1], image: new Float64Array(8) }] }, 'cases[1].image', /must be Float32Array, got Float64Array/],
    [{ ...s.cases, cases: [{ ...(s.cases as any).cases[0], label: [1, 0] }] }, 'cases[0].label', /Uint8Array\|null, got an array/],
    [{ ...s.cases, stored: ['a', 7] }, 'stored[1]', /must be string/],
    [{ ...s.views, views: { ...(s.views as any).views, pseudo: { ...(s.views as any).views.pseudo, data: new Uint8Array(4) } } }, 'views.pseudo.data', /Uint16Array\|Float32Array, got Uint8Array/],
    [{ ...s.views, views: { pseudo: (s.views as any).views.pseudo, overlap: [{ dtype: 'float32', shape: [1] }] } }, 'views.overlap[0].data', /missing/],
    [{ ...s.reduce, data: Array.from((s.reduce as any).data) }, 'data', /Float32Array\|Float64Array, got an array/],
    [{ ...s['eval-done'], slices: [{ id: 'x', png: 'not png' }] }, 'slices[0].png', /must be Uint8Array/],
    [{ ...s.assign, checkpoint: { models: {} } }, 'checkpoint.iteration', /missing/],
    [{ ...s.step, shards: [{ shard: 0, labeledIds: [], unlabeledIds: [], plan: null }] }, 'shards[0].plan', /must be object, got null/],
  ];
  for (const [message, field, pattern] of cases) {
    const r = rejects(raw.pack(message), 'field', pattern);
    assert.equal(r.context.field, field);
  }
});

test('nullable fields accept null', () => {
  const s = sampleMessages();
  for (const message of [{ ...s.assign, checkpoint: null }, { ...s.views, views: { ...(s.views as any).views, overlap: null } }] as Message[]) {
    assert.deepStrictEqual(decodeMessage(encodeMessage(message), { maxBytes: MAX }), message);
  }
});
