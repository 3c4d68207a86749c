/**
 * `iotcloud fleet`: thousands of simulated devices against a server, from one process. Provisions
 * them through the REST API (or loads a fleet saved with --save), ramps their connections up at
 * --rate with at most --concurrency handshakes in flight, keeps them connected and reports
 * progress until Ctrl-C or --duration.
 */
import type { CommandModule } from 'yargs';
// The files, not the indexes: the fleet itself loads when it runs.
import { transportNames, type TransportName } from '../../simulators/transport-names.ts';
import { parseProfileShares, profileShareSyntax } from '../../simulators/fleet/shares.ts';
import type { RunFleetOptions } from '../../simulators/fleet/index.ts';
import { currentAllocator } from '../process/allocator.ts';
import { caOptionHelp, resolveAccess, serverOptionHelp } from '../rest-access.ts';
import { UsageError } from '../usage-error.ts';

export interface FleetArgs {
  server?: string;
  ca?: string;
  token?: string;
  user?: string;
  password?: string;
  devices?: number;
  rate: number;
  concurrency: number;
  profile?: string[];
  save?: string;
  certs?: string;
  url?: string;
  transport: TransportName;
  prefix?: string;
  duration?: number;
  json?: boolean;
  'json-interval': number;
  plaintext: boolean;
  'provision-concurrency': number;
  cleanup?: boolean;
}

export const fleetCommand: CommandModule<object, FleetArgs> = {
  command: 'fleet',
  describe: 'Run a fleet of simulated devices (provisioned through the REST API, or loaded with --certs) until Ctrl-C or --duration',
  builder: (y) =>
    y
      .options({
        server: { type: 'string', describe: serverOptionHelp },
        ca: { type: 'string', describe: caOptionHelp },
        token: { type: 'string', describe: 'bearer token (default: env IOTCLOUD_TOKEN, or the one saved by `iotcloud login`)' },
        user: { type: 'string', describe: 'log in as this user instead of using a token' },
        password: { type: 'string', describe: 'password for --user (or env IOTCLOUD_PASSWORD)' },
        devices: { type: 'number', describe: 'fleet size (with --certs: the first N saved devices, default all)' },
        rate: { type: 'number', default: 200, describe: 'connections started per second (ramp-up)' },
        concurrency: { type: 'number', default: 50, describe: 'most connections in progress at once' },
        profile: { type: 'string', array: true, describe: `behaviour for a share of the fleet, repeatable: ${profileShareSyntax}; the rest behave well` },
        save: { type: 'string', describe: 'after provisioning, save the credentials to this folder (keys mode 0600) for --certs' },
        certs: { type: 'string', describe: 'load a fleet saved with --save instead of provisioning' },
        url: { type: 'string', describe: 'broker URL (default: the one the server gives at registration, or saved with --save)' },
        transport: { choices: transportNames, default: 'mqtt' as TransportName, describe: 'how devices connect (amqp transports need --url)' },
        prefix: { type: 'string', describe: 'device names are PREFIX-0, PREFIX-1, ... (default fleet-<random>)' },
        duration: { type: 'number', describe: 'stop by itself after this many seconds (counted from the start, provisioning included)' },
        json: { type: 'boolean', describe: 'JSON progress lines even on a terminal (default: JSON when not a terminal)' },
        'json-interval': { type: 'number', default: 5, describe: 'seconds between JSON progress lines' },
        plaintext: { type: 'boolean', default: false, describe: 'allow mqtt:// or amqp:// without TLS (loopback testing)' },
        'provision-concurrency': { type: 'number', default: 8, describe: 'device registrations in flight at once' },
        cleanup: { type: 'boolean', default: false, describe: 'unregister the devices this run registers when it ends (also on Ctrl-C); earlier runs\' devices: `iotcloud unregister --prefix PREFIX`' },
      })
      .check((args) => {
        checkFleetArgs(args as unknown as FleetArgs);
        return true;
      }) as never,
  handler: async (args) => {
    const options = await fleetOptionsFrom(args);
    // Loaded here, not above: every other command starts without the fleet (cli/main.ts).
    const { openFileLimit, openFileWarning, runFleet } = await import('../../simulators/fleet/index.ts');
    // Too low a limit shows up late and confusingly (EMFILE on device N); say it up front.
    const warning = args.devices === undefined ? undefined : openFileWarning(await openFileLimit(), args.devices);
    if (warning) console.error(`iotcloud fleet: warning: ${warning}`);
    await runFleet(options);
  },
};

