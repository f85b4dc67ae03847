/**
 * The NATS transport of cluster mode (GUIDE §6): msgpackr frames over core NATS subjects, chunked
 * above the server's max_payload; run state in a JetStream KV bucket and checkpoints in a
 * JetStream Object Store bucket. The client reconnects forever; store calls are retried a bounded
 * number of times while JetStream comes back after a server restart. A malformed frame is logged,
 * counted and dropped, never thrown out of a subscription.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, StorageType, type ConnectionOptions, type KV, type NatsConnection, type ObjectStore as NatsObjects, type Status } from 'nats';
import { TracocoError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { silentLogger } from '../shared/log.js';
import { Reassembler, SENDER_ID_BYTES, isChunkFrame, parseChunkFrame, splitFrame, type ReassemblyLimits } from '../shared/protocol/chunking.js';
import { ProtocolRejection, decodeMessage, encodeMessage } from '../shared/protocol/codec.js';
import type { KeyValueStore, Message, MessageHandler, ObjectStore, Subscription, Transport } from '../shared/protocol/index.js';
import { natsAuthKind } from './nats-options.js';

export interface RetryPolicy {
  /** Tries per store call, the first included. */
  attempts: number;
  /** Wait before the second try; doubles per try up to `maxDelayMs`. */
  delayMs: number;
  maxDelayMs: number;
  /** One try that takes longer counts as a transient failure. */
  attemptTimeoutMs: number;
}

export interface NatsTransportOptions {
  /** Servers, credentials and TLS, e.g. from `natsOptionsFrom`. */
  connection: ConnectionOptions;
  /** Subject prefix; also names the buckets (`bucketNames`). */
  prefix?: string;
  logger?: Logger;
  /** Called for every dropped frame, after it was logged and counted. */
  onRejected?: (rejection: ProtocolRejection, subject: string) => void;
  limits?: Partial<ReassemblyLimits>;
  retry?: Partial<RetryPolicy>;
  /** JetStream API and ack timeout; a call lost in a reconnect fails (and is retried) after it. */
  apiTimeoutMs?: number;
  /** Client name in the server's monitoring. */
  name?: string;
}

export const DEFAULT_LIMITS: ReassemblyLimits = {
  maxMessageBytes: 256 * 2 ** 20,
  maxPendingBytes: 1024 * 2 ** 20,
  maxPendingMessages: 64,
  timeoutMs: 60_000,
};
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, delayMs: 250, maxDelayMs: 2000, attemptTimeoutMs: 60_000 };
/** Object-store chunks: large enough for few round trips, always within max_payload. */
const MAX_OBJECT_CHUNK = 2 ** 20;
const DRAIN_TIMEOUT_MS = 10_000;

/** JetStream bucket names for a prefix (bucket names allow only letters, digits, '-' and '_'). */
export function bucketNames(prefix: string): { kv: string; objects: string } {
  const safe = prefix.replace(/[^-\w]/g, '_');
  return { kv: `tracoco_${safe}`, objects: `tracoco_${safe}_objects` };
}

export async function connectNatsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  const logger = options.logger ?? silentLogger;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const servers = ([] as string[]).concat(options.connection.servers ?? []).join(',') || 'the default server';
  let nc: NatsConnection;
  try {
    nc = await connect({ reconnectTimeWait: 1000, name: 'tracoco', ...options.connection, maxReconnectAttempts: -1 });
  } catch (err) {
    throw connectError(err, servers, natsAuthKind(options.connection));
  }
  try {
    if (!nc.info?.jetstream) throw new Error('the server does not offer JetStream');
    const prefix = options.prefix ?? 'tracoco';
    const names = bucketNames(prefix);
    const js = nc.jetstream({ timeout: options.apiTimeoutMs ?? 5000 });
    const call = retrying(retry, logger);
    const kv = await call(`opening KV bucket ${names.kv}`, () => js.views.kv(names.kv, { history: 1, storage: StorageType.File }));
    const objects = await call(`opening object store ${names.objects}`, () => js.views.os(names.objects, { storage: StorageType.File }));
    logger.info('nats.connected', { servers, server: nc.getServer(), maxPayload: nc.info?.max_payload, auth: natsAuthKind(options.connection), kv: names.kv, objects: names.objects });
    return new NatsTransport(nc, prefix, new NatsKeyValueStore(kv, call), new NatsObjectStore(objects, call, () => maxPayloadOf(nc)), logger, options);
  } catch (err) {
    await nc.close().catch(() => {});
    if (err instanceof TracocoError) throw err;
    throw new TracocoError(`JetStream is not usable on ${servers} (start nats-server with -js): ${errorMessage(err)}`, { flag: '--nats' }, { cause: err });
  }
}

