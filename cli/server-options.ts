/** Flags that configure a server, shared by `up` and `demo`. */
import type { Options } from 'yargs';
import { readFile } from 'node:fs/promises';
// The file, not the index: the CA's code loads only when a server starts (cli/main.ts).
import { canonicalHost } from '../certs/validate.ts';
import { defaultConfig, type ServerConfig } from '../server/config.ts';
import { logOptions, type LogArgs } from './logging.ts';
import type { PortClaim } from './port-check.ts';
import { UsageError } from './usage-error.ts';

export const serverOptions = {
  host: { type: 'string', default: defaultConfig.apiHost, describe: 'address the REST API and the broker listen on' },
  'api-port': { type: 'number', default: defaultConfig.apiPort, describe: 'REST API port (0: any free port)' },
  'mqtt-port': { type: 'number', default: defaultConfig.mqttPort, describe: 'MQTTS port for devices (0: any free port)' },
  'data-dir': { type: 'string', default: defaultConfig.dataDir, describe: 'where the CA, TLS files and the PGlite registry live' },
  'database-url': { type: 'string', describe: 'use PostgreSQL (postgres://...) instead of the embedded PGlite' },
  engine: { choices: ['embedded', 'rabbitmq'] as const, default: 'embedded' as const, describe: 'device bus: the embedded MQTTS broker, or the RabbitMQ node from `iotcloud broker start`' },
  'broker-state-dir': { type: 'string', default: 'var/rabbitmq', describe: 'with --engine rabbitmq: the node\'s state folder' },
  'service-port': { type: 'number', describe: 'loopback MQTT port for trusted tools acting as the server (the harness); password in DATA_DIR/service.json' },
  'insecure-http': { type: 'boolean', default: false, describe: 'plain HTTP for the API (loopback only)' },
  'command-timeout': { type: 'number', default: defaultConfig.defaultCommandTimeoutMs, describe: 'default device command timeout, ms' },
  'metrics-token-file': { type: 'string', describe: 'file holding a token: GET /metrics then asks any client for it as a bearer token (default: loopback clients only)' },
  'tls-host': {
    type: 'string',
    array: true,
    describe: 'a name or address boards on the LAN reach the server by, repeatable (or env IOTCLOUD_TLS_HOSTS, comma-separated): added to the server certificate; the first is the host registrations hand out',
  },
  ...logOptions('warn'),
  'legacy-api': { type: 'boolean', default: true, describe: 'the original libpyiotcloud REST API at the root path (/signup, /register_device, /get_gpio, ...); --no-legacy-api turns it off' },
} as const satisfies Record<string, Options>;

export interface ServerArgs extends LogArgs {
  host: string;
  'api-port': number;
  'mqtt-port': number;
  'data-dir': string;
  'database-url'?: string;
  'service-port'?: number;
  engine: 'embedded' | 'rabbitmq';
  'broker-state-dir': string;
  'insecure-http': boolean;
  'command-timeout': number;
  'legacy-api': boolean;
  'metrics-token-file'?: string;
  'tls-host'?: string[];
}

export async function serverConfigFrom(args: ServerArgs): Promise<Partial<ServerConfig>> {
  return {
    ...(args['metrics-token-file'] === undefined ? {} : { metricsToken: await readMetricsToken(args['metrics-token-file']) }),
    apiHost: args.host,
    mqttHost: args.host,
    apiPort: args['api-port'],
    mqttPort: args['mqtt-port'],
    dataDir: args['data-dir'],
    insecureHttp: args['insecure-http'],
    defaultCommandTimeoutMs: args['command-timeout'],
    logLevel: args['log-level'],
    legacyApi: args['legacy-api'],
    ...(args['database-url'] ? { databaseUrl: args['database-url'] } : {}),
    ...(args['service-port'] === undefined ? {} : { servicePort: args['service-port'] }),
    ...tlsHostConfig(requestedTlsHosts(args['tls-host'])),
  };
}

/** --tls-host, or else env IOTCLOUD_TLS_HOSTS (comma-separated). */
export function requestedTlsHosts(flag: readonly string[] | undefined): string[] {
  if (flag !== undefined) return [...flag];
  return (process.env.IOTCLOUD_TLS_HOSTS ?? '').split(',').map((host) => host.trim()).filter((host) => host !== '');
}

/** --tls-host: the certificate's names (the loopback defaults plus these) and the public host (the first), checked and canonical. */
export function tlsHostConfig(hosts: readonly string[]): Pick<ServerConfig, 'tlsHosts' | 'publicHost'> | Record<string, never> {
  if (hosts.length === 0) return {};
  const extra = hosts.map((host) => {
    try {
      return canonicalHost(host).value;
    } catch (error) {
      throw new UsageError(`--tls-host: ${(error as Error).message}; e.g. --tls-host 192.168.1.20 or --tls-host myhost.lan`);
    }
  });
  return { tlsHosts: [...new Set([...defaultConfig.tlsHosts, ...extra])], publicHost: extra[0]! };
}

/** The ports these flags make the server listen on, named by their flags (checked before start-up). */
export function portClaims(args: Pick<ServerArgs, 'host' | 'api-port' | 'mqtt-port' | 'service-port'> & { engine?: ServerArgs['engine'] }): PortClaim[] {
  return [
    { flag: '--api-port', host: args.host, port: args['api-port'] },
    ...(args.engine === 'rabbitmq' ? [] : [{ flag: '--mqtt-port', host: args.host, port: args['mqtt-port'] }]),
    ...(args['service-port'] ? [{ flag: '--service-port', host: '127.0.0.1', port: args['service-port'] }] : []),
  ];
}

/** The token in --metrics-token-file: one line of at least 16 characters. */
async function readMetricsToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --metrics-token-file ${path}: ${(error as Error).message}`);
  }
  const token = text.trim();
  if (!/^[\x21-\x7e]{16,256}$/.test(token)) throw new UsageError(`--metrics-token-file ${path} must hold one token of 16-256 printable characters (e.g. \`openssl rand -hex 32 > ${path}\`)`);
  return token;
}
