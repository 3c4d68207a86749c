/**
 * `iotcloud bridge`: put a board that speaks FRAMING.md on a serial line onto the cloud as its
 * device. Credentials are the files `iotcloud register --out DIR` writes, found as `iotcloud sim`
 * finds them: DIR/rootca.pem, DIR/<id>_cert.pem, DIR/<id>_pkey.pem.
 */
import type { CommandModule } from 'yargs';
import pino, { type Logger } from 'pino';
import { UsageError } from '../../cli/usage-error.ts';
import { credentialFilesIn, loadCredentials, untilStopped, type CredentialFiles } from '../../simulators/index.ts';
import { startBridge, type Bridge, type BridgeCounters, type BridgeOptions } from './bridge.ts';
import { BridgeConfigError, DEFAULT_BAUD } from './config.ts';

export interface RunBridgeOptions extends Omit<BridgeOptions, 'credentials' | 'logger'> {
  credentials?: CredentialFiles;
  logger?: Logger;
  /** Stop when aborted (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called with the running bridge (its events and counters), e.g. to wait until it is up. */
  onStarted?: (bridge: Bridge) => void;
}

/** Run a bridge until SIGINT/SIGTERM or `signal`; resolves with its counters once stopped. */
export async function runBridge(options: RunBridgeOptions): Promise<BridgeCounters> {
  const { credentials: files, signal, onStarted, logger = pino({ name: 'iotcloud-bridge' }), ...rest } = options;
  const credentials = files ? await loadCredentials(files) : undefined;
  const bridge = startBridge({ ...rest, logger, ...(credentials ? { credentials } : {}) });
  logger.info({ port: bridge.settings.port, baudRate: bridge.settings.baudRate, deviceId: bridge.settings.deviceId }, 'bridge running; Ctrl-C stops it');
  onStarted?.(bridge);
  await untilStopped(signal);
  const counters = { ...bridge.counters };
  await bridge.close();
  return counters;
}

interface BridgeArgs {
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
  'log-level': string;
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
      'log-level': { choices: ['debug', 'info', 'warn', 'error'], default: 'info', describe: 'debug logs every answer and line error' },
    }) as never,
  handler: async (args) => {
    const secure = args.url.startsWith('mqtts:');
    if (!secure && !args.plaintext) throw new UsageError(`${args.url} is not TLS; use mqtts://, or pass --plaintext for a loopback broker`);
    try {
      const counters = await runBridge({
        port: args.port,
        deviceId: args.device,
        url: args.url,
        baudRate: args.baud,
        allowPlaintext: args.plaintext,
        logger: pino({ name: 'iotcloud-bridge', level: args['log-level'] }),
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
