/** The REST API as a Fastify app: routes, validation, error mapping and the OpenAPI document. */
import http from 'node:http';
import https from 'node:https';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import type { Accounts } from '../accounts.ts';
import type { DeviceRegistry } from '../devices.ts';
import type { DeviceBus } from '../bus/device-bus.ts';
import { ApiError } from './api-error.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerCommandRoutes } from './command-routes.ts';
import { registerDeviceRoutes } from './device-routes.ts';
import { LoginLimiter } from './login-limiter.ts';
import { AddressRateLimit, type AddressRateLimitOptions } from './address-rate-limit.ts';
import { registerBrokerAuthRoutes, type BrokerAuthOptions } from './broker-auth-routes.ts';
import { legacyApi } from '../legacy-api/index.ts';
import { registerConsoleStatic, type ConsoleFiles } from '../web/static.ts';
import { registerConformanceRoutes, type ConformanceRouteOptions } from '../web/conformance.ts';
import { registerLiveRoutes } from '../live/routes.ts';
import type { LiveHub } from '../live/hub.ts';
import { registerMetricsRoute, type MetricsRouteOptions } from '../metrics/routes.ts';

export interface AppOptions {
  logger: Logger;
  https?: { certPem: string; keyPem: string };
  accounts: Accounts;
  devices: DeviceRegistry;
  bus: DeviceBus;
  rootCaPem: string;
  /** Where registrations tell devices to connect: the bus's URL, on the server's public host when it has one. */
  deviceUrl: string;
  defaultCommandTimeoutMs: number;
  offlineGraceMs: number;
  /** RabbitMQ engine: the endpoints rabbitmq_auth_backend_http asks on every device connect. */
  brokerAuth?: Omit<BrokerAuthOptions, 'logger'>;
  loginLimits?: { maxFailuresPerUser: number; maxFailuresPerAddress: number; windowMs: number; overBudgetIntervalMs?: number };
  /** Sign-ups per client address (each costs a password hash and a row kept forever). */
  signupLimits?: AddressRateLimitOptions;
  /** RSA-2048 registrations per client address (each costs 0.1-0.3 s of key generation). */
  rsaRegistrationLimits?: AddressRateLimitOptions;
  /** The original libpyiotcloud routes at the root path, over the same accounts, registry and bus. */
  legacyApi?: boolean;
  /** The web console: its built files (undefined: not built), the live channel, conformance runs. */
  console?: { files: ConsoleFiles | undefined; live: LiveHub; conformance?: Omit<ConformanceRouteOptions, 'accounts' | 'devices'> };
  /** GET /metrics (Prometheus). */
  metrics?: MetricsRouteOptions;
}

export const DEFAULT_LIMITS = {
  login: { maxFailuresPerUser: 5, maxFailuresPerAddress: 50, windowMs: 60_000, overBudgetIntervalMs: 1000 },
  signup: { burst: 10, perMinute: 10 },
  rsaRegistration: { burst: 10, perMinute: 20 },
} as const;

export const API_VERSION = '0.1.0';
const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * How long a client may take: Node's defaults (60 s for headers, checked every 30 s; 120 s for a
 * TLS handshake) let 50 slowloris connections, each sending a header byte now and then, stay
 * open past a minute. A connection that has not sent its headers within headersMs, or its whole
 * request within requestMs, is closed within checkEveryMs after that.
 */
