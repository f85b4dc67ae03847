/** The two transports (GUIDE §6): NATS for clusters, in-process for local mode. */
export { InProcessTransport, type InProcessOptions } from './in-process.js';
export { NatsTransport, connectNatsTransport, bucketNames, kvKey, DEFAULT_LIMITS, DEFAULT_RETRY, type NatsTransportOptions, type RetryPolicy } from './nats.js';
export { NATS_SETTINGS, natsAuthKind, natsOptionsFrom, type NatsAuthKind, type NatsFlags } from './nats-options.js';
