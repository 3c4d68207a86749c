/**
 * GET /api/v1/live: the console's live channel as Server-Sent Events. Authenticated like the rest
 * of the API (session cookie or bearer token); carries only the caller's own devices. Events:
 * `snapshot` {devices}, `presence` [[deviceId, online, atMs], ...], `changes` [{kind, device}],
 * `metrics` {connected, commandsPerSecond, p50Ms, p99Ms, ...} every second.
 */
import type { FastifyInstance } from 'fastify';
import type { Accounts } from '../accounts.ts';
import { requestToken, requireUser } from '../api/auth-routes.ts';
import { LiveRefusal, type LiveConnection, type LiveHub } from './hub.ts';

/** How often an open stream re-checks its session (a logout or expiry ends it). */
const SESSION_RECHECK_MS = 30_000;

export function registerLiveRoutes(app: FastifyInstance, hub: LiveHub, accounts: Accounts): void {
  app.get('/api/v1/live', { schema: { tags: ['console'], summary: 'Live device states and command metrics of your devices (text/event-stream)' } }, async (request, reply) => {
    const userId = await requireUser(request, accounts);
    const token = requestToken(request);
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    let connection: LiveConnection | undefined;
    let closed = false;
    const recheck = setInterval(() => {
      void accounts.authenticate(token).then((stillUser) => {
        if (stillUser !== userId) raw.end('event: logged-out\ndata: {}\n\n');
      });
    }, SESSION_RECHECK_MS);
    recheck.unref();
    request.raw.once('close', () => {
      closed = true;
      clearInterval(recheck);
      if (connection) hub.close(connection);
    });
    try {
      connection = await hub.open(userId, raw);
      if (closed) hub.close(connection);
    } catch (error) {
      const message = error instanceof LiveRefusal ? error.message : 'the live channel could not start; the server log has details';
      if (!(error instanceof LiveRefusal)) request.log.error({ err: error }, 'live channel failed');
      raw.end(`event: refused\ndata: ${JSON.stringify({ message })}\n\n`);
    }
  });
}
