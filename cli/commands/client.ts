/** The original client.py, as subcommands: signup, login, register, unregister, devices, cmd. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { commandNames } from '../../firmware-protocol/index.ts';
import { RestClient, saveSession } from '../../rest-client/index.ts';
import { caOptionHelp, platformCaPem, savedToken } from '../rest-access.ts';
import { UsageError } from '../usage-error.ts';
import { writeCredentialFile } from '../write-credential.ts';
import { defaultConfig } from '../../server/config.ts';

interface ClientArgs {
  server: string;
  ca?: string;
  token?: string;
}

const clientOptions = {
  server: { type: 'string', default: process.env.IOTCLOUD_SERVER ?? `https://127.0.0.1:${defaultConfig.apiPort}`, describe: 'REST API base URL (env IOTCLOUD_SERVER)' },
  ca: { type: 'string', describe: caOptionHelp },
  token: { type: 'string', describe: 'bearer token (default: the one saved by `iotcloud login`; env IOTCLOUD_TOKEN)' },
} as const;

async function clientFrom(args: ClientArgs, needsToken: boolean): Promise<RestClient> {
  const caPem = platformCaPem(args.ca);
  const token = await savedToken(args.token);
  if (needsToken && !token) throw new UsageError('not logged in: run `iotcloud login <username> --password ...` first, or pass --token');
  return new RestClient({ baseUrl: args.server, ...(caPem ? { caPem } : {}), ...(token ? { token } : {}) });
}

function password(args: { password?: string }): string {
  const value = args.password ?? process.env.IOTCLOUD_PASSWORD;
  if (!value) throw new UsageError('give the password with --password or the IOTCLOUD_PASSWORD environment variable');
  return value;
}

function parseParams(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`parameters must be JSON, e.g. '{"number":18,"value":1}'; got ${text}`);
  }
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

export const clientCommands: CommandModule<object, ClientArgs>[] = [
  {
    command: 'signup <username>',
    describe: 'Create a user on a server',
    builder: (y: Argv) => y.options(clientOptions).option('password', { type: 'string' }).positional('username', { type: 'string', demandOption: true }) as Argv<ClientArgs>,
    handler: async (args) => {
      const client = await clientFrom(args, false);
      print(await client.signup(String((args as unknown as { username: string }).username), password(args as { password?: string })));
      client.close();
    },
  },
  {
    command: 'login <username>',
    describe: 'Log in and save the token for later commands',
    builder: (y: Argv) => y.options(clientOptions).option('password', { type: 'string' }).positional('username', { type: 'string', demandOption: true }) as Argv<ClientArgs>,
    handler: async (args) => {
      const client = await clientFrom(args, false);
      const session = await client.login(String((args as unknown as { username: string }).username), password(args as { password?: string }));
      await saveSession({ server: args.server, token: session.token, expiresAt: session.expiresAt });
      console.log(`logged in; token saved, valid until ${session.expiresAt}`);
      client.close();
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
      const a = args as unknown as ClientArgs & { name: string; 'device-id'?: string; rsa: boolean; out: string };
      const client = await clientFrom(a, true);
      const registration = await client.registerDevice(a.name, {
        ...(a['device-id'] ? { deviceId: a['device-id'] } : {}),
        keyAlgorithm: a.rsa ? 'rsa-2048' : 'ecdsa-p256',
      });
      await mkdir(a.out, { recursive: true });
      try {
        await writeCredentialFile(join(a.out, `${registration.deviceId}_pkey.pem`), registration.privateKey, 'private');
        await writeCredentialFile(join(a.out, 'rootca.pem'), registration.rootCa, 'public');
        await writeCredentialFile(join(a.out, `${registration.deviceId}_cert.pem`), registration.certificate, 'public');
      } catch (error) {
        client.close();
        throw new Error(`device ${registration.deviceId} was registered, but ${(error as Error).message}; unregister it with \`iotcloud unregister ${registration.deviceId}\` and register again`);
      }
      print({ deviceId: registration.deviceId, name: registration.name, mqttUrl: registration.mqttUrl, files: a.out });
      client.close();
    },
  },
  {
    command: 'unregister <deviceId>',
    describe: 'Unregister a device (it is disconnected and refused from then on)',
    builder: (y: Argv) => y.options(clientOptions).positional('deviceId', { type: 'string', demandOption: true }) as Argv<ClientArgs>,
    handler: async (args) => {
      const client = await clientFrom(args, true);
      await client.unregisterDevice(String((args as unknown as { deviceId: string }).deviceId));
      console.log('unregistered');
      client.close();
    },
  },
  {
    command: 'devices',
    describe: 'List your devices',
    builder: (y: Argv) => y.options(clientOptions) as Argv<ClientArgs>,
    handler: async (args) => {
      const client = await clientFrom(args, true);
      print((await client.listDevices()).devices);
      client.close();
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
        .option('timeout', { type: 'number', describe: 'ms to wait for the device' }) as Argv<ClientArgs>,
    handler: async (args) => {
      const a = args as unknown as ClientArgs & { deviceId: string; command: string; params?: string; timeout?: number };
      const client = await clientFrom(a, true);
      print(await client.command(a.deviceId, a.command, parseParams(a.params), a.timeout));
      client.close();
    },
  },
];
