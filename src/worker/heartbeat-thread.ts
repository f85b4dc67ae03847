/**
 * The heartbeat thread of a cluster worker (see heartbeat.ts): its own connection, one
 * `heartbeat` every period, and `register` while the worker is unassigned so a (re)started
 * coordinator finds it. A connection that cannot be opened (the server is down) is retried every
 * period; the thread never takes the worker process down.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../shared/log.js';
import { errorMessage } from '../shared/errors.js';
import { messages, subjects, type Transport, type TransportModule } from '../shared/protocol/index.js';
import { readRunId, SLOT, STATE_CODES, type HeartbeatThreadConfig } from './heartbeat.js';

const config = workerData as HeartbeatThreadConfig;
const view = new Int32Array(config.shared, 0, 3);
const logger = createLogger({ component: 'heartbeat', worker: config.workerId });
const s = subjects(config.prefix);
let transport: Transport | null = null;
let connecting: Promise<void> | null = null;
let stopped = false;

async function connect(): Promise<void> {
  const { connectTransport } = (await import(config.transport.module)) as TransportModule;
  const opened = await connectTransport(config.transport.options, { name: `tracoco-heartbeat-${config.workerId}`, prefix: config.prefix, logger });
  if (stopped) await opened.close();
  else transport = opened;
}

async function beat(): Promise<void> {
  if (!transport) {
    connecting ??= connect().finally(() => (connecting = null));
    await connecting;
    if (!transport) return;
  }
  const state = STATE_CODES[Atomics.load(view, SLOT.state)] ?? 'idle';
  const epoch = Atomics.load(view, SLOT.epoch);
  if (epoch < 0) await transport.publish(s.register, messages.register({ workerId: config.workerId, resources: config.resources }));
  await transport.publish(s.heartbeat, messages.heartbeat({ workerId: config.workerId, runId: readRunId(config.shared), state, epoch }));
}

const beatLogged = () => beat().catch((err) => logger.warn('heartbeat.failed', { error: errorMessage(err) }));
const timer = setInterval(beatLogged, config.periodMs);
void beatLogged();
parentPort?.on('message', (m) => {
  if (m !== 'stop') return;
  stopped = true;
  clearInterval(timer);
  void (transport?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
