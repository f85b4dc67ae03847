/** Starts the metrics registry and its `/metrics` server for a CLI process. */
import type { Logger } from '../shared/log.js';
import type { MetricsComponent } from '../shared/telemetry/metrics.js';

export async function startTelemetry(component: MetricsComponent, backend: string, port: number, logger: Logger) {
  const { createMetrics, serveMetrics } = await import('../shared/telemetry/index.js');
  const metrics = createMetrics(component, backend);
  const server = await serveMetrics(metrics.registry, port);
  logger.info('metrics.listening', { port: server.port, path: '/metrics' });
  return { metrics, port: server.port, close: () => server.close() };
}
