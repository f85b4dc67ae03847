/**
 * A real `nats-server -js` for integration tests (the launcher `tracoco chaos` uses too). Tests
 * skip with `skipUnlessBinary('nats-server')` (test/support/env.ts).
 */
export { startNatsServer, type NatsServer, type NatsServerOptions } from '../../src/cli/cluster/nats-server.js';
