/**
 * The original libpyiotcloud REST API at the root path, for the original client application:
 * /signup, /login, /get_device_list, /register_device, /unregister_device and one route per
 * device command, each taking a JSON body (also on GET) with `username`, `secret` (the session
 * token /login returned) and `devicename`. A thin edge over the same accounts, registry and bus as
 * /api/v1: nothing here is implemented twice. docs/migrating-from-libpyiotcloud.md says what
 * works unchanged and what changes.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../api/api-error.ts';
import { LegacyRefusal, ng } from './answers.ts';
import { registerAccountRoutes } from './account-routes.ts';
import { registerDeviceCommandRoutes } from './command-routes.ts';
import type { LegacyApiOptions } from './options.ts';

export type { LegacyApiOptions };

/** Statuses kept as they are: a request that cannot be read (400, 413, 415), and "not now, retry" (429, 503 with Retry-After). */
const keptStatuses = new Set([400, 413, 415, 429, 503]);

export async function legacyApi(scope: FastifyInstance, options: LegacyApiOptions): Promise<void> {
  // Encapsulated: this handler answers only the original routes, in the original shape.
  scope.setErrorHandler((error: FastifyError | ApiError | LegacyRefusal, request, reply: FastifyReply) => {
    if (error instanceof LegacyRefusal) return reply.code(error.statusCode).headers(error.headers).send(ng(error.reason));
    // A refusal of what was asked (taken, unknown, not yours) is 200 + NG as in the original; a
    // request that cannot be read at all (bad JSON, too large) keeps its 4xx, and a rate limit or
    // a busy server its 429 / 503 with Retry-After, as the original /login's limiter does.
    if (error instanceof ApiError) return reply.code(keptStatuses.has(error.statusCode) ? error.statusCode : 200).headers(error.headers).send(ng(error.message));
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send(ng(error.message));
    request.log.error({ err: error }, 'original API request failed');
    return reply.code(500).send(ng('internal error; the server log has details'));
  });
  registerAccountRoutes(scope, options);
  registerDeviceCommandRoutes(scope, options);
}
