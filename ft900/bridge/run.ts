/**
 * One bridge run, as `iotcloud bridge` (cli/commands/bridge.ts) does it: load the credential
 * files, start the bridge, and stop it when the caller's signal aborts.
 */
import pino, { type Logger } from 'pino';
import { loadCredentials, type CredentialFiles } from '../../device-link/index.ts';
import { startBridge, type Bridge, type BridgeCounters, type BridgeOptions } from './bridge.ts';

export interface RunBridgeOptions extends Omit<BridgeOptions, 'credentials' | 'logger'> {
  credentials?: CredentialFiles;
  logger?: Logger;
  /** Stop when aborted (`iotcloud bridge` aborts it on SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Called with the running bridge (its events and counters), e.g. to wait until it is up. */
  onStarted?: (bridge: Bridge) => void;
}

/** Run a bridge until `signal` aborts; resolves with its counters once stopped. */
export async function runBridge(options: RunBridgeOptions): Promise<BridgeCounters> {
  const { credentials: files, signal, onStarted, logger = pino({ name: 'iotcloud-bridge' }), ...rest } = options;
  const credentials = files ? await loadCredentials(files) : undefined;
  const bridge = startBridge({ ...rest, logger, ...(credentials ? { credentials } : {}) });
  logger.info({ port: bridge.settings.port, baudRate: bridge.settings.baudRate, deviceId: bridge.settings.deviceId }, 'bridge running; Ctrl-C stops it');
  onStarted?.(bridge);
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  const counters = { ...bridge.counters };
  await bridge.close();
  return counters;
}