export class NatsTransport implements Transport {
  /** Frames dropped as malformed, oversized or incomplete since connecting. */
  rejectedCount = 0;
  /** Bytes handed to the server by `publish`, chunk headers included. */
  bytesPublished = 0;
  private readonly sender = randomBytes(SENDER_ID_BYTES);
  private sequence = 0;
  private readonly limits: ReassemblyLimits;
  private readonly reassemblers = new Set<Reassembler>();
  private readonly expiryTimer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    readonly prefix: string,
    readonly kv: KeyValueStore,
    readonly objects: ObjectStore,
    private readonly logger: Logger,
    private readonly options: Pick<NatsTransportOptions, 'limits' | 'onRejected'>,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.expiryTimer = setInterval(() => this.expireIncomplete(), Math.max(50, Math.min(1000, this.limits.timeoutMs / 4)));
    this.expiryTimer.unref();
    this.logStatus().catch(() => {});
    void nc.closed().then((err) => {
      if (err && !this.closing) logger.error('nats.closed', { error: errorMessage(err) });
    });
  }

  /** The server's max_payload (it may change with a reconnect to another server). */
  get maxPayload(): number {
    return maxPayloadOf(this.nc);
  }

  async publish(subject: string, message: Message): Promise<void> {
    if (this.closing) throw new TracocoError('transport is closed', { message: message.type });
    const frame = encodeMessage(message);
    // Receivers drop anything above this limit: fail here, where the cause is.
    if (frame.byteLength > this.limits.maxMessageBytes) {
      throw new TracocoError(`encoded size ${frame.byteLength} bytes exceeds the message limit of ${this.limits.maxMessageBytes}`, { message: message.type });
    }
    const frames = splitFrame(frame, this.maxPayload, this.sender, this.sequence);
    this.sequence = (this.sequence + 1) >>> 0;
    for (const part of frames) {
      this.nc.publish(subject, part);
      this.bytesPublished += part.byteLength;
    }
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    if (this.closing) throw new TracocoError('transport is closed', { message: subject });
    const reassembler = new Reassembler(this.limits);
    this.reassemblers.add(reassembler);
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) this.logger.warn('transport.subscription_error', { subject, error: err.message });
        else this.receive(msg.data, msg.subject, reassembler, handler);
      },
    });
    return {
      unsubscribe: () => {
        this.reassemblers.delete(reassembler);
        reassembler.clear();
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  /** Resolves once the server has processed everything sent so far (subscriptions included). */
  async flush(): Promise<void> {
    await this.nc.flush();
  }

  /** Flushes what was published, lets subscriptions finish what they hold, then disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.expiryTimer);
      try {
        await withTimeout(this.nc.drain(), DRAIN_TIMEOUT_MS, 'draining the NATS connection');
      } catch (err) {
        if (!this.nc.isClosed()) this.logger.warn('nats.drain_failed', { error: errorMessage(err) });
        await this.nc.close().catch(() => {});
      }
      for (const r of this.reassemblers) r.clear();
      this.reassemblers.clear();
    })();
    return this.closing;
  }

  private receive(data: Uint8Array, subject: string, reassembler: Reassembler, handler: MessageHandler): void {
    let message: Message;
    try {
      const frame = isChunkFrame(data) ? reassembler.accept(parseChunkFrame(data, subject), subject) : data;
      if (!frame) return;
      message = decodeMessage(frame, { maxBytes: this.limits.maxMessageBytes, subject });
    } catch (err) {
      const rejection = err instanceof ProtocolRejection ? err : new ProtocolRejection('malformed', errorMessage(err), { message: subject });
      this.reject(rejection, subject);
      return;
    }
    try {
      const result: unknown = handler(message, subject);
      // An async handler's failure is still the handler's: log it, never an unhandled rejection.
      if (result instanceof Promise) result.catch((err: unknown) => this.handlerFailed(err, subject, message.type));
    } catch (err) {
      this.handlerFailed(err, subject, message.type);
    }
  }

  private reject(rejection: ProtocolRejection, subject: string): void {
    this.rejectedCount++;
    this.logger.warn('transport.message_rejected', { subject, reason: rejection.reason, error: rejection.message, rejected: this.rejectedCount });
    try {
      this.options.onRejected?.(rejection, subject);
    } catch (err) {
      this.logger.error('transport.on_rejected_failed', { subject, error: errorMessage(err) });
    }
  }

  private handlerFailed(err: unknown, subject: string, type: string): void {
    this.logger.error('transport.handler_failed', { subject, type, error: errorMessage(err) });
  }

  private expireIncomplete(): void {
    for (const reassembler of this.reassemblers) {
      for (const rejection of reassembler.expire()) this.reject(rejection, rejection.context.message ?? '');
    }
  }

  private readonly reconnectHandlers = new Set<() => void>();

  /** `handler` runs after every reconnect (messages in flight during the outage may be lost). */
  onReconnect(handler: () => void): Subscription {
    this.reconnectHandlers.add(handler);
    return { unsubscribe: () => this.reconnectHandlers.delete(handler) };
  }

  private async logStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      logStatusEvent(this.logger, s);
      if (s.type === 'reconnect') {
        for (const h of this.reconnectHandlers) {
          try {
            h();
          } catch (err) {
            this.logger.error('nats.reconnect_handler_failed', { error: errorMessage(err) });
          }
        }
      }
    }
  }
}

