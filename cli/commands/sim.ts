/** `iotcloud sim`: one simulated device next to your board, logging every request and answer. */
import type { CommandModule } from 'yargs';
import { isValidDeviceId } from '../../firmware-protocol/index.ts';
import { credentialFilesIn } from '../../device-link/index.ts';
// The files, not the index: the simulator itself loads when it runs.
import { parseProfile } from '../../simulators/profiles.ts';
import { transportNames, type TransportName } from '../../simulators/transport-names.ts';
import { loadSession } from '../../rest-client/index.ts';
import { stopSignal } from '../process/signals.ts';
import { UsageError } from '../usage-error.ts';

interface SimArgs {
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

export const simCommand: CommandModule<object, SimArgs> = {
  command: 'sim',
  describe: 'Run one simulated device (credentials as written by `iotcloud register --out DIR`)',
  builder: (y) =>
    y.options({
      device: { type: 'string', demandOption: true, describe: 'device id (from registration)' },
      url: { type: 'string', describe: `broker URL, mqtts:// or amqps:// (env IOTCLOUD_MQTT_URL; default: the one the last \`iotcloud register\` was given, else ${fallbackUrl})` },
      transport: { choices: transportNames, default: 'mqtt' as TransportName, describe: 'how the device connects' },
      dir: { type: 'string', default: '.', describe: 'folder with rootca.pem, <id>_cert.pem, <id>_pkey.pem' },
      ca: { type: 'string', describe: 'root CA file (default DIR/rootca.pem)' },
      cert: { type: 'string', describe: 'device certificate (default DIR/<id>_cert.pem)' },
      key: { type: 'string', describe: 'device key (default DIR/<id>_pkey.pem)' },
      profile: { type: 'string', describe: 'misbehaviour, e.g. "delay=5-20,drop=0.1,malformed=0.05,legacy"' },
      plaintext: { type: 'boolean', default: false, describe: 'allow mqtt:// or amqp:// without TLS (loopback testing)' },
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
    const { runSingleDevice } = await import('../../simulators/index.ts');
    await runSingleDevice({
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
  },
};
