import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Accounts } from '../accounts.ts';
import { ApiError, forbidden, unauthorized } from './api-error.ts';
import type { LoginLimiter } from './login-limiter.ts';
import type { AddressRateLimit } from './address-rate-limit.ts';
import { Credentials, ErrorAnswer, LoginAnswer, LoginCredentials } from './schemas.ts';
import { clearedSessionCookie, CSRF_HEADER, csrfMatches, csrfTokenFor, isSafeMethod, sessionCookie, sessionCookieToken } from './session-cookie.ts';

type CredentialsBody = { username: string; password: string };

const ConsoleSession = Type.Object({
  username: Type.Optional(Type.String()),
  csrfToken: Type.String({ description: `send as ${CSRF_HEADER} on every unsafe request made with the session cookie` }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export function registerAuthRoutes(app: FastifyInstance, accounts: Accounts, limiter: LoginLimiter, signups: AddressRateLimit): void {
  app.post<{ Body: CredentialsBody }>(
    '/api/v1/auth/signup',
    { schema: { tags: ['accounts'], summary: 'Create a user', body: Credentials, response: { 201: { type: 'object', properties: { username: { type: 'string' } } }, 409: ErrorAnswer, 429: ErrorAnswer, 503: ErrorAnswer } } },
    async (request, reply) => {
      signups.take(request.ip);
      const user = await accounts.signup(request.body.username, request.body.password);
      return reply.code(201).send({ username: user.username });
    },
  );

  /** Shared by the bearer login and the console's cookie login: one limiter, counted when an attempt starts. */
  const login = async (request: FastifyRequest<{ Body: CredentialsBody }>) => {
    const { username, password } = request.body;
    const attempt = limiter.start(request.ip, username);
    if ('retryAfterMs' in attempt) {
      const seconds = Math.ceil(attempt.retryAfterMs / 1000);
      throw new ApiError(429, 'TOO_MANY_REQUESTS', `too many failed logins; try again in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
    }
    const session = await accounts.login(username, password).catch((error: unknown) => {
      attempt.abandoned(); // busy, or the registry failed: the password was not checked
      throw error;
    });
    if (!session) {
      attempt.failed();
      throw unauthorized('wrong username or password');
    }
    attempt.succeeded();
    return session;
  };

  app.post<{ Body: CredentialsBody }>(
    '/api/v1/auth/login',
    { schema: { tags: ['accounts'], summary: 'Log in; returns a bearer token that expires', body: LoginCredentials, response: { 200: LoginAnswer, 401: ErrorAnswer, 429: ErrorAnswer, 503: ErrorAnswer } } },
    async (request) => {
      const session = await login(request);
      return { token: session.token, expiresAt: session.expiresAt.toISOString() };
    },
  );

  app.post('/api/v1/auth/logout', { schema: { tags: ['accounts'], summary: 'End this token' } }, async (request, reply) => {
    await accounts.logout(bearerToken(request));
    return reply.code(204).send();
  });

  // The console's session: the token goes into an HttpOnly cookie, the page gets only the CSRF token.
  app.post<{ Body: CredentialsBody }>(
    '/api/v1/auth/session',
    { schema: { tags: ['console'], summary: 'Log in with a session cookie (the web console)', body: LoginCredentials, response: { 200: ConsoleSession, 401: ErrorAnswer, 429: ErrorAnswer } } },
    async (request, reply) => {
      const session = await login(request);
      reply.header('set-cookie', sessionCookie(session.token, session.expiresAt)).header('cache-control', 'no-store');
      return { username: request.body.username, csrfToken: csrfTokenFor(session.token), expiresAt: session.expiresAt.toISOString() };
    },
  );

  app.get('/api/v1/auth/session', { schema: { tags: ['console'], summary: 'The CSRF token of the session cookie (401 when logged out)', response: { 200: ConsoleSession, 401: ErrorAnswer } } }, async (request, reply) => {
    const token = sessionCookieToken(request);
    if (!token || !(await accounts.authenticate(token))) throw unauthorized('not logged in: POST /api/v1/auth/session');
    reply.header('cache-control', 'no-store');
    return { csrfToken: csrfTokenFor(token) };
  });

  app.delete('/api/v1/auth/session', { schema: { tags: ['console'], summary: 'Log out: ends the session and clears the cookie' } }, async (request, reply) => {
    const token = sessionCookieToken(request);
    if (token) {
      if (!csrfMatches(token, request.headers[CSRF_HEADER])) throw forbidden(`missing or wrong ${CSRF_HEADER} header`);
      await accounts.logout(token);
    }
    return reply.header('set-cookie', clearedSessionCookie()).code(204).send();
  });
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header) : null;
  if (!match) throw unauthorized('missing bearer token: log in with POST /api/v1/auth/login and send Authorization: Bearer <token>');
  return match[1]!;
}

/**
 * The session token of a request: its bearer token, or (no Authorization header) the console's
 * session cookie, which on an unsafe method counts only with the matching CSRF header.
 */
export function requestToken(request: FastifyRequest): string {
  if (request.headers.authorization === undefined) {
    const cookieToken = sessionCookieToken(request);
    if (cookieToken) {
      if (!isSafeMethod(request.method) && !csrfMatches(cookieToken, request.headers[CSRF_HEADER])) {
        throw forbidden(`missing or wrong ${CSRF_HEADER} header: a request made with the session cookie must carry the CSRF token from GET /api/v1/auth/session`);
      }
      return cookieToken;
    }
  }
  return bearerToken(request);
}

/** The logged-in user's id; 401 when the token is missing, unknown or expired. */
export async function requireUser(request: FastifyRequest, accounts: Accounts): Promise<string> {
  const userId = await accounts.authenticate(requestToken(request));
  if (!userId) throw unauthorized('token is unknown or expired: log in again');
  return userId;
}
