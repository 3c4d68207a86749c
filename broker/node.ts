/**
 * A project-owned RabbitMQ node beside the machine's own: its own node name, ports, cookie, data,
 * logs and configuration under one state folder (default var/rabbitmq). It runs as the user who
 * starts it (not `su rabbitmq`, which would cap it at 1024 open files and need every file readable
 * by that user), with the open-file limit raised so thousands of devices fit.
 */
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { certificateBundle } from '../certs/index.ts';
import { renderAdvancedConfig, renderEnabledPlugins, renderRabbitmqConf } from './config.ts';
import { ctl, CtlError, lastLines, type NodeAddress } from './ctl.ts';
import { ensureDir, isAlive, readIfExists, readJson, readPid, writeAtomic } from './files.ts';
import { brokerEnv, brokerLayout, defaultBrokerPorts, defaultNodeName, defaultStateDir, rabbitmqBin, type BrokerLayout } from './layout.ts';
import { urlHostOfListener } from '../device-link/index.ts';

export { defaultBrokerPorts, defaultStateDir } from './layout.ts';
/** Not a valid device id (ids start with a letter or digit): no device certificate can carry it. */
export const serviceUsername = '_iotcloud-server';

export interface BrokerTls {
  /** CAs device listeners accept client certificates from: the CA's clientTrustPem (the root is added, see writeNodeFiles). */
  clientTrustPem: string;
  /** The platform root: the node checks the server's broker-auth endpoint against it. */
  rootCaPem: string;
  /** The node's certificate, from the root. */
  certPem: string;
  keyPem: string;
}

export interface BrokerNodeOptions {
  stateDir?: string;
  /** AMQPS (0-9-1 and 1.0) for devices and the iotcloud server; there is no plain AMQP listener. */
  amqpsPort?: number;
  /** MQTTS for devices. */
  mqttsPort?: number;
  /** Plain MQTT on 127.0.0.1 (debugging only); off unless set. */
  mqttPort?: number;
  /** Erlang distribution port (rabbitmqctl reaches the node there); default amqpsPort + 20000. */
  distPort?: number;
  /** Bind address of the device listeners; default 127.0.0.1, 0.0.0.0 to serve a network. */
  deviceHost?: string;
  nodeName?: string;
  /** Platform root CA and the server certificate the node presents to devices. */
  tls: BrokerTls;
  /** Base URL of the iotcloud server's broker-auth endpoints, e.g. https://127.0.0.1:8443/api/v1/broker-auth. */
  authUrl: string;
  authCacheTtlMs?: number;
  /** RabbitMQ log level: debug, info, warning, error. */
  logLevel?: string;
  maxOpenFiles?: number;
  bootTimeoutMs?: number;
  /** Install the Debian package when it is missing and we are root (default true). */
  install?: boolean;
  /** Progress messages for a person (no secrets). */
  log?: (message: string) => void;
}

/** What `start` records in node.json: enough for stop and status to find the node again. */
export interface BrokerNodeState {
  nodeName: string;
  distPort: number;
  pid: number;
  amqpsPort: number;
  mqttsPort: number;
  mqttPort?: number;
  deviceHost: string;
  authUrl: string;
  startedAt: string;
}

export interface ServiceCredentials {
  username: string;
  password: string;
  /**
   * What the node proves itself with to the server's broker-auth endpoints: HTTP Basic
   * `node:<secret>` (RabbitMQ 3.10's HTTP backend cannot send a client certificate or a header,
   * but its HTTP client sends the user info of the URL as Basic authentication).
   */
  authSecret: string;
}

/** The user name of the node's Basic authentication at the broker-auth endpoints (the secret is the password). */
export const brokerAuthNodeUser = 'node';


export interface BrokerNode extends BrokerNodeState {
  stateDir: string;
  /** Devices and the iotcloud server (by its service client certificate). */
  amqpsUrl: string;
  mqttsUrl: string;
  credentials: ServiceCredentials;
  /** From spawn to "rabbitmqctl wait" returning; 0 when the node was already running. */
  bootMs: number;
  alreadyRunning: boolean;
}

