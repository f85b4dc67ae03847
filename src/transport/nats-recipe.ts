/**
 * A `TransportRecipe` for NATS: a thread (the worker's heartbeat) re-derives the connection options
 * from the same flags and NATS_* variables the process was started with.
 */
import type { Logger } from '../shared/log.js';
import type { Transport, TransportRecipe } from '../shared/protocol/index.js';
import { connectNatsTransport } from './nats.js';
import { NATS_SETTINGS, natsOptionsFrom, type NatsFlags } from './nats-options.js';

interface NatsRecipeOptions {
  flags: NatsFlags;
  env: Record<string, string | undefined>;
}

export function natsRecipe(flags: NatsFlags, env: Record<string, string | undefined>): TransportRecipe {
  const strings = Object.fromEntries(Object.entries(flags).filter(([k, v]) => k in NATS_SETTINGS && typeof v === 'string'));
  const natsEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('NATS_')));
  return { module: import.meta.url, options: { flags: strings, env: natsEnv } satisfies NatsRecipeOptions };
}

/** The `TransportModule` entry point. */
export async function connectTransport(options: unknown, context: { name: string; prefix: string; logger: Logger }): Promise<Transport> {
  const { flags, env } = options as NatsRecipeOptions;
  return connectNatsTransport({ connection: { ...natsOptionsFrom(flags, env), name: context.name }, prefix: context.prefix, logger: context.logger });
}
