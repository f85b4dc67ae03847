/**
 * The one transport interface of tracoco (GUIDE §6), with a NATS implementation for clusters
 * and an in-process one for local mode: subject-based publish/subscribe for messages, a
 * key-value store for run state, and an object store for checkpoints and large volumes.
 */
import type { Logger } from '../log.js';
import type { Message } from './messages.js';

export interface Subscription {
  unsubscribe(): void;
}

export type MessageHandler = (message: Message, subject: string) => void;

export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface ObjectStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** null when no object has that name. */
  get(name: string): Promise<Uint8Array | null>;
  delete(name: string): Promise<void>;
  list(): Promise<string[]>;
}

export interface Transport {
  /** Subject prefix of this cluster (several runs can share one server). */
  readonly prefix: string;
  publish(subject: string, message: Message): Promise<void>;
  /** Handlers run in arrival order per subject; a throwing handler is logged, never fatal. */
  subscribe(subject: string, handler: MessageHandler): Subscription;
  readonly kv: KeyValueStore;
  readonly objects: ObjectStore;
  /** Runs `handler` after the connection came back from an outage (messages may have been lost). */
  onReconnect?(handler: () => void): Subscription;
  close(): Promise<void>;
}

/**
 * How another thread opens its own transport: the URL of a module exporting `connectTransport`
 * (a `TransportModule`) and options it receives by structured clone. Connections and NATS
 * authenticators cannot cross threads, so the module derives them again from `options`.
 */
export interface TransportRecipe {
  module: string;
  options: unknown;
}

export interface TransportModule {
  connectTransport(options: unknown, context: { name: string; prefix: string; logger: Logger }): Promise<Transport>;
}