export async function startBrokerNode(options: BrokerNodeOptions): Promise<BrokerNode> {
  const log = options.log ?? (() => undefined);
  await ensureRabbitmqInstalled(options.install ?? true, log);
  const layout = brokerLayout(options.stateDir ?? defaultStateDir);
  const amqpsPort = options.amqpsPort ?? defaultBrokerPorts.amqps;
  const state: Omit<BrokerNodeState, 'pid' | 'startedAt'> = {
    nodeName: options.nodeName ?? defaultNodeName(amqpsPort),
    distPort: options.distPort ?? amqpsPort + 20000,
    amqpsPort,
    mqttsPort: options.mqttsPort ?? defaultBrokerPorts.mqtts,
    ...(options.mqttPort === undefined ? {} : { mqttPort: options.mqttPort }),
    deviceHost: options.deviceHost ?? '127.0.0.1',
    authUrl: options.authUrl.replace(/\/+$/, ''),
  };

  const running = await runningNode(layout);
  if (running) {
    log(`node ${running.nodeName} is already running (pid ${running.pid}); stop it first to apply new settings`);
    return describe(layout, running, await loadOrCreateCredentials(layout), 0, true);
  }

  await prepareStateDir(layout);
  const credentials = await loadOrCreateCredentials(layout);
  await writeNodeFiles(layout, state, credentials, options);
  await assertPortsFree(state);

  log(`starting RabbitMQ node ${state.nodeName} in ${layout.stateDir}`);
  const startedAt = performance.now();
  const pid = await spawnAndWait(layout, state, options.maxOpenFiles ?? 65536, options.bootTimeoutMs ?? 90_000);
  const bootMs = performance.now() - startedAt;
  const recorded: BrokerNodeState = { ...state, pid, startedAt: new Date().toISOString() };
  await writeAtomic(layout.stateFile, `${JSON.stringify(recorded, null, 2)}\n`, 0o644);
  log(`node ${state.nodeName} is up in ${(bootMs / 1000).toFixed(1)} s (pid ${pid})`);
  return describe(layout, recorded, credentials, bootMs, false);
}

export interface StopOptions {
  stateDir?: string;
  timeoutMs?: number;
  log?: (message: string) => void;
}

