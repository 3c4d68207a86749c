/**
 * `runFleet`: a whole fleet run, as `iotcloud fleet` does it. Devices come from the REST API
 * (provisioned now, connecting while the rest are still being registered) or from a saved
 * credentials folder; they connect at the requested pace and stay connected until SIGINT/SIGTERM,
 * `--duration` or the caller's signal; then every device is closed and the counters summed up.
 */
import { RestClient, unregisterDevices } from '../../rest-client/index.ts';
import { randomBytes } from 'node:crypto';
import type { TransportName } from '../device.ts';
import { loadFleetCredentials, saveFleetCredentials, type FleetIdentity } from './credentials.ts';
import { Fleet, type Allocator, type FleetOptions, type FleetProgress } from './fleet.ts';
import { planText, ProgressReporter, type CleanupResult, type FleetSummary, type ProgressSink, type RunProgress, type StopReason } from './progress.ts';
import { provisionFleet } from './provision.ts';
import { checkShareTotal, parseProfileShare, type ProfileShare } from './shares.ts';
import { fleetDeviceName } from './names.ts';

export interface FleetServer {
  /** REST API, e.g. `https://127.0.0.1:8443`. */
  baseUrl: string;
  /** Root CA of the API's certificate (https). */
  caPem?: string;
  /** A bearer token, or a user name and password to log in with. */
  token?: string;
  username?: string;
  password?: string;
}

export interface RunFleetOptions {
  /** The malloc under this process, for the progress report (default 'system'). */
  allocator?: Allocator;
  /** Fleet size. Required when provisioning; with `certsDir` the first N saved devices (default all). */
  devices?: number;
  /** Where to provision the devices (not needed with `certsDir`). */
  server?: FleetServer;
  /** Device names are `<prefix>-<n>` (default `fleet-<random>`, so runs never collide). */
  prefix?: string;
  /** Registrations in flight at once (default 8). */
  provisionConcurrency?: number;
  /** Load saved credentials from this folder instead of provisioning. */
  certsDir?: string;
  /** Save the provisioned credentials to this folder (keys mode 0600). */
  saveDir?: string;
  /** Unregister every device this run registered when it ends, however it ends (provisioning only). */
  cleanup?: boolean;
  /** Broker URL (default: the one given at registration, or saved with the credentials). */
  url?: string;
  transport?: TransportName;
  /** Connections started per second. */
  rate: number;
  /** Most connections in progress at once. */
  concurrency: number;
  /** `70%:delay=1-5` etc. (or parsed shares); the rest of the fleet behaves well. */
  profiles?: readonly (string | ProfileShare)[];
  /** Stop by itself this long after the start (provisioning included). */
  durationMs?: number;
  /** Stop when aborted. */
  signal?: AbortSignal;
  /** Stop cleanly on SIGINT/SIGTERM (a second one exits at once). Default true. */
  handleSignals?: boolean;
  /** Where progress goes (default process.stdout). */
  output?: ProgressSink;
  /** JSON lines instead of a status line (default: when the output is not a terminal). */
  json?: boolean;
  /** Interval of JSON progress lines (default 5000 ms); the terminal line is redrawn every 500 ms. */
  jsonIntervalMs?: number;
  /** Device and connection tuning passed to every member. */
  device?: Pick<FleetOptions, 'allowPlaintext' | 'reconnect' | 'retry' | 'bootMs' | 'mqtt' | 'uartCapacityBytes'>;
  /** Called once the fleet exists (before its devices are connected): a handle for tests and tools. */
  onFleet?(fleet: Fleet): void;
}

export class FleetOptionsError extends Error {
  override name = 'FleetOptionsError';
}

const TTY_INTERVAL_MS = 500;

