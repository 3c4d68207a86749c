/** Server configuration: defaults for a developer's machine, every field overridable. */
import { isIP } from 'node:net';

/** The RabbitMQ engine: where the project-owned node is (see `iotcloud broker start`). */
export interface RabbitmqEngineConfig {
  /** The server's own connection: `amqps://` (the node has no plain AMQP listener). */
  url: string;
  /** The node's internal service user: the CN of the certificate in `tls`, refused by the broker-auth endpoints. */
  serviceUser: string;
  /** The node's proof at the broker-auth endpoints: HTTP Basic user and secret (from its state folder). */
  authNode: { user: string; secret: string };
  /** The platform CA and the server's service client certificate: its login (SASL EXTERNAL). */
  tls: { caPem: string; certPem: string; keyPem: string };
  /** Where devices connect (MQTTS on the node). */
  deviceUrl: string;
}

export interface ServerConfig {
  /** Which device bus: the embedded aedes broker, or a RabbitMQ node. */
  busEngine: 'embedded' | 'rabbitmq';
  rabbitmq?: RabbitmqEngineConfig;
  /** Where the REST API listens. */
  apiHost: string;
  apiPort: number;
  /** Where devices connect (MQTTS). */
  mqttHost: string;
  mqttPort: number;
  /** Plain HTTP for the API; allowed only on a loopback address. */
  insecureHttp: boolean;
  /** CA, server certificate and the PGlite database live here. */
  dataDir: string;
  /** PostgreSQL instead of PGlite when set. */
  databaseUrl?: string;
  /** Host names and addresses the server certificate is valid for. */
  tlsHosts: string[];
  /**
   * The name or address boards on other machines reach this server by (`up --tls-host`, the first
   * one): registrations hand out device URLs on it instead of the listener's address. It must be
   * one of tlsHosts, so a board can check it against the certificate.
   */
  publicHost?: string;
  /**
   * Loopback port for trusted services acting as the server on the embedded broker (the harness
   * sending raw requests); 0 picks a free port; undefined keeps it off. Its password is written to
   * `<dataDir>/service.json` (mode 0600).
   */
  servicePort?: number;
  tokenTtlMs: number;
  /** Password-guessing budgets per window (server/api/login-limiter.ts); defaults in DEFAULT_LIMITS. */
  loginLimits?: { maxFailuresPerUser: number; maxFailuresPerAddress: number; windowMs: number; overBudgetIntervalMs?: number };
  defaultCommandTimeoutMs: number;
  /**
   * A command to an offline device is refused at once (409) unless the device was seen or
   * registered within this many ms (it may be reconnecting): then it is sent as usual.
   */
  offlineGraceMs: number;
  /** When set, GET /metrics is open to any address with this bearer token; otherwise to loopback clients only. */
  metricsToken?: string;
  /** The built web console (default: console/dist in the package). */
  consoleDir?: string;
  logLevel: string;
  /** The original libpyiotcloud REST API at the root path (/signup, /login, /register_device, /get_gpio, ...). */
  legacyApi: boolean;
}

export const defaultConfig: ServerConfig = {
  busEngine: 'embedded',
  apiHost: '127.0.0.1',
  apiPort: 8443,
  mqttHost: '127.0.0.1',
  mqttPort: 8883,
  insecureHttp: false,
  dataDir: 'var/iotcloud',
  tlsHosts: ['localhost', '127.0.0.1', '::1'],
  tokenTtlMs: 60 * 60 * 1000,
  defaultCommandTimeoutMs: 5000,
  offlineGraceMs: 10_000,
  logLevel: 'info',
  legacyApi: true,
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** Refuses configurations that would be unsafe or cannot work, with what to change. */
export function checkConfig(config: ServerConfig): void {
  if (config.insecureHttp && !isLoopback(config.apiHost)) {
    throw new Error(`plain HTTP is only allowed on a loopback address, not ${config.apiHost}: drop --insecure-http or listen on 127.0.0.1`);
  }
  for (const [name, port] of [['api port', config.apiPort], ['mqtt port', config.mqttPort]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be 0..65535 (0 picks a free port), got ${port}`);
  }
  if (config.busEngine === 'rabbitmq' && !config.rabbitmq) {
    throw new Error('the rabbitmq engine needs a node: start one with `iotcloud broker start`, then `iotcloud up --engine rabbitmq`');
  }
  if (config.busEngine === 'rabbitmq' && config.servicePort !== undefined) {
    throw new Error('--service-port belongs to the embedded broker; on RabbitMQ the harness connects with its own broker credentials');
  }
  if (config.publicHost !== undefined && !config.tlsHosts.includes(config.publicHost)) {
    throw new Error(`the public host ${config.publicHost} is not in the server certificate's names (${config.tlsHosts.join(', ')}): add it with --tls-host`);
  }
  if (!(config.defaultCommandTimeoutMs > 0 && config.defaultCommandTimeoutMs <= 60_000)) {
    throw new Error(`command timeout must be 1..60000 ms, got ${config.defaultCommandTimeoutMs}`);
  }
}