/** Stop the node recorded in the state folder and wait for its process to end. False when it was not running. */
export async function stopBrokerNode(options: StopOptions = {}): Promise<boolean> {
  const log = options.log ?? (() => undefined);
  const layout = brokerLayout(options.stateDir ?? defaultStateDir);
  const state = await readJson<BrokerNodeState>(layout.stateFile);
  const pid = (await readPid(layout.pidFile)) ?? state?.pid;
  if (!state || !isAlive(pid)) {
    await rm(layout.pidFile, { force: true });
    return false;
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  log(`stopping RabbitMQ node ${state.nodeName} (pid ${pid})`);
  try {
    // `stop <pidfile>` returns once the OS process is gone, not merely when the app stopped.
    await ctl(address(layout, state), ['stop', layout.pidFile], { timeoutMs });
  } catch (error) {
    // The node does not answer its CLI (hung, or the cookie is gone): end the process we started.
    log(`rabbitmqctl stop failed (${(error as Error).message}); sending SIGTERM to pid ${pid}`);
    await killAndWait(pid!, timeoutMs);
  }
  await rm(layout.pidFile, { force: true });
  return true;
}

export interface BrokerStatus {
  running: boolean;
  stateDir: string;
  state?: BrokerNodeState;
  /** From `rabbitmqctl status` when running. */
  rabbitmqVersion?: string;
  uptimeSeconds?: number;
  fileDescriptors?: { used: number; limit: number };
  memoryBytes?: number;
  listeners?: string[];
  /** Why the details are missing although the process lives. */
  problem?: string;
}

export async function brokerStatus(options: { stateDir?: string } = {}): Promise<BrokerStatus> {
  const layout = brokerLayout(options.stateDir ?? defaultStateDir);
  const state = await readJson<BrokerNodeState>(layout.stateFile);
  const pid = (await readPid(layout.pidFile)) ?? state?.pid;
  if (!state || !isAlive(pid)) return { running: false, stateDir: layout.stateDir, ...(state ? { state } : {}) };
  try {
    const text = await ctl(address(layout, state), ['-q', 'status', '--formatter', 'json'], { timeoutMs: 20_000 });
    const status = JSON.parse(text) as RabbitmqctlStatus;
    return {
      running: true,
      stateDir: layout.stateDir,
      state: { ...state, pid: pid! },
      rabbitmqVersion: status.rabbitmq_version,
      uptimeSeconds: status.uptime,
      fileDescriptors: { used: status.file_descriptors?.total_used ?? 0, limit: status.file_descriptors?.total_limit ?? 0 },
      memoryBytes: status.memory?.total?.rss ?? status.memory?.total?.erlang,
      listeners: (status.listeners ?? []).map((l) => `${l.protocol} ${l.interface}:${l.port}`),
    };
  } catch (error) {
    return { running: true, stateDir: layout.stateDir, state, problem: (error as Error).message };
  }
}

interface RabbitmqctlStatus {
  rabbitmq_version?: string;
  uptime?: number;
  file_descriptors?: { total_used?: number; total_limit?: number };
  memory?: { total?: { rss?: number; erlang?: number } };
  listeners?: { protocol: string; interface: string; port: number }[];
}

/** The server's AMQP login for the node in `stateDir` (created by the first start). */
export async function readServiceCredentials(stateDir = defaultStateDir): Promise<ServiceCredentials> {
  const layout = brokerLayout(stateDir);
  const credentials = await readJson<ServiceCredentials>(layout.credentialsFile);
  if (!credentials) throw new Error(`no broker credentials in ${layout.credentialsFile}: start the node with \`iotcloud broker start\` first`);
  if (!credentials.authSecret) {
    throw new Error(`${layout.credentialsFile} has no node secret (the node was started by an older iotcloud): restart it with \`iotcloud broker stop\` then \`iotcloud broker start\``);
  }
  return credentials;
}

/**
 * The service credentials and node secret of `stateDir`, made now when missing (start does the
 * same): for a server that must serve the broker-auth endpoints before the node's first start.
 */
export async function prepareServiceCredentials(stateDir = defaultStateDir): Promise<ServiceCredentials> {
  return loadOrCreateCredentials(brokerLayout(stateDir));
}

/** How rabbitmqctl reaches the node recorded in `stateDir`; undefined when none was started there. */
export async function nodeAddress(stateDir = defaultStateDir): Promise<NodeAddress | undefined> {
  const layout = brokerLayout(stateDir);
  const state = await readJson<BrokerNodeState>(layout.stateFile);
  return state && address(layout, state);
}

// ---------------------------------------------------------------------------------------------

function address(layout: BrokerLayout, state: Pick<BrokerNodeState, 'nodeName' | 'distPort'>): NodeAddress {
  return { layout, nodeName: state.nodeName, distPort: state.distPort };
}

function describe(layout: BrokerLayout, state: BrokerNodeState, credentials: ServiceCredentials, bootMs: number, alreadyRunning: boolean): BrokerNode {
  const host = urlHostOfListener(state.deviceHost);
  return {
    ...state,
    stateDir: layout.stateDir,
    amqpsUrl: `amqps://${host}:${state.amqpsPort}`,
    mqttsUrl: `mqtts://${host}:${state.mqttsPort}`,
    credentials,
    bootMs,
    alreadyRunning,
  };
}

async function runningNode(layout: BrokerLayout): Promise<BrokerNodeState | undefined> {
  const state = await readJson<BrokerNodeState>(layout.stateFile);
  const pid = await readPid(layout.pidFile);
  return state && isAlive(pid) ? { ...state, pid: pid! } : undefined;
}

async function prepareStateDir(layout: BrokerLayout): Promise<void> {
  await ensureDir(layout.stateDir);
  await ensureDir(layout.logBase);
  await ensureDir(layout.mnesiaBase);
  await ensureDir(layout.tlsDir);
  // The Erlang cookie lets whoever can read it run code on the node: owner-only, made once.
  const cookiePath = join(layout.homeDir, '.erlang.cookie');
  if ((await readIfExists(cookiePath)) === undefined) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const cookie = [...randomBytes(32)].map((byte) => alphabet[byte % alphabet.length]).join('');
    await writeAtomic(cookiePath, cookie, 0o400);
  }
}

