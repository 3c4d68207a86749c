/**
 * REST target: commands go through the iotcloud server
 * (`POST /api/v1/devices/{id}/commands/{command}?timeoutMs=N`), so the whole path
 * client -> server -> broker -> device is exercised. The wire is invisible from here: cases that
 * need raw payloads or topics report `not-applicable` on this target.
 *
 * Built on node:http(s) with a keep-alive agent rather than fetch: Node 20's fetch cannot take a
 * custom CA without the undici package, and a self-hosted server usually has its own root CA.
 */
import http from 'node:http';
import https from 'node:https';
import { errorCodes, type ErrorBody } from '../../firmware-protocol/index.ts';
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
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly token: string;

  constructor(options: RestTargetOptions) {
    this.deviceId = options.deviceId;
    this.token = options.token;
    this.base = parseBaseUrl(options.baseUrl);
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ ...agentOptions, ...(options.ca ? { ca: readPem(options.ca, 'CA') } : {}) })
        : new http.Agent(agentOptions);
  }

  async command(command: string, params: unknown, timeoutMs: number): Promise<HarnessOutcome> {
    const serverTimeout = Math.min(Math.max(1, Math.round(timeoutMs)), serverMaxTimeoutMs);
    const url = new URL(`api/v1/devices/${encodeURIComponent(this.deviceId)}/commands/${encodeURIComponent(command)}`, this.base);
    url.searchParams.set('timeoutMs', String(serverTimeout));
    // The harness judges the device by its answers and silences, so it asks even when the server
    // sees the device offline (otherwise refused at once with 409).
    url.searchParams.set('wait', 'true');
    const base = { deviceId: this.deviceId, command, cid: '' };
    const startedAt = performance.now();
    const answer = await this.post(url, JSON.stringify(params === undefined ? {} : params), serverTimeout + clientGraceMs);
    const elapsedMs = performance.now() - startedAt;
    if ('failure' in answer) {
      return answer.timedOut
        ? { status: 'timeout', ...base, timeoutMs, elapsedMs }
        : { status: 'unavailable', ...base, message: answer.failure, elapsedMs };
    }
    return mapAnswer(answer, base, timeoutMs, elapsedMs);
  }

  describe(): string {
    return `REST ${this.base.origin}${this.base.pathname === '/' ? '' : this.base.pathname}, device ${this.deviceId}`;
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private post(url: URL, body: string, socketTimeoutMs: number): Promise<HttpAnswer | { failure: string; timedOut: boolean }> {
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve) => {
      const request = send(
        url,
        {
          method: 'POST',
          agent: this.agent,
          timeout: socketTimeoutMs,
          headers: {
            authorization: `Bearer ${this.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json',
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => resolve({ failure: `reading the answer failed: ${error.message}`, timedOut: false }));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON (a proxy's error page): kept as text for the message
            }
            resolve({ status: response.statusCode ?? 0, body: parsed });
          });
        },
      );
      request.on('timeout', () => {
        request.destroy();
        resolve({ failure: `no HTTP answer within ${socketTimeoutMs} ms`, timedOut: true });
      });
      request.on('error', (error) => resolve({ failure: `cannot reach ${url.origin}: ${error.message}`, timedOut: false }));
      request.end(body);
    });
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
