/**
 * The original client.py, as subcommands: signup, login, register, unregister, devices, cmd.
 * Output is for people; `--json` prints the API's answer for machines. The server, CA and device
 * broker URL the user named once are remembered (rest-client/session.ts, resolved in cli/rest-access.ts), so later commands need no flags.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
// The names alone: the schemas (TypeBox) would load with every command the CLI runs.
import { commandNames } from '../../firmware-protocol/command-names.ts';
import { remember, saveSession, unregisterDevices, type DeviceSummary, type RestClient } from '../../rest-client/index.ts';
import { explain } from '../advice.ts';
import { promptHidden } from '../prompt.ts';
import { caOptionHelp, resolveAccess, serverOptionHelp, type RestAccess } from '../rest-access.ts';
import { ago, table } from '../table.ts';
import { UsageError } from '../usage-error.ts';
import { writeCredentialFile } from '../write-credential.ts';
import { isFleetDeviceName } from '../../simulators/fleet/names.ts';

interface ClientArgs {
  server?: string;
  ca?: string;
  token?: string;
  json: boolean;
}

const clientOptions = {
  server: { type: 'string', describe: serverOptionHelp },
  ca: { type: 'string', describe: caOptionHelp },
  token: { type: 'string', describe: 'bearer token (env IOTCLOUD_TOKEN; default: the one saved by `iotcloud login`)' },
  json: { type: 'boolean', default: false, describe: 'print the API answer as JSON, for scripts' },
} as const;

interface Connection extends RestAccess {
  client: RestClient;
}

/** Run one client command: connect, act, close; failures come back with their next step. */
async function withClient(args: ClientArgs, needsToken: boolean, act: (connection: Connection) => Promise<void>): Promise<void> {
  const access = await resolveAccess(args);
  if (needsToken && !access.token) throw new UsageError(`not logged in to ${access.server}: run \`iotcloud login <username> --server ${access.server}\` first, or pass --token`);
  const { RestClient } = await import('../../rest-client/client.ts'); // node:https only for commands that use it
  const client = new RestClient({ baseUrl: access.server, ...(access.ca ? { caPem: access.ca.pem } : {}), ...(access.token ? { token: access.token } : {}) });
  try {
    await act({ ...access, client });
  } catch (error) {
    throw new Error(explain(error, access));
  } finally {
    client.close();
  }
}

async function password(args: { password?: string }, purpose: string): Promise<string> {
  const value = args.password ?? process.env.IOTCLOUD_PASSWORD;
  if (value) return value;
  if (process.stdin.isTTY) return promptHidden(`${purpose}: `);
  throw new UsageError('give the password with --password or the IOTCLOUD_PASSWORD environment variable (on a terminal it is asked for)');
}

function parseParams(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`parameters must be JSON, e.g. '{"number":18,"value":1}'; got ${text}`);
  }
}

const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));

export function devicesTable(devices: DeviceSummary[], now = Date.now()): string {
  if (devices.length === 0) return 'no devices yet: register one with `iotcloud register <name>`';
  const rows = devices.map((device) => [device.name, device.deviceId, device.online ? 'online' : 'offline', device.online ? 'now' : ago(device.lastSeenAt, now), device.fingerprint.slice(0, 16)]);
  const online = devices.filter((device) => device.online).length;
  return `${table(['NAME', 'DEVICE ID', 'STATE', 'LAST SEEN', 'CERT SHA-256'], rows)}\n${devices.length} device(s), ${online} online`;
}

type Positional<T> = ClientArgs & T;

/** The caller's devices an `iotcloud fleet --prefix P` registered: named exactly P-<n>. */
export function fleetDevices(devices: DeviceSummary[], prefix: string): DeviceSummary[] {
  return devices.filter((device) => isFleetDeviceName(device.name, prefix));
}