async function loadOrCreateCredentials(layout: BrokerLayout): Promise<ServiceCredentials> {
  const existing = await readJson<Partial<ServiceCredentials>>(layout.credentialsFile);
  if (existing?.username && existing.password && existing.authSecret) return existing as ServiceCredentials;
  // The node creates this user from rabbitmq.conf on its first boot only: keep it stable (a
  // state folder from before the auth secret keeps its password and gains a secret).
  const credentials = {
    username: existing?.username ?? serviceUsername,
    password: existing?.password ?? randomBytes(24).toString('base64url'),
    authSecret: randomBytes(24).toString('hex'),
  };
  await ensureDir(layout.stateDir);
  await writeAtomic(layout.credentialsFile, `${JSON.stringify(credentials)}\n`, 0o600);
  return credentials;
}

async function writeNodeFiles(
  layout: BrokerLayout,
  state: Omit<BrokerNodeState, 'pid' | 'startedAt'>,
  credentials: ServiceCredentials,
  options: BrokerNodeOptions,
): Promise<void> {
  const clientCaFile = join(layout.tlsDir, 'client-ca.crt');
  const rootCaFile = join(layout.tlsDir, 'ca.crt');
  const certFile = join(layout.tlsDir, 'server.crt');
  const keyFile = join(layout.tlsDir, 'server.key');
  // The root as well: Erlang builds the node's own chain from this file only, and without its
  // issuer there a connect cost the node 21-23 ms of CPU instead of 17-18 (500 MQTTS devices, 2
  // runs each). The root issues only serverAuth certificates, which Erlang refuses as clients'.
  await writeAtomic(clientCaFile, certificateBundle(options.tls.clientTrustPem, options.tls.rootCaPem), 0o644);
  await writeAtomic(rootCaFile, options.tls.rootCaPem, 0o644);
  await writeAtomic(certFile, options.tls.certPem, 0o644);
  await writeAtomic(keyFile, options.tls.keyPem, 0o600);
  const conf = await renderRabbitmqConf({
    amqpsPort: state.amqpsPort,
    mqttsPort: state.mqttsPort,
    mqttPort: state.mqttPort,
    deviceHost: state.deviceHost,
    clientCaFile,
    certFile,
    keyFile,
    serviceUser: credentials.username,
    servicePassword: credentials.password,
    authUrl: withUserInfo(state.authUrl, brokerAuthNodeUser, credentials.authSecret),
    authCacheTtlMs: options.authCacheTtlMs ?? 10_000,
    logLevel: options.logLevel ?? 'warning',
  });
  await writeAtomic(layout.configFile, conf, 0o600); // holds the service password
  await writeAtomic(layout.advancedConfigFile, renderAdvancedConfig({ authUrl: state.authUrl, rootCaFile }), 0o600);
  await writeAtomic(layout.enabledPluginsFile, renderEnabledPlugins(), 0o644);
  await writeAtomic(layout.envFile, '# iotcloud: settings come from the environment of `iotcloud broker start`\n', 0o644);
}

/** `https://node:secret@host/...`: how the node's HTTP client is told to send Basic authentication. */
function withUserInfo(url: string, user: string, secret: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = secret;
  return parsed.href.replace(/\/+$/, '');
}

