/**
 * The original client.py, as subcommands: signup, login, register, unregister, devices, cmd.
 * Output is for people; `--json` prints the API's answer for machines. The server, CA and device
 * broker URL the user named once are remembered (cli/session.ts), so later commands need no flags.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { commandNames } from '../../firmware-protocol/index.ts';
import { certificateFiles } from '../../certs/index.ts';
import { defaultConfig } from '../../server/config.ts';
import { explain, type ConnectionContext } from '../advice.ts';
import { promptHidden } from '../prompt.ts';
import { RestClient, type DeviceSummary } from '../rest-client.ts';
import { loadSession, remember, saveSession, type SavedSession } from '../session.ts';
import { ago, table } from '../table.ts';
import { UsageError } from '../usage-error.ts';

interface ClientArgs {
  server?: string;
  ca?: string;
  token?: string;
  json: boolean;
}

const defaultServer = `https://127.0.0.1:${defaultConfig.apiPort}`;
const defaultCaPath = join(defaultConfig.dataDir, 'ca', certificateFiles.rootCert);

const clientOptions = {
  server: { type: 'string', describe: `REST API base URL (env IOTCLOUD_SERVER; default: the one \`iotcloud login\` saved, else ${defaultServer})` },
  ca: { type: 'string', describe: `PEM file of the server's root CA (env IOTCLOUD_CA; default: the one \`iotcloud login\` saved, else ${defaultCaPath} when present)` },
  token: { type: 'string', describe: 'bearer token (env IOTCLOUD_TOKEN; default: the one saved by `iotcloud login`)' },
  json: { type: 'boolean', default: false, describe: 'print the API answer as JSON, for scripts' },
} as const;

interface Connection extends ConnectionContext {
  client: RestClient;
  saved: SavedSession | undefined;
}

/** Flags first, then the environment, then what `iotcloud login` remembered, then the defaults. */
async function connect(args: ClientArgs, needsToken: boolean): Promise<Connection> {
  const saved = await loadSession();
  const server = args.server ?? process.env.IOTCLOUD_SERVER ?? saved?.server ?? defaultServer;
  const ca = caFor(args, saved);
  let caPem: string | undefined;
  if (ca) {
    try {
      caPem = readFileSync(ca.path, 'utf8');
    } catch (error) {
      throw new UsageError(`${ca.from} names the CA file ${ca.path}, which cannot be read (${(error as NodeJS.ErrnoException).code}); pass --ca with the server's rootca.pem`);
    }
  }
  const token = args.token ?? process.env.IOTCLOUD_TOKEN ?? (saved && saved.server === server ? saved.token : undefined);
  if (needsToken && !token) throw new UsageError(`not logged in to ${server}: run \`iotcloud login <username> --server ${server}\` first, or pass --token`);
  const client = new RestClient({ baseUrl: server, ...(caPem ? { caPem } : {}), ...(token ? { token } : {}) });
  return { client, server, saved, ...(ca ? { ca } : {}) };
}

function caFor(args: ClientArgs, saved: SavedSession | undefined): ConnectionContext['ca'] {
  if (args.ca) return { path: resolve(args.ca), from: '--ca' };
  if (process.env.IOTCLOUD_CA) return { path: resolve(process.env.IOTCLOUD_CA), from: 'IOTCLOUD_CA' };
  if (saved?.ca && (!args.server || args.server === saved.server)) return { path: saved.ca, from: 'the CA saved by `iotcloud login`' };
  if (existsSync(defaultCaPath)) return { path: resolve(defaultCaPath), from: `the default ${defaultCaPath}` };
  return undefined;
}

/** Run one client command: connect, act, close; failures come back with their next step. */
async function withClient(args: ClientArgs, needsToken: boolean, act: (connection: Connection) => Promise<void>): Promise<void> {
  const connection = await connect(args, needsToken);
  try {
    await act(connection);
  } catch (error) {
    throw new Error(explain(error, connection));
  } finally {
    connection.client.close();
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
        await writeFile(join(a.out, 'rootca.pem'), registration.rootCa);
        await writeFile(join(a.out, `${registration.deviceId}_cert.pem`), registration.certificate);
        const keyPath = join(a.out, `${registration.deviceId}_pkey.pem`);
        await writeFile(keyPath, registration.privateKey, { mode: 0o600 });
        await chmod(keyPath, 0o600);
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
    command: 'unregister <deviceId..>',
    describe: 'Unregister devices (they are disconnected and refused from then on)',
    builder: (y: Argv) => y.options(clientOptions).positional('deviceId', { type: 'string', array: true, demandOption: true }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as Positional<{ deviceId: string[] }>;
      await withClient(a, true, async ({ client }) => {
        for (const deviceId of a.deviceId) await client.unregisterDevice(deviceId);
        if (a.json) printJson({ unregistered: a.deviceId });
        else console.log(`unregistered ${a.deviceId.join(', ')}`);
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
