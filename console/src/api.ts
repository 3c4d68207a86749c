/**
 * Talks to the REST API on the same origin. The session token lives in an HttpOnly cookie the page
 * cannot read; the page keeps only the CSRF token, in memory, and sends it on unsafe requests.
 */
let csrfToken: string | undefined;
let onLoggedOut: () => void = () => undefined;

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly errorName: string,
    message: string,
    readonly field?: string,
    readonly source?: 'server' | 'device',
  ) {
    super(message);
  }
}

export function setSession(csrf: string | undefined): void {
  csrfToken = csrf;
}

export function whenLoggedOut(callback: () => void): void {
  onLoggedOut = callback;
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch {
    throw new ApiFailure(0, 'NETWORK', 'the server cannot be reached; is `iotcloud up` still running?');
  }
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => undefined)) as { error?: { name?: string; message?: string; field?: string }; source?: 'server' | 'device' } | undefined;
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/v1/auth/session') onLoggedOut();
    const error = data?.error;
    throw new ApiFailure(response.status, error?.name ?? `HTTP_${response.status}`, error?.message ?? `the server answered ${response.status}`, error?.field, data?.source);
  }
  return data as T;
}

// The API's device shapes, declared once beside the REST client (type-only: nothing of it is bundled).
export type { DeviceSummary as DeviceRow, DeviceRegistration as Registration } from '../../rest-client/index.ts';

export interface SessionInfo {
  username?: string;
  csrfToken: string;
}