/** RabbitMQ fails late and vaguely on a busy port; say which one up front. */
async function assertPortsFree(state: Omit<BrokerNodeState, 'pid' | 'startedAt'>): Promise<void> {
  const ports: [string, string, number | undefined][] = [
    ['AMQPS', state.deviceHost, state.amqpsPort],
    ['MQTTS', state.deviceHost, state.mqttsPort],
    ['MQTT', '127.0.0.1', state.mqttPort],
    ['distribution', '127.0.0.1', state.distPort],
  ];
  for (const [name, host, port] of ports) {
    if (port === undefined) continue;
    const error = await tryListen(host, port);
    if (error) throw new Error(`cannot start the broker: ${name} port ${host}:${port} is not free (${error}); choose another with the port options`);
  }
}

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** Start the server process detached from us, then wait until RabbitMQ reports it booted. */
async function spawnAndWait(layout: BrokerLayout, state: Omit<BrokerNodeState, 'pid' | 'startedAt'>, maxOpenFiles: number, bootTimeoutMs: number): Promise<number> {
  await rm(layout.pidFile, { force: true });
  const out = openSync(layout.startupLog, 'a', 0o600);
  // Raise the soft limit as far as allowed: as root the hard limit can rise too.
  const script = `ulimit -n ${maxOpenFiles} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0"`;
  const child = spawn('/bin/sh', ['-c', script, join(rabbitmqBin, 'rabbitmq-server')], {
    env: brokerEnv(layout, state.nodeName, state.distPort),
    cwd: layout.stateDir,
    detached: true, // its own process group: outlives the CLI and ignores the terminal's Ctrl+C
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();

  const node = address(layout, state);
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code, signal) => {
      void readFile(layout.startupLog, 'utf8').then(
        (text) => reject(new Error(`RabbitMQ exited during boot (${signal ?? `code ${code}`}): ${lastLines(text, 12)}\n(full log: ${layout.logBase})`)),
        () => reject(new Error(`RabbitMQ exited during boot (${signal ?? `code ${code}`}); see ${layout.logBase}`)),
      );
    });
  });
  exited.catch(() => undefined); // only observed through the race below
  const seconds = Math.ceil(bootTimeoutMs / 1000);
  try {
    await Promise.race([ctl(node, ['wait', '--timeout', String(seconds), layout.pidFile], { timeoutMs: bootTimeoutMs + 10_000 }), exited]);
  } catch (error) {
    if (child.exitCode === null && child.pid !== undefined) await killAndWait((await readPid(layout.pidFile)) ?? child.pid, 10_000);
    if (error instanceof CtlError) throw new Error(`RabbitMQ did not boot: ${error.message}\n(logs: ${layout.logBase})`);
    throw error;
  }
  const pid = await readPid(layout.pidFile);
  if (pid === undefined) throw new Error(`RabbitMQ booted but wrote no pid file at ${layout.pidFile}`);
  child.removeAllListeners('exit');
  return pid;
}

async function killAndWait(pid: number, timeoutMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM'); // the Erlang VM shuts RabbitMQ down cleanly on SIGTERM
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    signal('SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
}

async function ensureRabbitmqInstalled(install: boolean, log: (message: string) => void): Promise<void> {
  if (existsSync(join(rabbitmqBin, 'rabbitmq-server'))) return;
  const root = process.getuid?.() === 0;
  if (!install || !root) {
    throw new Error('RabbitMQ is not installed: run `sudo apt-get install rabbitmq-server` (Debian/Ubuntu), then try again');
  }
  log('installing the Debian package rabbitmq-server (about 10 s)');
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('apt-get', args, { env: aptEnv, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) =>
        error ? reject(new Error(`apt-get ${args.join(' ')} failed: ${lastLines(stderr, 5)}`)) : resolve(),
      ),
    );
  try {
    await apt(['install', '-y', '--no-install-recommends', 'rabbitmq-server']);
  } catch {
    await apt(['update']); // a fresh machine may have no package lists yet
    await apt(['install', '-y', '--no-install-recommends', 'rabbitmq-server']);
  }
  if (!existsSync(join(rabbitmqBin, 'rabbitmq-server'))) throw new Error(`rabbitmq-server installed, but ${rabbitmqBin}/rabbitmq-server is missing`);
}

/** What the iotcloud server needs to use the node in `stateDir` as its device bus. */
export interface BrokerConnection {
  /** Where devices connect: MQTTS (AMQPS in `amqpsUrl`, where the server logs in too). */
  mqttsUrl: string;
  amqpsUrl: string;
  credentials: ServiceCredentials;
  node: NodeAddress;
  /** The certificate the node serves devices (copied from the data folder by `broker start`). */
  serverCertPem?: string;
}

export async function brokerConnection(stateDir = defaultStateDir): Promise<BrokerConnection> {
  const layout = brokerLayout(stateDir);
  const state = await readJson<BrokerNodeState>(layout.stateFile);
  if (!state) throw new Error(`no RabbitMQ node was started from ${layout.stateDir}: run \`iotcloud broker start\` first`);
  const described = describe(layout, state, await readServiceCredentials(stateDir), 0, true);
  const serverCertPem = await readIfExists(join(layout.tlsDir, 'server.crt'));
  return { mqttsUrl: described.mqttsUrl, amqpsUrl: described.amqpsUrl, credentials: described.credentials, node: address(layout, state), ...(serverCertPem === undefined ? {} : { serverCertPem }) };
}
