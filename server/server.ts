/**
 * Starts the reference server: certificate authority, registry, device bus and REST API, wired
 * together. `iotcloud up` calls this; so do the end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { certificateFiles, loadOrCreateCertificateAuthority, loadOrCreateServerCertificate, type LoadedServerCertificate } from '../certs/index.ts';
import { urlHostOfListener, withHost } from '../device-link/index.ts';
import { Accounts } from './accounts.ts';
import { buildApp } from './api/app.ts';
import { SERVICE_CLIENT_PREFIX, SERVICE_USERNAME, startEmbeddedBus } from './bus/embedded.ts';
import { startRabbitmqBus, type BrokerControl } from './bus/rabbitmq.ts';
import type { DeviceBus } from './bus/device-bus.ts';
import { checkConfig, defaultConfig, type ServerConfig } from './config.ts';
import { DeviceRegistry } from './devices.ts';
import { batchedDeviceAuthority, presenceRecorder } from './connect-path.ts';
import { openStore } from './registry/index.ts';
import { deviceView } from './api/device-view.ts';
import type { ConformanceRunner } from './web/conformance.ts';
import { loadConsoleFiles } from './web/static.ts';
import { LiveHub } from './live/hub.ts';
import { ServerMetrics } from './metrics/metrics.ts';
import { ObservedBus } from './metrics/observed-bus.ts';
import { CostlyWork } from './costly-work.ts';

const SESSION_SWEEP_MS = 5 * 60_000;

/** How a trusted local service reaches the broker as the server (see ServerConfig.servicePort). */
export interface ServiceAccess {
  url: string;
  username: string;
  password: string;
  /** Client ids must start with this. */
  clientIdPrefix: string;
  credentialsPath: string;
}

export interface RunningServer {
  apiUrl: string;
  mqttUrl: string;
  /** With a public host: the API and device URLs a board on another machine uses (the device one is what registrations hand out). */
  publicUrls?: { apiUrl: string; deviceUrl: string };
  /** The server certificate: its names and whether it was created, reused or reissued at this start. */
  certificate: Pick<LoadedServerCertificate, 'status' | 'hosts'>;
  service?: ServiceAccess;
  caCertPath: string;
  rootCaPem: string;
  config: ServerConfig;
  /** Whether the web console is built (served at apiUrl/); when not, `/` says how to build it. */
  consoleBuilt: boolean;
  close(): Promise<void>;
}

/** Parts the CLI hands in from other modules (the server never imports broker/). */
export interface ServerDependencies {
  /** RabbitMQ engine: closes revoked devices' connections and lists connections for presence. */
  brokerControl?: BrokerControl;
  /** Runs the conformance suite from the console's device page (the CLI wires in the harness). */
  conformanceRunner?: ConformanceRunner;
}

