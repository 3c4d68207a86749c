/**
 * Browser sessions for the console: the same session token as a bearer token, but carried in a
 * `__Host-` cookie (HttpOnly, Secure, SameSite=Strict, Path=/), so page scripts never hold it and
 * it is never put in localStorage. Unsafe requests made with the cookie must also carry the CSRF
 * token, derived from the session token (HMAC), so any API instance can check it without state.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = '__Host-iotcloud_session';
export const CSRF_HEADER = 'x-csrf-token';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,200}$/;

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('iotcloud console csrf v1').digest('base64url');
}

export function csrfMatches(sessionToken: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length > 100) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The session token in the request's cookie, if it carries a well-formed one. */
export function sessionCookieToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return TOKEN_SHAPE.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export function sessionCookie(token: string, expiresAt: Date): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict; Expires=${expiresAt.toUTCString()}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

export const isSafeMethod = (method: string) => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