/** Flag mistakes, as usage errors (exit 2 with the help text). */
export function checkFleetArgs(args: FleetArgs): void {
  const wholeAbove0 = (flag: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new UsageError(`--${flag} must be a whole number above 0, got ${value}`);
  };
  wholeAbove0('devices', args.devices);
  wholeAbove0('concurrency', args.concurrency);
  wholeAbove0('provision-concurrency', args['provision-concurrency']);
  if (!(args.rate > 0)) throw new UsageError(`--rate must be above 0 devices/s, got ${args.rate}`);
  if (args.duration !== undefined && !(args.duration > 0)) throw new UsageError(`--duration must be above 0 seconds, got ${args.duration}`);
  if (!(args['json-interval'] > 0)) throw new UsageError(`--json-interval must be above 0 seconds, got ${args['json-interval']}`);
  if (args.save !== undefined && args.certs !== undefined) throw new UsageError('--certs loads a saved fleet and --save writes a new one: use one of them');
  if (args.certs === undefined) {
    if (args.devices === undefined) throw new UsageError('say how many devices to provision with --devices N, or load a saved fleet with --certs DIR');
    if (args.token !== undefined && args.user !== undefined) throw new UsageError('use --token or --user, not both');
    // Names are at most 64 characters (the server's limit), printable.
    const longest = `${args.prefix ?? 'fleet-xxxxxx'}-${args.devices - 1}`;
    if (longest.length > 64 || [...longest].some((char) => char < ' ' || char === '\u007f')) throw new UsageError(`--prefix: device names like "${longest}" must be at most 64 printable characters`);
  } else if (args.cleanup) {
    throw new UsageError('--cleanup unregisters the devices this run registers, and a saved fleet (--certs) registers none: remove those with `iotcloud unregister --prefix PREFIX --yes`');
  } else if (args.user !== undefined || args.token !== undefined) {
    throw new UsageError('--certs connects saved devices and needs no login: drop --token/--user');
  }
  if (args.url !== undefined) {
    const secure = /^(mqtts|amqps):\/\//.test(args.url);
    if (!secure && !(args.plaintext && /^(mqtt|amqp):\/\//.test(args.url))) {
      throw new UsageError(`--url ${args.url}: use mqtts:// or amqps:// (or mqtt:// / amqp:// with --plaintext on a loopback broker)`);
    }
  } else if (args.transport !== 'mqtt') {
    throw new UsageError(`--transport ${args.transport} needs --url (registration only tells the MQTT address)`);
  }
  try {
    parseProfileShares(args.profile ?? []);
  } catch (error) {
    throw new UsageError(`--profile: ${(error as Error).message}`);
  }
}

/** What `runFleet` gets from the flags (and the environment: token, password, CA). */
export async function fleetOptionsFrom(args: FleetArgs): Promise<RunFleetOptions> {
  checkFleetArgs(args);
  const common: RunFleetOptions = {
    allocator: currentAllocator(),
    rate: args.rate,
    concurrency: args.concurrency,
    transport: args.transport,
    profiles: args.profile ?? [],
    jsonIntervalMs: args['json-interval'] * 1000,
    ...(args.devices === undefined ? {} : { devices: args.devices }),
    ...(args.url === undefined ? {} : { url: args.url }),
    ...(args.duration === undefined ? {} : { durationMs: args.duration * 1000 }),
    ...(args.json === undefined ? {} : { json: args.json }),
    ...(args.plaintext ? { device: { allowPlaintext: true } } : {}),
  };
  if (args.certs !== undefined) return { ...common, certsDir: args.certs };

  const access = await resolveAccess({ ...(args.server ? { server: args.server } : {}), ...(args.ca ? { ca: args.ca } : {}), ...(args.token ? { token: args.token } : {}) });
  const caPem = access.ca?.pem;
  const password = args.password ?? process.env.IOTCLOUD_PASSWORD;
  if (args.user !== undefined && !password) throw new UsageError('--user needs --password (or the IOTCLOUD_PASSWORD environment variable)');
  const token = args.user === undefined ? access.token : undefined;
  if (args.user === undefined && !token) throw new UsageError('not logged in: pass --token, --user/--password, or run `iotcloud login` first');
  return {
    ...common,
    server: { baseUrl: access.server, ...(caPem ? { caPem } : {}), ...(token ? { token } : { username: args.user!, password: password! }) },
    provisionConcurrency: args['provision-concurrency'],
    ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
    ...(args.save === undefined ? {} : { saveDir: args.save }),
    ...(args.cleanup ? { cleanup: true } : {}),
  };
}
