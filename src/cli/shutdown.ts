/**
 * Graceful shutdown of a CLI process on SIGTERM / SIGINT: log, run `close` (leave NATS, stop the
 * heartbeat thread, close /metrics), and exit — within `deadlineMs` even when a close hangs (a NATS
 * server that is gone). A second signal exits at once. A step in progress is abandoned: run state
 * is durable at the last checkpoint, which a restarted coordinator resumes from.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../shared/log.js';

/** Bound on the whole shutdown; Kubernetes' terminationGracePeriodSeconds leaves room above it. */
export const SHUTDOWN_DEADLINE_MS = 4000;

export function exitOnSignals(logger: Logger, close: () => Promise<void>, exitCode: number, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(exitCode);
    stopping = true;
    const started = performance.now();
    logger.info('shutdown.start', { signal });
    const deadline = setTimeout(() => {
      logger.warn('shutdown.deadline', { ms: deadlineMs });
      process.exit(exitCode);
    }, deadlineMs);
    close()
      .catch((err: unknown) => logger.warn('shutdown.close_failed', { error: (err as Error)?.message ?? String(err) }))
      .finally(() => {
        clearTimeout(deadline);
        logger.info('shutdown.done', { ms: Math.round(performance.now() - started) });
        process.exit(exitCode);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
