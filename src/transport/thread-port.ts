/**
 * A transport across a `worker_threads` MessagePort, so local mode can run each worker in a
 * thread of its own (both cores busy) while the coordinator and the in-process bus stay on the
 * main thread. `servePort` answers one thread's calls on the main thread's transport and logger;
 * `PortTransport` is the thread's side. Messages are structured-cloned, in order (ports are FIFO).
 */
import type { MessagePort } from 'node:worker_threads';
import { errorMessage } from '../shared/errors.js';
import type { LogFields, Logger, LogLevel } from '../shared/log.js';
import type { KeyValueStore, Message, MessageHandler, ObjectStore, Subscription, Transport } from '../shared/protocol/index.js';

const STORE_METHODS = ['get', 'put', 'delete', 'list'] as const;
type StoreName = 'kv' | 'objects';
type StoreMethod = (typeof STORE_METHODS)[number];

type Call =
  | { op: 'publish'; subject: string; message: Message }
  | { op: 'subscribe'; sub: number; subject: string }
  | { op: 'unsubscribe'; sub: number }
  | { op: 'store'; store: StoreName; method: StoreMethod; args: unknown[] };

/** Thread → main thread. */
type Upstream = ({ kind: 'call'; id: number } & Call) | { kind: 'log'; level: LogLevel; event: string; fields?: LogFields };
/** Main thread → thread. */
type Downstream = { kind: 'reply'; id: number; value?: unknown; error?: string } | { kind: 'message'; sub: number; subject: string; message: Message };

/** Serves a thread's `PortTransport` and forwards its log lines to `logger`; returns the cleanup. */
export function servePort(port: MessagePort, transport: Transport, logger: Logger): () => void {
  const subs = new Map<number, Subscription>();
  const send = (m: Downstream) => {
    try {
      port.postMessage(m);
    } catch (err) {
      logger.error('thread_port.send_failed', { kind: m.kind, error: errorMessage(err) });
    }
  };
  const perform = async (call: Call): Promise<unknown> => {
    switch (call.op) {
      case 'publish':
        return transport.publish(call.subject, call.message);
      case 'subscribe':
        subs.set(call.sub, transport.subscribe(call.subject, (message, subject) => send({ kind: 'message', sub: call.sub, subject, message })));
        return undefined;
      case 'unsubscribe':
        subs.get(call.sub)?.unsubscribe();
        subs.delete(call.sub);
        return undefined;
      case 'store': {
        const store = transport[call.store] as unknown as Record<StoreMethod, (...args: unknown[]) => Promise<unknown>>;
        return store[call.method](...call.args);
      }
    }
  };
  port.on('message', (m: Upstream) => {
    if (m.kind === 'log') return logger[m.level](m.event, m.fields);
    // Each call starts synchronously in arrival order, so publishes keep their order.
    perform(m).then(
      (value) => send({ kind: 'reply', id: m.id, value }),
      (err: unknown) => send({ kind: 'reply', id: m.id, error: errorMessage(err) }),
    );
  });
  return () => {
    for (const sub of subs.values()) sub.unsubscribe();
    subs.clear();
    port.close();
  };
}

/** The thread's side of `servePort`: a `Transport` and a `Logger` whose lines the main thread writes. */
export class PortTransport implements Transport {
  readonly kv: KeyValueStore;
  readonly objects: ObjectStore;
  readonly logger: Logger;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Map<number, MessageHandler>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly port: MessagePort,
    readonly prefix: string,
  ) {
    port.on('message', (m: Downstream) => this.receive(m));
    this.kv = this.store('kv');
    this.objects = this.store('objects');
    this.logger = portLogger(port, {});
  }

  publish(subject: string, message: Message): Promise<void> {
    return this.call({ op: 'publish', subject, message }) as Promise<void>;
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    const sub = this.nextId++;
    this.handlers.set(sub, handler);
    void this.call({ op: 'subscribe', sub, subject }).catch(() => {});
    return {
      unsubscribe: () => {
        this.handlers.delete(sub);
        if (!this.closed) void this.call({ op: 'unsubscribe', sub }).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    for (const p of this.pending.values()) p.reject(new Error('transport closed'));
    this.pending.clear();
    this.port.close();
  }

  private store(store: StoreName): KeyValueStore & ObjectStore {
    const method = (m: StoreMethod) => (...args: unknown[]) => this.call({ op: 'store', store, method: m, args });
    return Object.fromEntries(STORE_METHODS.map((m) => [m, method(m)])) as unknown as KeyValueStore & ObjectStore;
  }

  private call(call: Call): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ kind: 'call', id, ...call } satisfies Upstream);
    });
  }

  private receive(m: Downstream): void {
    if (m.kind === 'message') {
      // Each delivery is a macrotask of its own, as on the in-process bus: never inside publish.
      const handler = this.handlers.get(m.sub);
      handler?.(m.message, m.subject);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.value);
  }
}

function portLogger(port: MessagePort, bound: LogFields): Logger {
  const emit = (level: LogLevel) => (event: string, fields?: LogFields) => {
    try {
      port.postMessage({ kind: 'log', level, event, fields: { ...bound, ...fields } } satisfies Upstream);
    } catch {
      // A field that cannot be cloned (or a closed port) must not fail the step that logs.
    }
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => portLogger(port, { ...bound, ...fields }) };
}
