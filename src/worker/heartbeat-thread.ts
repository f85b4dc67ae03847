/**
 * The heartbeat thread of a cluster worker (see heartbeat.ts): its own connection, one
 * `heartbeat` every period, and `register` while the worker is unassigned so a (re)started
 * coordinator finds it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../shared/log.js';
import { messages, subjects, type TransportModule } from '../shared/protocol/index.js';
import { SLOT, STATE_CODES, type HeartbeatThreadConfig } from './heartbeat.js';

const config = workerData as HeartbeatThreadConfig;
const view = new Int32Array(config.shared);
const logger = createLogger({ component: 'heartbeat', worker: config.workerId });

const { connectTransport } = (await import(config.transport.module)) as TransportModule;
const transport = await connectTransport(config.transport.options, { name: `tracoco-heartbeat-${config.workerId}`, prefix: config.prefix, logger });
const s = subjects(config.prefix);

async function beat(): Promise<void> {
  const state = STATE_CODES[Atomics.load(view, SLOT.state)] ?? 'idle';
  const epoch = Atomics.load(view, SLOT.epoch);
  if (epoch < 0) {
    await transport.publish(s.register, messages.register({ workerId: config.workerId, resources: config.resources }));
  }
  await transport.publish(s.heartbeat, messages.heartbeat({ workerId: config.workerId, state, epoch }));
}

const timer = setInterval(() => beat().catch((err) => logger.warn('heartbeat.failed', { error: (err as Error).message })), config.periodMs);
await beat().catch(() => {});
parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    void transport.close().finally(() => process.exit(0));
  }
});
