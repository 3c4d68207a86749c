/** Flags that configure a server, shared by `up` and `demo`. */
import type { Options } from 'yargs';
import { defaultConfig, type ServerConfig } from '../server/config.ts';

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
  'log-level': { type: 'string', default: 'warn', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] },
  'legacy-api': { type: 'boolean', default: true, describe: 'the original libpyiotcloud REST API at the root path (/signup, /register_device, /get_gpio, ...); --no-legacy-api turns it off' },
} as const satisfies Record<string, Options>;

export interface ServerArgs {
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
  'log-level': string;
  'legacy-api': boolean;
}

export function serverConfigFrom(args: ServerArgs): Partial<ServerConfig> {
  return {
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
  };
}