export async function runFleet(options: RunFleetOptions): Promise<FleetSummary> {
  const shares = checkRunOptions(options);
  const output = options.output ?? process.stdout;
  const stop = new StopSwitch(options);
  let fleet: Fleet | undefined;
  let size = options.devices ?? 0;
  let provisioning = false;
  const startedAt = performance.now();
  // Elapsed time is the run's: when provisioning, the fleet only exists from the first registration.
  const progress = (): RunProgress => ({ ...(fleet ? fleet.progress() : idleProgress(size, options.allocator)), elapsedMs: Math.round(performance.now() - startedAt) });
  const reporter = new ProgressReporter(output, () => ({ ...progress(), ...(provisioning ? { phase: 'provisioning' as const } : {}) }), {
    json: options.json ?? !output.isTTY,
    intervalMs: (options.json ?? !output.isTTY) ? (options.jsonIntervalMs ?? 5000) : TTY_INTERVAL_MS,
  });
  const prefix = options.prefix ?? `fleet-${randomBytes(3).toString('hex')}`;
  const createFleet = (url: string, caPem: string, nameOf: (index: number) => string) => {
    fleet = new Fleet({ ...(options.allocator ? { allocator: options.allocator } : {}), size, url: options.url ?? url, caPem, rate: options.rate, concurrency: options.concurrency, profiles: shares, ...(options.transport ? { transport: options.transport } : {}), ...options.device });
    reporter.note(planText(fleet.plan, nameOf));
    options.onFleet?.(fleet);
    return fleet;
  };
  const join = (target: Fleet, identity: FleetIdentity) => {
    const member = target.add(identity);
    reporter.device({ index: member.index, name: identity.name, deviceId: identity.deviceId, profile: member.profile });
  };
  // Every device this run registered, as soon as it is: the clean-up's list, whatever happens next.
  const registered: string[] = [];
  let client: RestClient | undefined;

  reporter.start();
  let failure: unknown;
  try {
    if (options.certsDir) {
      const saved = await loadFleetCredentials(options.certsDir, options.devices);
      size = saved.identities.length;
      const url = options.url ?? saved.mqttUrl;
      if (!url) throw new FleetOptionsError(`${options.certsDir} does not say where the devices connect: pass the broker URL (--url mqtts://host:8883)`);
      const created = createFleet(url, saved.caPem, (index) => saved.identities[index]!.name);
      await created.addAll(saved.identities);
      for (const member of created.members) reporter.device({ index: member.index, name: member.identity.name, deviceId: member.identity.deviceId, profile: member.profile });
    } else {
      provisioning = true;
      reporter.note(`provisioning ${size} devices named ${prefix}-0 to ${prefix}-${size - 1}; ${options.cleanup ? 'they are unregistered when the run ends (--cleanup)' : `remove them later with \`iotcloud unregister --prefix ${prefix} --yes\` (or run with --cleanup)`}`);
      client = await restClient(options.server!);
      try {
        const provisioned = await provisionFleet({
          client,
          count: size,
          prefix,
          ...(options.provisionConcurrency ? { concurrency: options.provisionConcurrency } : {}),
          signal: stop.signal,
          onRegistered: (deviceId) => registered.push(deviceId),
          // Devices connect while the rest are still being registered.
          onDevice: (identity, _index, platform) => join(fleet ?? createFleet(platform.mqttUrl, platform.caPem, (index) => fleetDeviceName(prefix, index)), identity),
        });
        if (options.saveDir && provisioned.identities.length > 0) await saveFleetCredentials(options.saveDir, provisioned);
      } finally {
        provisioning = false;
        if (!options.cleanup) client.close();
      }
    }
    await stop.reason;
  } catch (error) {
    failure = error;
    stop.trigger('error');
  }

  reporter.note('stopping: closing every device...');
  const atStop: FleetProgress | undefined = fleet?.progress();
  await fleet?.stop();
  let cleanup: CleanupResult | undefined;
  if (options.cleanup && client) {
    cleanup = await cleanUp(client, registered, prefix, reporter);
    client.close();
  }
  const summary: FleetSummary = {
    ...progress(),
    phase: 'stopped',
    reason: await stop.reason,
    connectedAtStop: atStop?.connected ?? 0,
    ...rampFigures(fleet),
    profiles: fleet ? fleet.plan.groups.map((group) => ({ label: group.label, devices: group.devices })) : [],
    ...(cleanup ? { cleanup } : {}),
  };
  stop.dispose();
  reporter.finish(summary);
  if (failure) throw failure;
  if (cleanup?.error !== undefined) throw new FleetCleanupError(`the clean-up left ${cleanup.left} devices registered: ${cleanup.error}`);
  return summary;
}

export class FleetCleanupError extends Error {
  override name = 'FleetCleanupError';
}

/** Unregisters what this run registered, in bulk, with progress (a second Ctrl-C during it exits and leaves them: the note says how to finish). */
async function cleanUp(client: RestClient, registered: readonly string[], prefix: string, reporter: ProgressReporter): Promise<CleanupResult> {
  if (registered.length === 0) return { unregistered: 0, notFound: 0, left: 0 };
  reporter.note(`cleaning up: unregistering ${registered.length} devices (a second Ctrl-C leaves them; then \`iotcloud unregister --prefix ${prefix} --yes\`)...`);
  let done = 0;
  let unregistered = 0;
  let notFound = 0;
  try {
    const answer = await unregisterDevices(client, registered, (count, total) => {
      done = count;
      reporter.cleanup(count, total);
    });
    unregistered = answer.unregistered.length;
    notFound = answer.notFound.length;
    return { unregistered, notFound, left: 0 };
  } catch (error) {
    return { unregistered: done, notFound, left: registered.length - done, error: `${(error as Error).message}; finish with \`iotcloud unregister --prefix ${prefix} --yes\`` };
  }
}

/** Check what can be checked before anything connects; returns the parsed profile shares. */
function checkRunOptions(options: RunFleetOptions): ProfileShare[] {
  const { devices } = options;
  if (devices !== undefined && !(Number.isInteger(devices) && devices > 0)) throw new FleetOptionsError(`the number of devices must be a whole number above 0, got ${devices}`);
  if (options.certsDir && options.cleanup) throw new FleetOptionsError('--cleanup unregisters the devices this run registers; a saved fleet (--certs) registers none: remove it with `iotcloud unregister --prefix PREFIX`');
  if (options.certsDir && options.saveDir) throw new FleetOptionsError('--certs loads a saved fleet and --save writes a new one: use one of them');
  if (!options.certsDir) {
    if (devices === undefined) throw new FleetOptionsError('say how many devices to provision (--devices N), or load a saved fleet with --certs DIR');
    if (!options.server) throw new FleetOptionsError('provisioning needs the server (--server URL), or load a saved fleet with --certs DIR');
    const { token, username, password } = options.server;
    if (!token && !username) throw new FleetOptionsError('provisioning needs a token (--token) or a user (--user and --password)');
    if (username && !password) throw new FleetOptionsError('--user needs --password (or IOTCLOUD_PASSWORD)');
  }
  if (!(options.rate > 0)) throw new FleetOptionsError(`the connect rate must be above 0 devices/s, got ${options.rate}`);
  if (!(Number.isInteger(options.concurrency) && options.concurrency > 0)) throw new FleetOptionsError(`the connect concurrency must be a whole number above 0, got ${options.concurrency}`);
  if (options.durationMs !== undefined && !(options.durationMs > 0)) throw new FleetOptionsError(`the duration must be above 0, got ${options.durationMs} ms`);
  if (options.jsonIntervalMs !== undefined && !(options.jsonIntervalMs > 0)) throw new FleetOptionsError(`the JSON interval must be above 0, got ${options.jsonIntervalMs} ms`);
  return checkShareTotal((options.profiles ?? []).map((entry) => (typeof entry === 'string' ? parseProfileShare(entry) : entry)));
}

async function restClient(server: FleetServer): Promise<RestClient> {
  const client = new RestClient({ baseUrl: server.baseUrl, ...(server.caPem ? { caPem: server.caPem } : {}), ...(server.token ? { token: server.token } : {}) });
  if (!server.token) {
    try {
      await client.login(server.username!, server.password!);
    } catch (error) {
      client.close();
      throw new FleetOptionsError(`logging in as ${server.username} failed: ${(error as Error).message}`);
    }
  }
  return client;
}

function rampFigures(fleet: Fleet | undefined): Pick<FleetSummary, 'rampMs' | 'connectsPerSecond'> {
  const rampMs = fleet?.rampMs;
  if (!fleet || rampMs === undefined) return {};
  return { rampMs: Math.round(rampMs), connectsPerSecond: Math.round((fleet.members.length / Math.max(rampMs, 1)) * 1000 * 10) / 10 };
}

/** Progress before the fleet exists (provisioning, first registration pending). */
function idleProgress(size: number, allocator: Allocator = 'system'): FleetProgress {
  const memory = process.memoryUsage();
  return {
    phase: 'connecting', elapsedMs: 0, size, provisioned: 0, queued: 0, connecting: 0, connected: 0, retrying: 0, failed: 0,
    reconnects: 0, disconnects: 0, resets: 0, received: 0, answered: 0, protocolErrors: 0, dropped: 0, malformed: 0, late: 0, sendFailures: 0,
    rssBytes: memory.rss, allocator, heapUsedBytes: memory.heapUsed, errors: [],
  };
}

/** Whatever ends the run first: the caller's signal, SIGINT/SIGTERM, the duration, or an error. */
class StopSwitch {
  readonly reason: Promise<StopReason>;
  private readonly controller = new AbortController();
  private resolve!: (reason: StopReason) => void;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onSignal = () => {
    if (this.controller.signal.aborted) {
      process.exit(130); // a second Ctrl-C: the user does not want to wait for a clean shutdown
    }
    this.trigger('signal');
  };
  private readonly onAbort = () => this.trigger('aborted');

  constructor(private readonly options: Pick<RunFleetOptions, 'signal' | 'durationMs' | 'handleSignals'>) {
    this.reason = new Promise((resolve) => (this.resolve = resolve));
    if (options.durationMs !== undefined) this.timer = setTimeout(() => this.trigger('duration'), options.durationMs);
    if (options.handleSignals ?? true) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
    if (options.signal?.aborted) this.trigger('aborted');
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Aborted once the run is to stop (provisioning watches it). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  trigger(reason: StopReason): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort();
    this.resolve(reason);
  }

  dispose(): void {
    clearTimeout(this.timer);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}
