/** `iotcloud sim`: one simulated device next to your board, logging every request and answer. */
import type { CommandModule } from 'yargs';
import { isValidDeviceId } from '../../firmware-protocol/limits.ts';
import { credentialFilesIn } from '../../device-link/index.ts';
// The files, not the index: the simulator itself loads when it runs.
import { parseProfile } from '../../simulators/profiles.ts';
import { transportNames, type TransportName } from '../../simulators/transport-names.ts';
import { loadSession } from '../../rest-client/index.ts';
import { cliLogger, logOptions, type LogArgs } from '../logging.ts';
import { stopSignal } from '../process/signals.ts';
import { UsageError } from '../usage-error.ts';

interface SimArgs extends LogArgs {
  device: string;
  url?: string;
  transport: TransportName;
  dir: string;
  ca?: string;
  cert?: string;
  key?: string;
  profile?: string;
  plaintext: boolean;
}

const fallbackUrl = 'mqtts://127.0.0.1:8883';

/** Exit statuses beyond 0 (stopped by Ctrl-C/SIGTERM), 1 (failed) and 2 (called wrongly). */
export const simExit = { refused: 3, untrustedBroker: 4 } as const;

const epilog = `Exit status:
  0  stopped by Ctrl-C or SIGTERM
  1  failed (e.g. the credential files cannot be read)
  2  called wrongly (a flag is missing or invalid)
  ${simExit.refused}  the broker refused the device: not registered with this server, unregistered, or its certificate revoked or not this server's
  ${simExit.untrustedBroker}  the device does not trust the broker's certificate (another server's root CA, or a host name not in its certificate)
A broker that is away (connection refused, restarting) is retried with back-off, one log line per attempt.`;

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'Run one simulated device (credentials as written by `iotcloud register --out DIR`)',
  builder: (y) =>
    y.epilog(epilog).options({
      device: { type: 'string', demandOption: true, describe: 'device id (from registration)' },
      url: { type: 'string', describe: `broker URL, mqtts:// or amqps:// (env IOTCLOUD_MQTT_URL; default: the one the last \`iotcloud register\` was given, else ${fallbackUrl})` },
      transport: { choices: transportNames, default: 'mqtt' as TransportName, describe: 'how the device connects' },
      dir: { type: 'string', default: '.', describe: 'folder with rootca.pem, <id>_cert.pem, <id>_pkey.pem' },
      ca: { type: 'string', describe: 'root CA file (default DIR/rootca.pem)' },
      cert: { type: 'string', describe: 'device certificate (default DIR/<id>_cert.pem)' },
      key: { type: 'string', describe: 'device key (default DIR/<id>_pkey.pem)' },
      profile: { type: 'string', describe: 'misbehaviour, e.g. "delay=5-20,drop=0.1,malformed=0.05,legacy"' },
      plaintext: { type: 'boolean', default: false, describe: 'allow mqtt:// or amqp:// without TLS (loopback testing)' },
      ...logOptions('info', 'least severe log lines shown (warn: only problems; debug adds the UART lines)'),
    }) as never,
  handler: async (args) => {
    if (!isValidDeviceId(args.device)) throw new UsageError(`--device ${JSON.stringify(args.device)} is not a device id (letters, digits, _ and -)`);
    if (args.profile) {
      try {
        parseProfile(args.profile);
      } catch (error) {
        throw new UsageError(`--profile: ${(error as Error).message}`);
      }
    }
    const url = args.url ?? process.env.IOTCLOUD_MQTT_URL ?? (await loadSession())?.mqttUrl ?? fallbackUrl;
    const secure = /^(mqtts|amqps):/.test(url);
    if (!secure && !args.plaintext) throw new UsageError(`${url} is not TLS; use mqtts:// or amqps://, or pass --plaintext for a loopback broker`);
    // Loaded here, not above: every other command starts without the device (cli/main.ts).
    const [{ DeviceRefusedError, runSingleDevice }, logger] = await Promise.all([import('../../simulators/index.ts'), cliLogger(args, 'iotcloud-sim')]);
    const run = runSingleDevice({
      logger,
      signal: stopSignal(),
      transport: args.transport,
      url,
      deviceId: args.device,
      allowPlaintext: args.plaintext,
      ...(args.profile ? { profile: args.profile } : {}),
      ...(secure
        ? {
            credentials: credentialFilesIn(args.dir, args.device, args),
          }
        : {}),
    });
    try {
      await run;
    } catch (error) {
      if (!(error instanceof DeviceRefusedError)) throw error;
      const untrusted = error.refusal.kind === 'untrusted-broker';
      console.error(`iotcloud sim: ${untrusted ? refusedBrokerAdvice(url, args, error.refusal.detail) : refusedDeviceAdvice(url, args, error.refusal.detail)}`);
      // Exit now: the device is stopped and the log lines are written (synchronously), but a
      // library may still hold a timer (rhea keeps a 2-minute idle timer after a SASL refusal).
      process.exit(untrusted ? simExit.untrustedBroker : simExit.refused);
    }
  },
};

/** The broker said no to this device: what that means and what to do, in one line. */
function refusedDeviceAdvice(url: string, args: SimArgs, detail: string): string {
  return `the broker at ${url} refused device ${args.device} (${detail}): it is not registered with this server, was unregistered, or its certificate is not the registered one; next: register it with \`iotcloud register <name> --device-id ${args.device} --out ${args.dir}\`, or check --url and the credentials in ${args.dir}`;
}

/** The device said no to the broker: its CA or host name does not check out. */
function refusedBrokerAdvice(url: string, args: SimArgs, detail: string): string {
  return `device ${args.device} does not trust the broker at ${url} (${detail}): its certificate is not from the root CA in ${args.ca ?? `${args.dir}/rootca.pem`}, or ${new URL(url).hostname} is not a name in it; next: check --url names this server's host and --dir (or --ca) holds this server's rootca.pem`;
}
