/**
 * The wire codec (GUIDE §6): a message is one msgpackr frame. Decoding is defensive because
 * frames come from the network: the byte size is checked before any parsing, then the version,
 * the type and the fields the type requires. Anything wrong is a `ProtocolRejection`, which a
 * transport logs, counts and drops; a bad frame never takes a process down.
 */
import { Packr } from 'msgpackr';
import { TracocoError, type ErrorContext } from '../errors.js';
import { configSchema } from '../config/schema.js';
import { LOSS_TERMS } from '../names.js';
import { PROTOCOL_VERSION, type Message, type MessageType } from './messages.js';

export type RejectionReason =
  | 'oversized' // frame or announced message larger than the receiver accepts
  | 'malformed' // not MessagePack, or not an object
  | 'version' // another protocol version
  | 'type' // missing or unknown message type
  | 'field' // a required field is missing or of the wrong kind
  | 'chunk' // a chunk header that cannot belong to a valid message
  | 'expired' // a chunked message that never completed
  | 'overloaded'; // reassembly memory limits reached

/** A frame the receiver refuses; `context.message` names the message type, or the subject. */
export class ProtocolRejection extends TracocoError {
  readonly reason: RejectionReason;
  constructor(reason: RejectionReason, detail: string, context: ErrorContext = {}) {
    super(detail, context);
    this.name = 'ProtocolRejection';
    this.reason = reason;
  }
}

// `moreTypes` writes typed arrays as msgpackr's typed-array extension, so a Float32Array comes
// back as a Float32Array (copied once on decode: the frame offset is not aligned for a view).
// Maps instead of records keep frames readable by any MessagePack decoder.
const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true });

export function encodeMessage(message: Message): Uint8Array {
  return packr.pack(message);
}

export interface DecodeOptions {
  /** Frames above this size are rejected before parsing. */
  maxBytes: number;
  /** Names the frame in rejections when its type is unknown. */
  subject?: string;
}

export function decodeMessage(bytes: Uint8Array, options: DecodeOptions): Message {
  const where: ErrorContext = options.subject ? { message: options.subject } : {};
  if (bytes.byteLength > options.maxBytes) {
    throw new ProtocolRejection('oversized', `frame of ${bytes.byteLength} bytes exceeds the limit of ${options.maxBytes}`, where);
  }
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    throw new ProtocolRejection('malformed', `not a MessagePack frame (${(err as Error).message})`, where);
  }
  if (!isPlainObject(value)) throw new ProtocolRejection('malformed', `frame holds ${describe(value)}, not a message object`, where);
  if (value.v !== PROTOCOL_VERSION) {
    throw new ProtocolRejection('version', `protocol version ${String(value.v)} is not supported (expected ${PROTOCOL_VERSION})`, where);
  }
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGE_FIELDS, type)) {
    throw new ProtocolRejection('type', typeof type === 'string' ? `unknown message type '${type}'` : 'missing message type', where);
  }
  validateFields(value, MESSAGE_FIELDS[type as MessageType], type);
  return value as unknown as Message;
}

/** What a field must hold; a list of strings means one of those literals. */
type Kind = keyof typeof KIND_CHECKS | readonly string[];

const isTyped = (ctor: { new (n: number): ArrayBufferView }) => (v: unknown) => v instanceof ctor;
const KIND_CHECKS = {
  string: (v: unknown) => typeof v === 'string',
  number: (v: unknown) => typeof v === 'number',
  boolean: (v: unknown) => typeof v === 'boolean',
  role: (v: unknown) => v === 1 || v === 2,
  object: (v: unknown) => isPlainObject(v),
  'object|null': (v: unknown) => v === null || isPlainObject(v),
  // A run config travels resolved: it must pass the config schema, not merely be an object.
  config: (v: unknown) => isPlainObject(v) && configSchema.safeParse(v).success,
  'config|null': (v: unknown) => v === null || (isPlainObject(v) && configSchema.safeParse(v).success),
  'string|null': (v: unknown) => v === null || typeof v === 'string',
  array: (v: unknown) => Array.isArray(v),
  'array|null': (v: unknown) => v === null || Array.isArray(v),
  Float32Array: isTyped(Float32Array),
  Uint8Array: isTyped(Uint8Array),
  'Uint8Array|null': (v: unknown) => v === null || v instanceof Uint8Array,
  'Uint16Array|Float32Array': (v: unknown) => v instanceof Uint16Array || v instanceof Float32Array,
  'Float32Array|Float64Array': (v: unknown) => v instanceof Float32Array || v instanceof Float64Array,
} as const;

/**
 * Required fields per message type. A path walks nested objects with '.', and `name[]` applies
 * the rest of the path to every element. A path whose parent is null or absent is skipped:
 * the parent's own entry says whether that is allowed.
 */
type FieldTable = Record<string, Kind>;
const metrics = (p: string): FieldTable => ({ [`${p}dice`]: 'number', [`${p}jaccard`]: 'number', [`${p}hd95`]: 'number', [`${p}asd`]: 'number' });
const packed = (p: string): FieldTable => ({ [`${p}dtype`]: ['uint16', 'float32'], [`${p}shape`]: 'array', [`${p}data`]: 'Uint16Array|Float32Array' });
const fromWorker: FieldTable = { workerId: 'string', runId: 'string' };
const scoped: FieldTable = { runId: 'string' };

