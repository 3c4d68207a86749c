import type { CommandModule } from 'yargs';
import { isLoopback } from '../../server/config.ts';
import type { RunningServer } from '../../server/server.ts';
import { currentAllocator } from '../process/allocator.ts';
import { untilStopped } from '../process/signals.ts';
import { cliLogger } from '../logging.ts';
import { ensurePortsFree } from '../port-check.ts';
import { portClaims, serverOptions, serverConfigFrom, type ServerArgs } from '../server-options.ts';

export const upCommand: CommandModule<object, ServerArgs> = {
  command: 'up',
  describe: 'Start the reference server on embedded engines (REST API, MQTTS broker, CA, registry)',
  builder: (y) => y.options(serverOptions),
  handler: async (args) => {
    await ensurePortsFree(portClaims(args));
    // Loaded here, not above: every other command starts without the server (cli/main.ts).
    const [{ startServer }, { engineSetup }, { harnessConformanceRunner }] = await Promise.all([import('../../server/server.ts'), import('../engine.ts'), import('../console-conformance.ts')]);
    const config = await serverConfigFrom(args);
    const engine = await engineSetup(args.engine, args['broker-state-dir'], args['data-dir'], config.tlsHosts);
    const server = await startServer({ ...config, ...engine.config }, await cliLogger(args), { ...engine.dependencies, conformanceRunner: harnessConformanceRunner });
    const stopped = untilStopped(); // listen before the banner: a caller may signal as soon as it reads it
    printServer(server);
    await stopped;
    console.log('iotcloud: shutting down');
    await server.close();
  },
};

/** The server certificate's names, and whether this start created or reissued it (same root: boards keep trusting it). */
function certificateLine(server: RunningServer): string {
  const { status, hosts } = server.certificate;
  const what = { created: 'created for', reused: 'valid for', reissued: 'reissued from the same root CA (boards keep trusting it) for' }[status];
  return `server certificate ${what} ${hosts.join(', ')}`;
}

/** Where a board on the LAN connects (--tls-host), or what it lacks to connect at all. */
function lanLines(server: RunningServer): string {
  if (!server.publicUrls) {
    if (isLoopback(server.config.apiHost)) return '';
    return `\n  LAN        listening on ${server.config.apiHost}, but the certificate names only ${server.certificate.hosts.join(', ')}: for boards on the LAN add --tls-host <the address or name they use>`;
  }
  const loopbackOnly = isLoopback(server.config.apiHost) ? `\n  warning    listening on ${server.config.apiHost} only: boards on the LAN cannot reach it; add --host 0.0.0.0` : '';
  return `\n  LAN        ${server.publicUrls.apiUrl}   ${server.publicUrls.deviceUrl}   (registrations hand out ${server.publicUrls.deviceUrl})${loopbackOnly}`;
}

export function printServer(server: RunningServer): void {
  console.log(`iotcloud server is running
  console    ${server.consoleBuilt ? `${server.apiUrl}/   (web console: devices, commands, live metrics)` : 'not built: run `npm run build:console` (npm install does it), then restart'}
  REST API   ${server.apiUrl}   (OpenAPI: ${server.apiUrl}/api/v1/openapi.json)${server.config.legacyApi ? `\n  original   ${server.apiUrl}/signup, /login, /register_device, /get_gpio, ...   (libpyiotcloud clients; --no-legacy-api turns it off)` : ''}
  metrics    ${server.apiUrl}/metrics   (Prometheus; ${server.config.metricsToken === undefined ? 'loopback clients only, or --metrics-token-file' : 'bearer token from --metrics-token-file'})
  devices    ${server.mqttUrl}   (mutual TLS, client id = device id)
  root CA    ${server.caCertPath}
  TLS        ${certificateLine(server)}${lanLines(server)}${server.service ? `\n  service    ${server.service.url}   (loopback, for the harness; credentials ${server.service.credentialsPath})` : ''}
  bus        ${server.config.busEngine === 'rabbitmq' ? `RabbitMQ (${server.config.rabbitmq!.url})` : 'embedded'}
  data       ${server.config.databaseUrl ? 'PostgreSQL' : server.config.dataDir}
  process    pid ${process.pid}, ${currentAllocator()} malloc
Press Ctrl+C to stop.`);
}
