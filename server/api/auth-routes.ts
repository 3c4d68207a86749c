import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Accounts } from '../accounts.ts';
import { ApiError, unauthorized } from './api-error.ts';
import type { LoginLimiter } from './login-limiter.ts';
import type { AddressRateLimit } from './address-rate-limit.ts';
import { Credentials, ErrorAnswer, LoginAnswer, LoginCredentials } from './schemas.ts';

type CredentialsBody = { username: string; password: string };

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

  app.post<{ Body: CredentialsBody }>(
    '/api/v1/auth/login',
    { schema: { tags: ['accounts'], summary: 'Log in; returns a bearer token that expires', body: LoginCredentials, response: { 200: LoginAnswer, 401: ErrorAnswer, 429: ErrorAnswer, 503: ErrorAnswer } } },
    async (request) => {
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
      return { token: session.token, expiresAt: session.expiresAt.toISOString() };
    },
  );

  app.post('/api/v1/auth/logout', { schema: { tags: ['accounts'], summary: 'End this token' } }, async (request, reply) => {
    await accounts.logout(bearerToken(request));
    return reply.code(204).send();
  });
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header) : null;
  if (!match) throw unauthorized('missing bearer token: log in with POST /api/v1/auth/login and send Authorization: Bearer <token>');
  return match[1]!;
}

/** The logged-in user's id; 401 when the token is missing, unknown or expired. */
export async function requireUser(request: FastifyRequest, accounts: Accounts): Promise<string> {
  const userId = await accounts.authenticate(bearerToken(request));
  if (!userId) throw unauthorized('token is unknown or expired: log in again');
  return userId;
}
