/**
 * A whole RabbitMQ-engine platform for tests and the benchmark, on free ports in a temp folder:
 * an ephemeral CA, an in-memory registry, the broker-auth endpoints on HTTPS (as the real server
 * serves them), a project-owned RabbitMQ node, and the RabbitMQ device bus with its CLI control.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { rabbitmqctlControl } from '../broker/control.ts';
import { brokerAuthNodeUser, nodeAddress, prepareServiceCredentials, serviceUsername, startBrokerNode, stopBrokerNode, type BrokerNode, type BrokerNodeOptions } from '../broker/node.ts';
import { createEphemeralCertificateAuthority, type CertificateAuthority } from '../certs/index.ts';
import { registerBrokerAuthRoutes } from '../server/api/broker-auth-routes.ts';
import type { DeviceBus } from '../server/bus/device-bus.ts';
import { startRabbitmqBus, type BrokerControl } from '../server/bus/rabbitmq.ts';
import { openPgliteStore, type SqlRegistryStore } from '../server/registry/index.ts';
import type { Credentials } from '../device-link/index.ts';

export interface RabbitmqPlatform {
  ca: CertificateAuthority;
  store: SqlRegistryStore;
  node: BrokerNode;
  bus: DeviceBus;
  control: BrokerControl;
  logger: Logger;
  /** The server's login to the node: platform root and a service client certificate (SASL EXTERNAL). */
  serviceTls: { caPem: string; certPem: string; keyPem: string };
  /** A bus like the server's (another server instance), on the same node. */
  startBus(control?: BrokerControl): Promise<DeviceBus>;
  /** How many requests the broker-auth endpoints answered (the auth cache saves the others). */
  authRequests(): number;
  /** Issue a certificate and register the device. */
  register(deviceId: string): Promise<Credentials>;
  /** Stop and start the node in place (same state, ports, users); resolves with the boot time. */
  restartNode(): Promise<number>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  authCacheTtlMs?: number;
  /** Start the bus (default true). */
  bus?: boolean;
  /** Serve the broker-auth endpoints over HTTPS, as the real server does (default true). */
  authTls?: boolean;
  /** Where the platform's log lines go (default: silent unless IOTCLOUD_TEST_LOG is set). */
  logger?: Logger;
}

export async function startRabbitmqPlatform(options: PlatformOptions = {}): Promise<RabbitmqPlatform> {
  const logger = options.logger ?? pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' });
  const stateDir = await mkdtemp(join(tmpdir(), 'iotcloud-rabbitmq-'));
  const ca = await createEphemeralCertificateAuthority();
  const serverTls = await ca.issueServerCertificate(['localhost', '127.0.0.1']);
  const store = await openPgliteStore(undefined);
  await store.migrate();
  const owner = await store.createUser(`owner${process.pid}`, 'not-a-real-hash');

  const authTls = options.authTls ?? true;
  const authApp = Fastify({ ...(authTls ? { https: { cert: serverTls.certPem, key: serverTls.keyPem } } : {}), loggerInstance: logger }) as unknown as FastifyInstance;
  let authRequests = 0;
  authApp.addHook('onRequest', async () => void authRequests++);
  const { authSecret } = await prepareServiceCredentials(stateDir);
  registerBrokerAuthRoutes(authApp, { authority: store, serviceUser: serviceUsername, node: { user: brokerAuthNodeUser, secret: authSecret }, logger });
  await authApp.listen({ host: '127.0.0.1', port: 0 });
  const authPort = (authApp.server.address() as { port: number }).port;

  const [amqpsPort, mqttsPort, distPort] = await freePorts(3);
  const service = await ca.issueServiceCertificate(serviceUsername);
  const serviceTls = { caPem: ca.rootCertPem, certPem: service.certPem, keyPem: service.keyPem };
  const nodeOptions: BrokerNodeOptions = {
    stateDir,
    amqpsPort,
    mqttsPort,
    distPort,
    tls: { clientTrustPem: ca.clientTrustPem, rootCaPem: ca.rootCertPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
    authUrl: `${authTls ? 'https' : 'http'}://127.0.0.1:${authPort}/api/v1/broker-auth`,
    authCacheTtlMs: options.authCacheTtlMs ?? 10_000,
    logLevel: process.env.IOTCLOUD_TEST_RABBITMQ_LOG ?? 'warning',
    install: false,
  };
  let node: BrokerNode;
  try {
    node = await startBrokerNode(nodeOptions);
  } catch (error) {
    await authApp.close();
    await store.close();
    throw error;
  }
  // A test process that dies without afterAll must not leave a detached node behind.
  const killNode = () => {
    try {
      process.kill(node.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', killNode);
  const control = rabbitmqctlControl((await nodeAddress(stateDir))!);
  const startBus = (busControl: BrokerControl = control) =>
    startRabbitmqBus({
      url: node.amqpsUrl,
      tls: serviceTls,
      deviceUrl: node.mqttsUrl,
      control: busControl,
      logger: logger.child({ component: 'bus' }),
      reconnect: { initialMs: 50, maxMs: 500 },
    });
  const bus = options.bus === false ? (undefined as unknown as DeviceBus) : await startBus();

  let names = 0;
  return {
    ca,
    store,
    get node() {
      return node;
    },
    bus,
    control,
    logger,
    serviceTls,
    startBus,
    authRequests: () => authRequests,
    async register(deviceId) {
      const issued = await ca.issueDeviceCertificate(deviceId);
      await store.createDevice({ id: deviceId, ownerId: owner.id, name: `device ${names++}`, certFingerprint: issued.fingerprint });
      return { caPem: ca.rootCertPem, certPem: issued.certPem, keyPem: issued.keyPem };
    },
    async restartNode() {
      await stopBrokerNode({ stateDir });
      node = await startBrokerNode(nodeOptions);
      return node.bootMs;
    },
    async close() {
      await bus?.close();
      await stopBrokerNode({ stateDir });
      process.off('exit', killNode);
      await authApp.close();
      await store.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Free TCP ports on loopback, outside the range the RabbitMQ CLI uses for itself (35672-35682). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (port < 35_660 || port > 35_700) ports.add(port);
  }
  return [...ports];
}