export const HTTP_TIMEOUTS = { tlsHandshakeMs: 10_000, headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 } as const;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'api' }),
    logController: new LogController({ disableRequestLogging: true }), // one line per request is too much under load; errors are logged
    bodyLimit: BODY_LIMIT_BYTES,
    serverFactory: (handler: http.RequestListener) => {
      const timeouts = { headersTimeout: HTTP_TIMEOUTS.headersMs, requestTimeout: HTTP_TIMEOUTS.requestMs, connectionsCheckingInterval: HTTP_TIMEOUTS.checkEveryMs };
      return options.https
        ? https.createServer({ cert: options.https.certPem, key: options.https.keyPem, handshakeTimeout: HTTP_TIMEOUTS.tlsHandshakeMs, ...timeouts }, handler)
        : http.createServer(timeouts, handler);
    },
    requestTimeout: HTTP_TIMEOUTS.requestMs, // fastify sets it on the server too
    // Strict validation: no silent type coercion, no silent dropping of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  // The original libpyiotcloud client sends its JSON parameters in GET bodies (http.client allows
  // it): read a GET body like any other. A GET without a body is unchanged.
  app.addHttpMethod('GET', { hasBody: true, overrideExisting: true });

  // Query strings are text: coerce only there (timeoutMs=500, wait=true).
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {}; // no body: no parameters
    const query = request.query as Record<string, unknown>;
    if (typeof query.timeoutMs === 'string' && /^\d{1,6}$/.test(query.timeoutMs)) query.timeoutMs = Number(query.timeoutMs);
    if (query.wait === 'true' || query.wait === 'false') query.wait = query.wait === 'true';
  });

  // An empty body with or without a JSON content type means "no parameters". JSON is UTF-8
  // (RFC 8259); a body declared in another charset is refused, not read as if it were UTF-8.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `request bodies are JSON in UTF-8, not ${charset}: send Content-Type: application/json`), undefined);
    }
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ApiError(400, 'MALFORMED', `request body is not JSON: ${(error as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).headers(error.headers).send(error.toBody());
    }
    if (error.validation) {
      const first = error.validation[0];
      const field = first ? `${first.instancePath}${first.keyword === 'required' ? `/${(first.params as { missingProperty: string }).missingProperty}` : first.keyword === 'additionalProperties' ? `/${(first.params as { additionalProperty: string }).additionalProperty}` : ''}` : undefined;
      const where = error.validationContext === 'body' ? '' : `${error.validationContext} `;
      const api = new ApiError(400, 'INVALID_PARAMS', `invalid ${where}${field || 'value'}: ${first?.message ?? error.message}`, field || undefined);
      return reply.code(400).send(api.toBody());
    }
    if (error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(new ApiError(413, 'PAYLOAD_TOO_LARGE', `request body is over ${BODY_LIMIT_BYTES} bytes`).toBody());
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(new ApiError(error.statusCode, 'BAD_REQUEST', error.message).toBody());
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { name: 'INTERNAL', message: 'internal error; the server log has details' }, source: 'server' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new ApiError(404, 'NOT_FOUND', `no route ${request.method} ${request.url}; see GET /api/v1/openapi.json`).toBody());
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'iotcloud REST API', version: API_VERSION, description: 'Accounts, device registry with certificates, and device commands.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  const limiter = new LoginLimiter(options.loginLimits ?? DEFAULT_LIMITS.login); // one limiter for both APIs: a guesser gains nothing by switching
  // Per-address budgets shared by both APIs, like the login limiter.
  const signups = new AddressRateLimit('sign-ups', options.signupLimits ?? DEFAULT_LIMITS.signup);
  const rsaRegistrations = new AddressRateLimit('RSA-2048 registrations', options.rsaRegistrationLimits ?? DEFAULT_LIMITS.rsaRegistration);
  registerAuthRoutes(app, options.accounts, limiter, signups);
  registerDeviceRoutes(app, { ...options, rsaRegistrations });
  registerCommandRoutes(app, { ...options, defaultTimeoutMs: options.defaultCommandTimeoutMs });

  if (options.legacyApi) {
    await app.register(legacyApi, {
      accounts: options.accounts,
      devices: options.devices,
      bus: options.bus,
      rootCaPem: options.rootCaPem,
      deviceUrl: options.deviceUrl,
      limiter,
      signups,
      rsaRegistrations,
      defaultTimeoutMs: options.defaultCommandTimeoutMs,
    });
  }

  if (options.brokerAuth) registerBrokerAuthRoutes(app, { ...options.brokerAuth, logger: options.logger.child({ component: 'broker-auth' }) });

  if (options.console) {
    registerConsoleStatic(app, options.console.files, options.https !== undefined);
    registerLiveRoutes(app, options.console.live, options.accounts);
    if (options.console.conformance) registerConformanceRoutes(app, { ...options.console.conformance, accounts: options.accounts, devices: options.devices });
  }
  if (options.metrics) registerMetricsRoute(app, options.metrics);

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/api/v1/health', { schema: { tags: ['server'], summary: 'Liveness and bus counters' } }, async () => ({
    status: 'ok',
    version: API_VERSION,
    bus: options.bus.counters(),
  }));
  return app;
}
