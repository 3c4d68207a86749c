/**
 * REST target: commands go through the iotcloud server
 * (`POST /api/v1/devices/{id}/commands/{command}?timeoutMs=N`), so the whole path
 * client -> server -> broker -> device is exercised. The wire is invisible from here: cases that
 * need raw payloads or topics report `not-applicable` on this target. HTTP goes through the
 * project's one REST client (rest-client/).
 */
import { errorCodes, type ErrorBody } from '../../firmware-protocol/index.ts';
import { RestAnswerError, RestClient, RestTimeoutError } from '../../rest-client/index.ts';
import { readPem, type PemSource } from './pem.ts';
import { TargetSetupError, type DeviceTarget, type HarnessOutcome } from './types.ts';

export interface RestTargetOptions {
  /** e.g. `https://iot.example.com:8443` (a path prefix is kept). */
  baseUrl: string;
  /** Bearer token of a user owning the device. */
  token: string;
  deviceId: string;
  /** Root CA of the server's certificate, for https. */
  ca?: PemSource;
  /** Sockets kept open to the server (load runs with high concurrency want more). Default 64. */
  maxSockets?: number;
}

/** Extra time the client waits beyond the server's own deadline before giving up on the HTTP call. */
const clientGraceMs = 5000;
const serverMaxTimeoutMs = 60_000;

interface HttpAnswer {
  status: number;
  body: unknown;
}

export class RestTarget implements DeviceTarget {
  readonly kind = 'rest' as const;
  readonly deviceId: string;
  private readonly client: RestClient;

  constructor(options: RestTargetOptions) {
    this.deviceId = options.deviceId;
    const base = parseBaseUrl(options.baseUrl);
    this.client = new RestClient({
      baseUrl: base.href,
      token: options.token,
      maxSockets: options.maxSockets ?? 64,
      ...(options.ca ? { caPem: readPem(options.ca, 'CA') } : {}),
    });
  }

  async command(command: string, params: unknown, timeoutMs: number): Promise<HarnessOutcome> {
    const serverTimeout = Math.min(Math.max(1, Math.round(timeoutMs)), serverMaxTimeoutMs);
    // The harness judges the device by its answers and silences, so it asks even when the server
    // sees the device offline (wait=true; otherwise refused at once with 409).
    const path = `api/v1/devices/${encodeURIComponent(this.deviceId)}/commands/${encodeURIComponent(command)}?timeoutMs=${serverTimeout}&wait=true`;
    const base = { deviceId: this.deviceId, command, cid: '' };
    const startedAt = performance.now();
    const answer = await this.post(path, params === undefined ? {} : params, serverTimeout + clientGraceMs);
    const elapsedMs = performance.now() - startedAt;
    if ('failure' in answer) {
      return answer.timedOut
        ? { status: 'timeout', ...base, timeoutMs, elapsedMs }
        : { status: 'unavailable', ...base, message: answer.failure, elapsedMs, ...(answer.cause === undefined ? {} : { cause: answer.cause }) };
    }
    return mapAnswer(answer, base, timeoutMs, elapsedMs);
  }

  describe(): string {
    const base = this.client.url;
    return `REST ${base.origin}${base.pathname === '/' ? '' : base.pathname}, device ${this.deviceId}`;
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async post(path: string, body: unknown, socketTimeoutMs: number): Promise<HttpAnswer | { failure: string; timedOut: boolean; cause?: unknown }> {
    try {
      const { status, json } = await this.client.send('POST', path, body, { timeoutMs: socketTimeoutMs });
      return { status, body: json ?? '' };
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof RestTimeoutError) return { failure: message, timedOut: true };
      if (error instanceof RestAnswerError) return { failure: message, timedOut: false };
      return { failure: `cannot reach ${this.client.url.origin}: ${message}`, timedOut: false, cause: error };
    }
  }
}

export function openRestTarget(options: RestTargetOptions): RestTarget {
  if (!options.token) throw new TargetSetupError('a REST target needs a bearer token');
  return new RestTarget(options);
}

function mapAnswer(answer: HttpAnswer, base: { deviceId: string; command: string; cid: string }, timeoutMs: number, elapsedMs: number): HarnessOutcome {
  const body = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as Record<string, unknown>;
  const error = errorBodyOf(body.error);
  const httpStatus = answer.status;
  switch (answer.status) {
    case 200:
      return { status: 'ok', ...base, result: (body.result ?? {}) as Record<string, unknown>, elapsedMs, httpStatus };
    case 502:
      if (error.name === 'INVALID_ANSWER') {
        // The device answered, but not validly: counted as an invalid answer, never as a timeout.
        const raw = (body.error as { answer?: unknown }).answer;
        return { status: 'invalid-answer', ...base, elapsedMs, problem: error.message.replace(/^.*?, which is not a valid answer: /s, ''), answer: { topic: `server/${base.deviceId}/${base.command}`, payload: typeof raw === 'string' ? raw : '' }, source: 'device', httpStatus };
      }
      return { status: 'device-error', ...base, error, elapsedMs, source: 'device', httpStatus };
    case 400:
      return { status: 'device-error', ...base, error, elapsedMs, source: body.source === 'device' ? 'device' : 'server', httpStatus };
    case 504:
      return { status: 'timeout', ...base, timeoutMs, elapsedMs, httpStatus };
    default: {
      const what = typeof answer.body === 'string' ? answer.body.slice(0, 200) : `${error.name ?? ''} ${error.message}`.trim();
      return { status: 'unavailable', ...base, message: `HTTP ${answer.status}: ${what}`, elapsedMs, httpStatus };
    }
  }
}

function errorBodyOf(value: unknown): ErrorBody {
  const raw = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const name = typeof raw.name === 'string' ? raw.name : undefined;
  const code = typeof raw.code === 'number' ? raw.code : ((name === undefined ? undefined : (errorCodes as Record<string, number>)[name]) ?? 0);
  return {
    code,
    ...(name === undefined ? {} : { name }),
    message: typeof raw.message === 'string' ? raw.message : 'no message',
    ...(typeof raw.field === 'string' ? { field: raw.field } : {}),
  };
}

function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.endsWith('/') ? text : `${text}/`);
  } catch {
    throw new TargetSetupError(`server url ${JSON.stringify(text)} is not a URL; use e.g. https://localhost:8443`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetSetupError(`server url must be http:// or https://, got ${url.protocol}//`);
  return url;
}