export async function startServer(overrides: Partial<ServerConfig> = {}, logger?: Logger, dependencies: ServerDependencies = {}): Promise<RunningServer> {
  const config: ServerConfig = { ...defaultConfig, ...overrides };
  checkConfig(config);
  const log = logger ?? pino({ level: config.logLevel });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  const caDir = join(config.dataDir, 'ca');
  const ca = await loadOrCreateCertificateAuthority(caDir);
  const serverTls = await loadOrCreateServerCertificate(ca, join(config.dataDir, 'tls'), config.tlsHosts);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: join(config.dataDir, 'registry') });
  await store.migrate();

  const servicePassword = config.servicePort === undefined ? undefined : randomBytes(24).toString('base64url');
  const busLog = log.child({ component: 'bus' });
  const engineBus: DeviceBus =
    config.busEngine === 'rabbitmq'
      ? await startRabbitmqBus({
          url: config.rabbitmq!.url,
          tls: config.rabbitmq!.tls,
          deviceUrl: config.rabbitmq!.deviceUrl,
          ...(dependencies.brokerControl ? { control: dependencies.brokerControl } : {}),
          logger: busLog,
        })
      : await startEmbeddedBus({
          ...(servicePassword === undefined ? {} : { service: { port: config.servicePort!, password: servicePassword } }),
          host: config.mqttHost,
          port: config.mqttPort,
          tls: { clientTrustPem: ca.clientTrustPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
          authority: batchedDeviceAuthority(store),
          logger: busLog,
        });
  const presence = presenceRecorder(store, log);
  engineBus.onPresence((event) => presence.record(event));

  const metrics = new ServerMetrics(() => engineBus.counters().devicesConnected);
  const costly = new CostlyWork();
  const accounts = new Accounts(store, { tokenTtlMs: config.tokenTtlMs, costly });
  // Expired sessions are deleted, not only ignored: a table a login flood grows must shrink again.
  const sweep = () => accounts.sweepExpiredSessions().catch((error: unknown) => log.warn({ err: error }, 'sweeping expired sessions failed; retrying later'));
  await sweep();
  const sweeper = setInterval(() => void sweep(), SESSION_SWEEP_MS).unref();
  // The live channel's callbacks reach the registry and bus defined below; they run only once requests come.
  const live = new LiveHub({
    listDevices: async (userId) => (await devices.list(userId)).map((device) => deviceView(device, bus.isConnected(device.id))),
    view: (change) => deviceView(change.device, change.kind === 'registered' && bus.isConnected(change.device.id)),
  });
  const bus = new ObservedBus(engineBus, (outcome) => {
    metrics.command(outcome);
    live.command(outcome);
  });
  const devices = new DeviceRegistry(store, ca, bus, costly, { observeLatency: (operation, seconds) => metrics.registryOperation(operation, seconds) });
  bus.onPresence((event) => {
    metrics.presence(event);
    live.presence(event);
  });
  devices.onChange((change) => live.deviceChanged(change));
  let apiUrl = '';
  const consoleFiles = loadConsoleFiles(config.consoleDir);
  const app = await buildApp({
    logger: log,
    ...(config.insecureHttp ? {} : { https: serverTls }),
    accounts,
    devices,
    bus,
    rootCaPem: ca.rootCertPem,
    deviceUrl: config.publicHost === undefined ? bus.deviceUrl : withHost(bus.deviceUrl, config.publicHost),
    defaultCommandTimeoutMs: config.defaultCommandTimeoutMs,
    ...(config.loginLimits ? { loginLimits: config.loginLimits } : {}),
    legacyApi: config.legacyApi,
    offlineGraceMs: config.offlineGraceMs,
    ...(config.busEngine === 'rabbitmq' ? { brokerAuth: { authority: store, serviceUser: config.rabbitmq!.serviceUser, node: config.rabbitmq!.authNode } } : {}),
    console: {
      files: consoleFiles,
      live: live,
      ...(dependencies.conformanceRunner ? { conformance: { runner: dependencies.conformanceRunner, apiUrl: () => apiUrl, caPem: ca.rootCertPem } } : {}),
    },
    metrics: { metrics, ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }) },
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  const { port } = app.server.address() as { port: number };
  const host = urlHostOfListener(config.apiHost);

  apiUrl = `${config.insecureHttp ? 'http' : 'https'}://${host}:${port}`;
  let service: ServiceAccess | undefined;
  if (bus.serviceUrl && servicePassword) {
    const credentialsPath = resolve(config.dataDir, 'service.json');
    service = { url: bus.serviceUrl, username: SERVICE_USERNAME, password: servicePassword, clientIdPrefix: SERVICE_CLIENT_PREFIX, credentialsPath };
    await writeFile(credentialsPath, `${JSON.stringify({ url: service.url, username: service.username, password: service.password, clientIdPrefix: service.clientIdPrefix }, null, 2)}\n`, { mode: 0o600 });
    await chmod(credentialsPath, 0o600); // writeFile's mode applies only to a new file
  }

  let closing: Promise<void> | undefined;
  return {
    apiUrl,
    consoleBuilt: consoleFiles !== undefined,
    mqttUrl: bus.deviceUrl,
    ...(config.publicHost === undefined ? {} : { publicUrls: { apiUrl: withHost(apiUrl, config.publicHost).replace(/\/$/, ''), deviceUrl: withHost(bus.deviceUrl, config.publicHost) } }),
    certificate: { status: serverTls.status, hosts: serverTls.hosts },
    ...(service ? { service } : {}),
    caCertPath: resolve(caDir, certificateFiles.rootCert),
    rootCaPem: ca.rootCertPem,
    config,
    close() {
      closing ??= (async () => {
        live.stop();
        clearInterval(sweeper);
        await app.close();
        await bus.close();
        await presence.flush();
        await store.close();
      })();
      return closing;
    },
  };
}