export const clientCommands: CommandModule<object, ClientArgs>[] = [
  {
    command: 'signup <username>',
    describe: 'Create a user on a server',
    builder: (y: Argv) => y.options(clientOptions).option('password', { type: 'string' }).positional('username', { type: 'string', demandOption: true }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as Positional<{ username: string; password?: string }>;
      const secret = await password(a, `password for the new user ${a.username}`);
      await withClient(a, false, async ({ client, server }) => {
        const answer = await client.signup(a.username, secret);
        if (a.json) printJson(answer);
        else console.log(`signed up ${a.username} on ${server}; next: iotcloud login ${a.username}`);
      });
    },
  },
  {
    command: 'login <username>',
    describe: 'Log in; remembers the token, the server and its CA for later commands',
    builder: (y: Argv) => y.options(clientOptions).option('password', { type: 'string' }).positional('username', { type: 'string', demandOption: true }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as Positional<{ username: string; password?: string }>;
      const secret = await password(a, `password for ${a.username}`);
      await withClient(a, false, async ({ client, server, ca }) => {
        const session = await client.login(a.username, secret);
        await saveSession({ server, token: session.token, expiresAt: session.expiresAt, username: a.username, ...(ca ? { ca: ca.path } : {}) });
        if (a.json) printJson(session);
        else console.log(`logged in to ${server} as ${a.username}; token valid until ${session.expiresAt}. Later commands use this server${ca ? ` and ${ca.path}` : ''} without flags.`);
      });
    },
  },
  {
    command: 'register <name>',
    describe: 'Register a device; writes rootca.pem, <id>_cert.pem and <id>_pkey.pem',
    builder: (y: Argv) =>
      y
        .options(clientOptions)
        .positional('name', { type: 'string', demandOption: true })
        .option('device-id', { type: 'string', describe: 'choose the device id (default: generated)' })
        .option('rsa', { type: 'boolean', default: false, describe: 'RSA-2048 key for legacy firmware (default ECDSA P-256)' })
        .option('out', { type: 'string', default: '.', describe: 'folder for the certificate files' }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as Positional<{ name: string; 'device-id'?: string; rsa: boolean; out: string }>;
      await withClient(a, true, async ({ client }) => {
        const registration = await client.registerDevice(a.name, {
          ...(a['device-id'] ? { deviceId: a['device-id'] } : {}),
          keyAlgorithm: a.rsa ? 'rsa-2048' : 'ecdsa-p256',
        });
        await mkdir(a.out, { recursive: true });
        const keyPath = join(a.out, `${registration.deviceId}_pkey.pem`);
        try {
          await writeCredentialFile(keyPath, registration.privateKey, 'private');
          await writeCredentialFile(join(a.out, 'rootca.pem'), registration.rootCa, 'public');
          await writeCredentialFile(join(a.out, `${registration.deviceId}_cert.pem`), registration.certificate, 'public');
        } catch (error) {
          throw new Error(`device ${registration.deviceId} was registered, but ${(error as Error).message}; unregister it with \`iotcloud unregister ${registration.deviceId}\` and register again`);
        }
        await remember({ mqttUrl: registration.mqttUrl });
        const summary = { deviceId: registration.deviceId, name: registration.name, mqttUrl: registration.mqttUrl, files: a.out };
        if (a.json) return printJson(summary);
        console.log(
          [
            `registered ${registration.name} as ${registration.deviceId}; it connects to ${registration.mqttUrl}`,
            `  files   ${join(a.out, 'rootca.pem')}, ${join(a.out, `${registration.deviceId}_cert.pem`)}, ${keyPath} (the key is shown only once: keep it)`,
            `  try     iotcloud sim --device ${registration.deviceId} --dir ${a.out}`,
            `          iotcloud cmd ${registration.deviceId} get_status`,
          ].join('\n'),
        );
      });
    },
  },
  {
    command: 'unregister [deviceId..]',
    describe: 'Unregister devices (they are disconnected and refused from then on); --prefix P: the devices a fleet named P-0, P-1, ... left behind',
    builder: (y: Argv) =>
      y
        .options(clientOptions)
        .positional('deviceId', { type: 'string', array: true })
        .option('prefix', { type: 'string', describe: 'your devices named PREFIX-<n> (an `iotcloud fleet --prefix`): lists how many unless --yes' })
        .option('yes', { type: 'boolean', default: false, describe: 'with --prefix: unregister them (without it, only count and list them)' })
        .check((argv) => {
          const ids = (argv.deviceId as string[] | undefined) ?? [];
          if ((ids.length > 0) === (argv.prefix !== undefined)) throw new UsageError('name the devices to unregister: device ids, or --prefix PREFIX for a fleet\'s devices (not both)');
          return true;
        }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as Positional<{ deviceId?: string[]; prefix?: string; yes: boolean }>;
      await withClient(a, true, async ({ client }) => {
        let ids = a.deviceId ?? [];
        if (a.prefix !== undefined) {
          const matching = fleetDevices((await client.listDevices()).devices, a.prefix);
          if (!a.yes) {
            if (a.json) return printJson({ prefix: a.prefix, devices: matching.map(({ deviceId, name }) => ({ deviceId, name })), unregistered: [] });
            if (matching.length === 0) return console.log(`you have no devices named ${a.prefix}-<n>`);
            const names = matching.slice(0, 5).map((device) => device.name).join(', ');
            return console.log(`${matching.length} of your devices are named ${a.prefix}-<n> (${names}${matching.length > 5 ? ', ...' : ''}); nothing was unregistered: add --yes to unregister them`);
          }
          ids = matching.map((device) => device.deviceId);
        }
        const progress = ids.length > 1000 && !a.json ? (done: number, total: number) => console.error(`unregistered ${done} of ${total}`) : undefined;
        const answer = await unregisterDevices(client, ids, progress);
        if (answer.notFound.length > 0) process.exitCode = 1;
        if (a.json) return printJson(answer);
        const gone = answer.notFound.length > 0 ? `; no device ${answer.notFound.join(', ')} (unknown or already unregistered; list yours with \`iotcloud devices\`)` : '';
        console.log(`${answer.unregistered.length <= 10 ? `unregistered ${answer.unregistered.join(', ') || 'nothing'}` : `unregistered ${answer.unregistered.length} devices`}${gone}`);
      });
    },
  },
  {
    command: 'devices',
    describe: 'List your devices (a table; --json for scripts)',
    builder: (y: Argv) => y.options(clientOptions) as Argv<ClientArgs>,
    handler: async (args) => {
      await withClient(args, true, async ({ client }) => {
        const { devices } = await client.listDevices();
        if (args.json) printJson(devices);
        else console.log(devicesTable(devices));
      });
    },
  },
  {
    command: 'cmd <deviceId> <command> [params]',
    describe: `Send a device command and print its answer (${commandNames.join(', ')})`,
    builder: (y: Argv) =>
      y
        .options(clientOptions)
        .positional('deviceId', { type: 'string', demandOption: true })
        .positional('command', { type: 'string', choices: commandNames, demandOption: true })
        .positional('params', { type: 'string', describe: `JSON, e.g. '{"number":18,"value":1}'` })
        .option('timeout', { type: 'number', describe: 'ms to wait for the device' })
        .option('wait', { type: 'boolean', default: false, describe: 'send even when the server sees the device offline, and wait up to --timeout for the answer' }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as Positional<{ deviceId: string; command: string; params?: string; timeout?: number; wait: boolean }>;
      const params = parseParams(a.params);
      await withClient(a, true, async ({ client }) => {
        const answer = await client.command(a.deviceId, a.command, params, a.timeout, { wait: a.wait });
        if (a.json) printJson(answer);
        else console.log(`${a.command} -> ${JSON.stringify(answer.result)}  (${answer.elapsedMs} ms)`);
      });
    },
  },
];
