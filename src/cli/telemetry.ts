/** The metrics registry of a CLI process and its `/metrics` endpoint (`--metrics-port`; port 0 picks a free one). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../shared/log.js';
import type { MetricsComponent } from '../shared/telemetry/metrics.js';

export async function startTelemetry(component: MetricsComponent, backend: string, port: number, logger: Logger) {
  const { createMetrics } = await import('../shared/telemetry/index.js');
  const metrics = createMetrics(component, backend);
  const server = await serveMetrics(metrics.registry, port);
  logger.info('metrics.listening', { port: server.port, path: '/metrics' });
  return { metrics, port: server.port, close: () => server.close() };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(registry: Registry, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics' && !req.url?.startsWith('/metrics?')) {
      res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(req.url === '/' ? 'tracoco: metrics at /metrics\n' : 'not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
