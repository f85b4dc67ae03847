/**
 * The in-process transport of local mode: the same coordinator and worker code as a cluster,
 * wired through an event bus in one process. Messages are delivered asynchronously (never inside
 * `publish`), in order per subject, and by reference (no copy). Run state and checkpoints live
 * in memory or, with `storeDir`, in files so a local run can resume.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/io/index.js';
import type { Logger } from '../shared/log.js';
import { silentLogger } from '../shared/log.js';
import type { KeyValueStore, Message, MessageHandler, ObjectStore, Subscription, Transport } from '../shared/protocol/index.js';

export interface InProcessOptions {
  prefix?: string;
  /** Directory for the key-value and object stores (memory when absent). */
  storeDir?: string;
  logger?: Logger;
}

export class InProcessTransport implements Transport {
  readonly prefix: string;
  readonly kv: KeyValueStore;
  readonly objects: ObjectStore;
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly logger: Logger;
  private closed = false;

  constructor(options: InProcessOptions = {}) {
    this.prefix = options.prefix ?? 'tracoco';
    this.logger = options.logger ?? silentLogger;
    this.kv = options.storeDir ? new FileStore(join(options.storeDir, 'kv')) : new MemoryStore();
    this.objects = options.storeDir ? new FileStore(join(options.storeDir, 'objects')) : new MemoryStore();
  }

  async publish(subject: string, message: Message): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    const targets = [...(this.handlers.get(subject) ?? [])];
    // Deliver on a later macrotask: a publisher never re-enters its own handlers.
    setImmediate(() => {
      for (const handler of targets) {
        try {
          handler(message, subject);
        } catch (err) {
          this.logger.error('transport.handler_failed', { subject, type: message.type, error: (err as Error).message });
        }
      }
    });
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    let set = this.handlers.get(subject);
    if (!set) this.handlers.set(subject, (set = new Set()));
    set.add(handler);
    return { unsubscribe: () => set!.delete(handler) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}

class MemoryStore implements KeyValueStore, ObjectStore {
  private readonly entries = new Map<string, Uint8Array>();
  async get(key: string) {
    return this.entries.get(key) ?? null;
  }
  async put(key: string, value: Uint8Array) {
    this.entries.set(key, value);
  }
  async delete(key: string) {
    this.entries.delete(key);
  }
  async list() {
    return [...this.entries.keys()];
  }
}

/** One file per entry, written atomically; names are URI-encoded into file names. */
class FileStore implements KeyValueStore, ObjectStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  private path(name: string) {
    return join(this.dir, encodeURIComponent(name));
  }
  async get(name: string) {
    try {
      return new Uint8Array(readFileSync(this.path(name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
  async put(name: string, value: Uint8Array) {
    await writeFileAtomic(this.path(name), value);
  }
  async delete(name: string) {
    rmSync(this.path(name), { force: true });
  }
  async list() {
    return readdirSync(this.dir)
      .filter((f) => !f.startsWith('.'))
      .map((f) => decodeURIComponent(f));
  }
}
