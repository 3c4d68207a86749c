/**
 * The one client for the iotcloud REST API, over HTTPS with the platform CA (or plain HTTP on
 * loopback): the CLI's client subcommands, `iotcloud demo`, the fleet's provisioning and the
 * harness's REST target all go through it.
 *
 * Built on node:http(s) with a keep-alive agent rather than fetch: Node 20's fetch cannot take a
 * custom CA without the undici package, and a self-hosted server usually has its own root CA.
 */
import http from 'node:http';
import https from 'node:https';
import { isTlsUrl } from '../device-link/index.ts';
import { RestAnswerError, RestError, RestTimeoutError } from './errors.ts';
import type { Session } from './session.ts';
import type { BulkUnregisterAnswer, DeviceRegistration, DeviceSummary } from './wire.ts';

export interface RestClientOptions {
  /** e.g. `https://iot.example.com:8443` (a path prefix is kept). */
  baseUrl: string;
  /** PEM of the CA that signed the server certificate. */
  caPem?: string | Buffer;
  token?: string;
  /** Sockets kept open to the server (load runs with high concurrency want more). Default 64. */
  maxSockets?: number;
}

export interface RestAnswer {
  status: number;
  json: unknown;
  headers: http.IncomingHttpHeaders;
}

export class RestClient {
  private readonly agent: http.Agent;
  /** The base URL, ending in `/` so that request paths keep its prefix. */
  readonly url: URL;
  token: string | undefined;

  constructor(options: RestClientOptions) {
    this.url = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.token = options.token;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.agent = isTlsUrl(this.url) ? new https.Agent({ ...agentOptions, ...(options.caPem ? { ca: options.caPem } : {}) }) : new http.Agent(agentOptions);
  }

  /** One request; resolves with the parsed JSON body for 2xx, throws RestError otherwise. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, json } = await this.send(method, path, body);
    if (status < 200 || status >= 300) throw new RestError(status, json);
    return json as T;
  }

  /**
   * Like request, but hands back every status instead of throwing. Rejects with the socket's
   * error when the server cannot be reached, RestAnswerError when the answer broke off, and
   * RestTimeoutError when no answer came within `timeoutMs` (default: none).
   */
  send(method: string, path: string, body?: unknown, options: { timeoutMs?: number } = {}): Promise<RestAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const transport = isTlsUrl(this.url) ? https : http;
    const timeout = options.timeoutMs;
    return new Promise((resolve, reject) => {
      const req = transport.request(this.resolve(path), { method, headers, agent: this.agent, ...(timeout === undefined ? {} : { timeout }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = text; // not JSON (a proxy's error page): kept as text for the message
          }
          resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
        });
        res.on('error', (error) => reject(new RestAnswerError(`reading the answer failed: ${error.message}`)));
      });
      req.on('timeout', () => {
        req.destroy();
        reject(new RestTimeoutError(`no HTTP answer within ${timeout} ms`));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A path of the API (`/api/v1/...`), below the base URL's prefix. */
  resolve(path: string): URL {
    return new URL(path.replace(/^\/+/, ''), this.url);
  }

  close(): void {
    this.agent.destroy();
  }

  // ---- the original client.py's calls ----
  signup(username: string, password: string) {
    return this.request<{ username: string }>('POST', '/api/v1/auth/signup', { username, password });
  }
  async login(username: string, password: string): Promise<Session> {
    const session = await this.request<Session>('POST', '/api/v1/auth/login', { username, password });
    this.token = session.token;
    return session;
  }
  registerDevice(name: string, options: { deviceId?: string; keyAlgorithm?: 'ecdsa-p256' | 'rsa-2048' } = {}) {
    return this.request<DeviceRegistration>('POST', '/api/v1/devices', { name, ...options });
  }
  unregisterDevice(deviceId: string) {
    return this.request<void>('DELETE', `/api/v1/devices/${encodeURIComponent(deviceId)}`);
  }
  /** At most maxBulkUnregister (200) ids; unregisterDevices (bulk.ts) takes any number. */
  unregisterDeviceBatch(deviceIds: readonly string[]) {
    return this.request<BulkUnregisterAnswer>('POST', '/api/v1/devices/unregister', { deviceIds });
  }
  listDevices() {
    return this.request<{ devices: DeviceSummary[] }>('GET', '/api/v1/devices');
  }
  /** `wait`: send even when the server sees the device offline (default: refused at once with 409). */
  command(deviceId: string, command: string, params: unknown = {}, timeoutMs?: number, options: { wait?: boolean } = {}) {
    const search = new URLSearchParams();
    if (timeoutMs !== undefined) search.set('timeoutMs', String(timeoutMs));
    if (options.wait) search.set('wait', 'true');
    const query = search.size > 0 ? `?${search}` : '';
    return this.request<{ result: Record<string, unknown>; elapsedMs: number }>('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/commands/${encodeURIComponent(command)}${query}`, params);
  }
}
