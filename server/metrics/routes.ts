/**
 * GET /metrics: Prometheus text format. Open to loopback clients only, unless a token is set
 * (`iotcloud up --metrics-token-file`), then to any client that sends it as a bearer token.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { isLoopback } from '../config.ts';
import { forbidden, unauthorized } from '../api/api-error.ts';
import type { ServerMetrics } from './metrics.ts';

export interface MetricsRouteOptions {
  metrics: ServerMetrics;
  /** When set, /metrics asks for `Authorization: Bearer <token>` from any address. */
  token?: string;
}

export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized('/metrics needs the token from --metrics-token-file: Authorization: Bearer <token>');
    } else if (!isLoopback(request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '')) {
      throw forbidden('/metrics is open to loopback clients only; start the server with --metrics-token-file to let a scraper in with a token');
    }
    return reply.header('content-type', options.metrics.contentType).header('cache-control', 'no-store').send(await options.metrics.text());
  });
}