function logStatusEvent(logger: Logger, s: Status): void {
  const data = typeof s.data === 'object' ? s.data : String(s.data);
  switch (s.type) {
    case 'disconnect':
      return logger.warn('nats.disconnected', { server: data });
    case 'reconnect':
      return logger.info('nats.reconnected', { server: data });
    case 'error':
      return logger.warn('nats.error', { error: data });
    case 'ldm':
      return logger.warn('nats.lame_duck', { server: data });
    default:
      return logger.debug('nats.status', { type: s.type, data });
  }
}

/** Runs a store call with bounded retries on transient failures (server restarting, JetStream recovering). */
type Retrying = <T>(what: string, op: () => Promise<T>) => Promise<T>;

function retrying(policy: RetryPolicy, logger: Logger): Retrying {
  return async (what, op) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(op(), policy.attemptTimeoutMs, what);
      } catch (err) {
        if (attempt >= policy.attempts || !isTransient(err)) {
          throw new TracocoError(`${what} failed${attempt > 1 ? ` after ${attempt} attempts` : ''}: ${errorMessage(err)}`, {}, { cause: err });
        }
        const delay = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (attempt - 1));
        logger.warn('nats.store_retry', { operation: what, attempt, delayMs: delay, error: errorMessage(err) });
        await sleep(delay);
      }
    }
  };
}

const TRANSIENT_CODES = new Set(['503', 'TIMEOUT', 'DISCONNECT', 'CONNECTION_REFUSED']);
const TRANSIENT_TEXT = /timeout|timed out|no responders|temporarily unavailable|not available|disconnect|stream not found|jetstream not enabled/i;

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && TRANSIENT_CODES.has(code)) || TRANSIENT_TEXT.test(errorMessage(err));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function maxPayloadOf(nc: NatsConnection): number {
  return nc.info?.max_payload ?? 2 ** 20;
}

function connectError(err: unknown, servers: string, auth: string): TracocoError {
  const code = (err as { code?: unknown } | null)?.code;
  const reason =
    code === 'AUTHORIZATION_VIOLATION' || code === 'BAD_AUTHENTICATION' || code === 'AUTHENTICATION_EXPIRED'
      ? `the NATS server at ${servers} rejected the credentials (${auth === 'none' ? 'none given' : auth}): ${errorMessage(err)}`
      : `cannot connect to NATS at ${servers}: ${errorMessage(err)}`;
  return new TracocoError(reason, { flag: '--nats' }, { cause: err });
}

/**
 * KV keys allow letters, digits and `-/_=.` (no leading or trailing dot); any other key is stored
 * under `_x.<base64url>` so the interface accepts every string, like the in-process store.
 */
export function kvKey(key: string): string {
  if (key === '') throw new TracocoError('a key must not be empty', { field: 'key' });
  const plain = /^[-/=.\w]+$/.test(key) && !key.startsWith('.') && !key.endsWith('.') && !key.startsWith('_x.');
  return plain ? key : `_x.${Buffer.from(key).toString('base64url')}`;
}

class NatsKeyValueStore implements KeyValueStore {
  constructor(
    private readonly kv: KV,
    private readonly call: Retrying,
  ) {}
  async get(key: string): Promise<Uint8Array | null> {
    const entry = await this.call(`kv get '${key}'`, () => this.kv.get(kvKey(key)));
    // A plain view, not the client's Buffer, like the in-process store returns.
    return entry && entry.operation === 'PUT' ? new Uint8Array(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength) : null;
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    await this.call(`kv put '${key}'`, () => this.kv.put(kvKey(key), value));
  }
  async delete(key: string): Promise<void> {
    await this.call(`kv delete '${key}'`, () => this.kv.delete(kvKey(key)));
  }
}

class NatsObjectStore implements ObjectStore {
  constructor(
    private readonly os: NatsObjects,
    private readonly call: Retrying,
    private readonly maxPayload: () => number,
  ) {}
  async put(name: string, data: Uint8Array): Promise<void> {
    // Chunks must fit the server's max_payload; 1 MiB keeps a 30 MB checkpoint to ~30 publishes.
    const chunk = Math.max(1024, Math.min(MAX_OBJECT_CHUNK, this.maxPayload() - 1024));
    await this.call(`object put '${name}'`, () => this.os.putBlob({ name, options: { max_chunk_size: chunk } }, data));
  }
  async get(name: string): Promise<Uint8Array | null> {
    return this.call(`object get '${name}'`, () => this.os.getBlob(name));
  }
  async delete(name: string): Promise<void> {
    await this.call(`object delete '${name}'`, () => this.os.delete(name));
  }
  async list(): Promise<string[]> {
    const infos = await this.call('object list', () => this.os.list());
    return infos.filter((info) => !info.deleted).map((info) => info.name);
  }
}
