/**
 * A small client for the iotcloud REST API over HTTPS with the platform CA (or plain HTTP on
 * loopback). Used by the CLI's client subcommands and by `iotcloud demo`.
 */
import http from 'node:http';
import https from 'node:https';

export interface RestClientOptions {
  baseUrl: string;
  /** PEM of the CA that signed the server certificate. */
  caPem?: string;
  token?: string;
}

export class RestError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    const error = (body as { error?: { name?: string; message?: string; field?: string } } | undefined)?.error;
    super(error ? `${status} ${error.name}: ${error.message}${error.field ? ` (field ${error.field})` : ''}` : `HTTP ${status}`);
  }
}

export class RestClient {
  private readonly agent: http.Agent;
  private readonly url: URL;
  token: string | undefined;

  constructor(options: RestClientOptions) {
    this.url = new URL(options.baseUrl);
    this.token = options.token;
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 64, ...(options.caPem ? { ca: options.caPem } : {}) })
        : new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** One request; resolves with the parsed JSON body for 2xx, throws RestError otherwise. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, json } = await this.send(method, path, body);
    if (status < 200 || status >= 300) throw new RestError(status, json);
    return json as T;
  }

  /** Like request, but hands back every status instead of throwing. */
  send(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; headers: http.IncomingHttpHeaders }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (payload) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(new URL(path, this.url), { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  // ---- the original client.py's calls ----
  signup(username: string, password: string) {
    return this.request<{ username: string }>('POST', '/api/v1/auth/signup', { username, password });
  }
  async login(username: string, password: string) {
    const session = await this.request<{ token: string; expiresAt: string }>('POST', '/api/v1/auth/login', { username, password });
    this.token = session.token;
    return session;
  }
  registerDevice(name: string, options: { deviceId?: string; keyAlgorithm?: 'ecdsa-p256' | 'rsa-2048' } = {}) {
    return this.request<DeviceRegistration>('POST', '/api/v1/devices', { name, ...options });
  }
  unregisterDevice(deviceId: string) {
    return this.request<void>('DELETE', `/api/v1/devices/${encodeURIComponent(deviceId)}`);
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

export interface DeviceRegistration {
  deviceId: string;
  name: string;
  fingerprint: string;
  rootCa: string;
  certificate: string;
  privateKey: string;
  mqttUrl: string;
}

export interface DeviceSummary {
  deviceId: string;
  name: string;
  fingerprint: string;
  createdAt: string;
  lastSeenAt: string | null;
  online: boolean;
}