const MESSAGE_FIELDS: Record<MessageType, FieldTable> = {
  register: { workerId: 'string', resources: 'object', 'resources.device': ['gpu', 'cpu'], 'resources.backend': 'string' },
  heartbeat: { ...fromWorker, state: ['idle', 'assigned', 'training', 'evaluating'], epoch: 'number' },
  'step-done': {
    ...fromWorker, epoch: 'number', iteration: 'number', role: 'role', terms: 'object',
    ...Object.fromEntries(LOSS_TERMS.map((t) => [`terms.${t}`, 'number' as const])),
    confidentRatio: 'object', 'confidentRatio.positive': 'number', 'confidentRatio.negative': 'number', phases: 'object', exchangeBytes: 'number',
  },
  'eval-done': {
    ...fromWorker, evalId: 'string', role: 'role', iteration: 'number', mean: 'object', ...metrics('mean.'),
    cases: 'array', 'cases[].id': 'string', ...metrics('cases[].'),
    'cases[].classes': 'array', 'cases[].classes[].class': 'number', ...metrics('cases[].classes[].'), slices: 'array', 'slices[].id': 'string', 'slices[].png': 'Uint8Array',
  },
  'checkpoint-done': { ...fromWorker, epoch: 'number', role: 'role', iteration: 'number', weights: 'string', optimizer: 'string' },
  'worker-error': { ...fromWorker, epoch: 'number', error: 'string' },
  assign: {
    ...scoped,
    epoch: 'number', role: 'role', pair: 'number', peer: 'string', replicas: 'array', 'replicas[]': 'string',
    config: 'config', checkpoint: 'object|null', 'checkpoint.iteration': 'number', 'checkpoint.models': 'object',
  },
  cases: {
    ...scoped,
    epoch: 'number', cases: 'array', 'cases[].id': 'string', 'cases[].shape': 'array',
    'cases[].image': 'Float32Array', 'cases[].label': 'Uint8Array|null', stored: 'array', 'stored[]': 'string',
  },
  step: {
    ...scoped,
    epoch: 'number', iteration: 'number', lr: 'number', consistencyWeight: 'number', shards: 'array', 'shards[].shard': 'number',
    'shards[].labeledIds': 'array', 'shards[].unlabeledIds': 'array', 'shards[].plan': 'object',
  },
  evaluate: {
    ...scoped,
    evalId: 'string', epoch: 'number', role: 'role', iteration: 'number', caseIds: 'array', 'caseIds[]': 'string',
    weights: 'string|null', config: 'config|null',
  },
  checkpoint: { ...scoped, epoch: 'number', iteration: 'number' },
  release: { ...scoped, epoch: 'number', shutdown: 'boolean' },
  views: {
    ...scoped,
    epoch: 'number', iteration: 'number', views: 'object', 'views.pseudo': 'object', ...packed('views.pseudo.'),
    'views.overlap': 'array|null', 'views.overlap[]': 'object', ...packed('views.overlap[].'),
  },
  reduce: {
    ...scoped,
    epoch: 'number', iteration: 'number', phase: ['stats', 'grads'], step: 'number',
    data: 'Float32Array|Float64Array',
  },
};

/** Message types the codec knows, for tests and diagnostics. */
export const MESSAGE_TYPES = Object.keys(MESSAGE_FIELDS) as MessageType[];

function validateFields(message: Record<string, unknown>, table: FieldTable, type: string): void {
  for (const [path, kind] of Object.entries(table)) {
    for (const [at, value] of resolvePath(message, path.split('.'), '')) {
      const ok = typeof kind === 'string' ? KIND_CHECKS[kind](value) : typeof value === 'string' && kind.includes(value);
      if (ok) continue;
      const expected = typeof kind === 'string' ? kind : `one of ${kind.join(', ')}`;
      const got = value === undefined ? 'missing' : `got ${describe(value)}`;
      throw new ProtocolRejection('field', `must be ${expected}, ${got}`, { message: type, field: at });
    }
  }
}

/** The values a field path reaches, each with its concrete path (`cases[2].image`). */
function resolvePath(value: unknown, segments: string[], at: string): [string, unknown][] {
  if (segments.length === 0) return [[at, value]];
  if (!isPlainObject(value)) return [];
  const [head, ...rest] = segments as [string, ...string[]];
  const each = head.endsWith('[]');
  const name = each ? head.slice(0, -2) : head;
  const child = Object.hasOwn(value, name) ? value[name] : undefined;
  const childAt = at ? `${at}.${name}` : name;
  if (!each) return resolvePath(child, rest, childAt);
  if (!Array.isArray(child)) return [];
  return child.flatMap((element, i) => (rest.length === 0 ? [[`${childAt}[${i}]`, element] as [string, unknown]] : resolvePath(element, rest, `${childAt}[${i}]`)));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
