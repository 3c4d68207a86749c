/**
 * `iotcloud bridge`: put a board that speaks FRAMING.md on a serial line onto the cloud as its
 * device. Credentials are the files `iotcloud register --out DIR` writes, found as `iotcloud sim`
 * finds them: DIR/rootca.pem, DIR/<id>_cert.pem, DIR/<id>_pkey.pem.
 */
import type { CommandModule } from 'yargs';
import { credentialFilesIn, isTlsUrl } from '../../device-link/index.ts';
import { DEFAULT_BAUD } from '../../ft900/bridge/config.ts'; // not the index: the bridge itself loads when it runs
import { cliLogger, logOptions, type LogArgs } from '../logging.ts';
import { stopSignal } from '../process/signals.ts';
import { UsageError } from '../usage-error.ts';

interface BridgeArgs extends LogArgs {
  port: string;
  device: string;
  url: string;
  dir: string;
  ca?: string;
  cert?: string;
  key?: string;
  baud: number;
  plaintext: boolean;
  'request-timeout'?: number;
}

export const bridgeCommand: CommandModule<object, BridgeArgs> = {
  command: 'bridge',
  describe: 'Connect a board on a serial line (ft900/firmware/FRAMING.md) to the broker as its device',
  builder: (y) =>
    y.options({
      port: { type: 'string', demandOption: true, describe: 'serial device of the board, e.g. /dev/ttyUSB0' },
      device: { type: 'string', demandOption: true, describe: 'device id (from registration; the board must use the same)' },
      url: { type: 'string', default: 'mqtts://127.0.0.1:8883', describe: 'broker URL' },
      dir: { type: 'string', default: '.', describe: 'folder with rootca.pem, <id>_cert.pem, <id>_pkey.pem' },
      ca: { type: 'string', describe: 'root CA file (default DIR/rootca.pem)' },
      cert: { type: 'string', describe: 'device certificate (default DIR/<id>_cert.pem)' },
      key: { type: 'string', describe: 'device key (default DIR/<id>_pkey.pem)' },
      baud: { type: 'number', default: DEFAULT_BAUD, describe: 'baud rate of the board\'s UART' },
      plaintext: { type: 'boolean', default: false, describe: 'allow mqtt:// without TLS (loopback testing)' },
      'request-timeout': { type: 'number', describe: 'ms the board may take to answer one request (default: from the baud rate)' },
      ...logOptions('info', 'least severe log lines shown (debug logs every answer and line error)'),
    }) as never,
  handler: async (args) => {
    const secure = isTlsUrl(args.url);
    if (!secure && !args.plaintext) throw new UsageError(`${args.url} is not TLS; use mqtts://, or pass --plaintext for a loopback broker`);
    // Loaded here, not above: every other command starts without the bridge (cli/main.ts).
    const [logger, { BridgeConfigError, runBridge }] = await Promise.all([cliLogger(args, 'iotcloud-bridge'), import('../../ft900/bridge/index.ts')]);
    try {
      const counters = await runBridge({
        signal: stopSignal(),
        port: args.port,
        deviceId: args.device,
        url: args.url,
        baudRate: args.baud,
        allowPlaintext: args.plaintext,
        logger,
        ...(args['request-timeout'] === undefined ? {} : { requestTimeoutMs: args['request-timeout'] }),
        ...(secure
          ? {
              credentials: credentialFilesIn(args.dir, args.device, args),
            }
          : {}),
      });
      console.log(`iotcloud bridge: stopped; ${JSON.stringify(counters)}`);
    } catch (error) {
      // A wrong flag is a usage error (exit 2, with the help); anything else is a failure.
      if (error instanceof BridgeConfigError) throw new UsageError(error.message);
      throw error;
    }
  },
};
