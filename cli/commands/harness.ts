/**
 * `iotcloud harness`: the conformance suite and latency runner against any device, for people and
 * for CI. Targets: a device behind a running server (REST), a device straight on a broker (MQTT),
 * or `--embedded`: a private server for this run, with the device under test spawned by
 * `--spawn "<command>"`, a board on a serial line (`--serial PORT`, bridged), the firmware image
 * on an emulated MCU (`--qemu IMAGE`, bridged) or, without any of them, a simulated device.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import type { DeviceUnderTest, HarnessOptions, TargetSpec } from '../../harness/index.ts';
import type { RunningServer } from '../../server/server.ts';
import type { SimulatedDevice } from '../../simulators/index.ts';
import { parseProfile } from '../../simulators/profiles.ts'; // not the index: the simulator loads when a run needs it
import { isValidDeviceId } from '../../firmware-protocol/limits.ts';
import { advise, type ConnectionContext } from '../advice.ts';
import { findCa, resolveAccess } from '../rest-access.ts';
import { UsageError } from '../usage-error.ts';

interface HarnessArgs {
  device?: string;
  server?: string;
  mqtt?: string;
  embedded: boolean;
  spawn?: string;
  serial?: string;
  baud?: number;
  flash?: string;
  qemu?: string;
  profile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  'service-credentials'?: string;
  token?: string;
  deadline: number;
  'reset-deadline': number;
  only?: string[];
  skip?: string[];
  conformance: boolean;
  load: boolean;
  'load-count'?: number;
  'load-duration'?: number;
  'load-rate'?: number;
  concurrency: number;
  command: string;
  'report-dir': string;
  format: string[];
  'max-p99'?: number;
  'max-error-rate'?: number;
  'min-throughput'?: number;
  firmware?: string;
}

export const harnessCommand: CommandModule<object, HarnessArgs> = {
  command: 'harness',
  describe: 'Run the conformance suite (and a latency run) against a device; exit 0 only when every required case passes',
  builder: (y) =>
    y
      .options({
        device: { type: 'string', describe: 'device id under test (with --embedded: the id to register, default generated)' },
        server: { type: 'string', describe: 'REST API of a running server: test the device through it' },
        mqtt: { type: 'string', describe: 'broker URL: talk to the device directly, acting as the server (mqtt:// or mqtts://)' },
        embedded: { type: 'boolean', default: false, describe: 'start a private server for this run' },
        spawn: { type: 'string', describe: 'with --embedded: command that starts the device under test; it gets IOTCLOUD_DEVICE_ID, IOTCLOUD_MQTT_URL, IOTCLOUD_CA, IOTCLOUD_CERT, IOTCLOUD_KEY' },
        serial: { type: 'string', describe: 'with --embedded: the board under test is on this serial port (e.g. /dev/ttyUSB0); the harness bridges it. Needs --device (the id the board was built with)' },
        baud: { type: 'number', describe: 'with --serial: baud rate of the board\'s UART (default 115200)' },
        flash: { type: 'string', describe: 'with --serial: command run before the suite, e.g. a flashing tool; gets IOTCLOUD_DEVICE_ID and IOTCLOUD_SERIAL_PORT' },
        qemu: { type: 'string', describe: 'with --embedded: boot this firmware image (make -C ft900/firmware qemu: build/lm3s6965/firmware.elf) on qemu-system-arm lm3s6965evb and bridge its UART' },
        profile: { type: 'string', describe: 'with --embedded and no --spawn: misbehaviour of the simulated device, e.g. "legacy"' },
        ca: { type: 'string', describe: 'CA file for https:// or mqtts:// (env IOTCLOUD_CA; with --server also the CA `iotcloud login` saved)' },
        cert: { type: 'string', describe: 'client certificate for mqtts://' },
        key: { type: 'string', describe: 'client key for mqtts://' },
        'service-credentials': { type: 'string', describe: 'with --mqtt on an iotcloud embedded broker: the service.json written by `iotcloud up --service-port`' },
        token: { type: 'string', describe: 'with --server: bearer token (default: saved by `iotcloud login`)' },
        deadline: { type: 'number', default: 2000, describe: 'every answer must arrive within this many ms' },
        'reset-deadline': { type: 'number', default: 15000, describe: 'how long reset_device may take to come back, ms' },
        only: { type: 'string', array: true, describe: 'run only cases whose id starts with this (repeatable)' },
        skip: { type: 'string', array: true, describe: 'skip cases whose id starts with this (repeatable)' },
        conformance: { type: 'boolean', default: true, describe: 'run the conformance suite (--no-conformance for load only)' },
        load: { type: 'boolean', default: false, describe: 'run a latency/load run after the suite' },
        'load-count': { type: 'number', describe: 'load: stop after this many commands (default 1000 when no duration)' },
        'load-duration': { type: 'number', describe: 'load: stop after this many seconds' },
        'load-rate': { type: 'number', describe: 'load: fixed rate in commands/s (default: closed loop)' },
        concurrency: { type: 'number', default: 1, describe: 'load: workers (closed loop) or most in flight (fixed rate)' },
        command: { type: 'string', default: 'get_status', describe: 'load: the command to send' },
        'max-p99': { type: 'number', describe: 'load: fail (exit 4) when the p99 of ok answers is above this many ms' },
        'max-error-rate': { type: 'number', describe: 'load: fail (exit 4) when more than this percent of commands are not answered ok' },
        'min-throughput': { type: 'number', describe: 'load: fail (exit 4) when fewer ok answers per second arrive' },
        firmware: { type: 'string', default: process.env.IOTCLOUD_FIRMWARE, describe: 'firmware version or build id of the device under test, shown in every report (env IOTCLOUD_FIRMWARE)' },
        'report-dir': { type: 'string', default: 'reports/harness', describe: 'where reports are written' },
        format: { type: 'string', array: true, choices: ['json', 'junit', 'html'], default: ['json', 'junit', 'html'], describe: 'report formats' },
      })
      .check((args) => {
        const modes = [args.server, args.mqtt, args.embedded || undefined].filter(Boolean).length;
        if (modes !== 1) throw new UsageError('choose one target: --server URL, --mqtt URL or --embedded');
        if (!args.embedded && !args.device) throw new UsageError('--device is required with --server or --mqtt');
        if (args.device !== undefined && !isValidDeviceId(args.device)) throw new UsageError(`--device ${JSON.stringify(args.device)} is not a device id`);
        if (args.spawn && !args.embedded && !args.server && !args.mqtt) throw new UsageError('--spawn needs a target');
        const devices = [args.spawn && '--spawn', args.serial && '--serial', args.qemu && '--qemu', args.profile && '--profile'].filter(Boolean);
        if (devices.length > 1) throw new UsageError(`choose one device under test: ${devices.join(' or ')}`);
        if ((args.serial || args.qemu) && !args.embedded) throw new UsageError(`${args.serial ? '--serial' : '--qemu'} goes with --embedded (the harness registers the device and bridges the board); for a running server run \`iotcloud bridge\` yourself and use --server`);
        if (args.serial && !args.device) throw new UsageError('--serial needs --device: the device id the board was built or provisioned with');
        if ((args.baud !== undefined || args.flash) && !args.serial) throw new UsageError(`${args.flash ? '--flash' : '--baud'} goes with --serial`);
        if (args.profile) parseProfileOrUsage(args.profile);
        if (!(args.deadline > 0)) throw new UsageError('--deadline must be a positive number of ms');
        for (const flag of ['max-p99', 'max-error-rate', 'min-throughput'] as const) {
          const value = args[flag];
          if (value === undefined) continue;
          if (!(Number.isFinite(value) && value >= 0)) throw new UsageError(`--${flag} must be a number of 0 or more, got ${String(value)}`);
          if (!args.load && args.conformance) throw new UsageError(`--${flag} judges a load run: add --load (or --no-conformance for a load run only)`);
        }
        if (args['max-error-rate'] !== undefined && args['max-error-rate'] > 100) throw new UsageError('--max-error-rate is a percentage from 0 to 100');
        return true;
      }) as never,
  handler: async (args) => {
    if (args.embedded) {
      process.exitCode = await runEmbedded(args);
      return;
    }
    const found = await targetFrom(args);
    process.exitCode = 'problem' in found ? await setupFailure(found.problem) : await runAgainst(found.target, args, { explain: (cause) => advise(cause, found.context) });
  },
};

/**
 * A run that cannot start (not logged in, server or broker unreachable, TLS refused) is the
 * harness's setup error with what to do next, never a usage error: the flags were fine.
 */
async function setupFailure(message: string): Promise<number> {
  // Loaded here, not above: every other command starts without the harness (cli/main.ts).
  const { ConsoleView, exitCodes } = await import('../../harness/index.ts');
  const view = new ConsoleView(process.stdout);
  view.line(`harness: setup error: ${message}`);
  view.finalLine(exitCodes.setupError, undefined);
  return exitCodes.setupError;
}

function parseProfileOrUsage(text: string): void {
  try {
    parseProfile(text);
  } catch (error) {
    throw new UsageError(`--profile: ${(error as Error).message}`);
  }
}

/** Service login for the embedded broker: user, password and a client id in the service namespace. */
export function serviceTargetOptions(service: { username: string; password: string; clientIdPrefix: string }) {
  return { username: service.username, password: service.password, clientId: `${service.clientIdPrefix}harness-${randomBytes(4).toString('hex')}` };
}

async function readServiceLoginFile(path: string) {
  try {
    return serviceTargetOptions(JSON.parse(await readFile(path, 'utf8')) as { username: string; password: string; clientIdPrefix: string });
  } catch (error) {
    throw new UsageError(`--service-credentials ${path}: ${(error as Error).message}`);
  }
}

/** The target the flags name, and what the advice on a failure to reach it needs; or why there is none. */
async function targetFrom(args: HarnessArgs): Promise<{ target: TargetSpec; context: ConnectionContext } | { problem: string }> {
  if (args.mqtt) {
    const service = args['service-credentials'] ? await readServiceLoginFile(args['service-credentials']) : {};
    // --ca, else IOTCLOUD_CA, as for the REST API; no default file: a broker may carry a public certificate.
    const ca = args.ca || process.env.IOTCLOUD_CA ? findCa(args.ca) : undefined;
    const target: TargetSpec = { kind: 'mqtt', url: args.mqtt, deviceId: args.device!, ...service, ...(ca ? { ca: ca.pem } : {}), ...(args.cert ? { cert: args.cert } : {}), ...(args.key ? { key: args.key } : {}) };
    return { target, context: { server: args.mqtt, broker: true, ...(ca ? { ca } : {}) } };
  }
  // The same lookup as every client command: flags, IOTCLOUD_CA / IOTCLOUD_TOKEN, then what `iotcloud login` saved.
  const access = await resolveAccess({ server: args.server!, ...(args.ca ? { ca: args.ca } : {}), ...(args.token ? { token: args.token } : {}) });
  if (!access.token) return { problem: `no token for ${access.server}: nobody is logged in there.\n  next: run \`iotcloud login <username> --server ${access.server}\`, or pass --token (or IOTCLOUD_TOKEN)` };
  const target: TargetSpec = { kind: 'rest', baseUrl: access.server, token: access.token, deviceId: args.device!, ...(access.ca ? { ca: access.ca.pem } : {}) };
  return { target, context: { server: access.server, ...(access.ca ? { ca: access.ca } : {}) } };
}

interface RunExtras {
  spawnEnv?: Record<string, string>;
  dut?: () => Promise<DeviceUnderTest>;
  /** What a setup error's cause means for the user (cli/advice.ts). */
  explain?: (cause: unknown) => string | undefined;
}

function runAgainst(target: TargetSpec, args: HarnessArgs, { spawnEnv, dut, explain: explainSetupError }: RunExtras = {}): Promise<number> {
  const options: HarnessOptions = {
    target,
    deadlineMs: args.deadline,
    resetDeadlineMs: args['reset-deadline'],
    conformance: args.conformance,
    reportDir: args['report-dir'],
    formats: args.format as HarnessOptions['formats'],
    ...(args.only ? { only: args.only } : {}),
    ...(args.skip ? { skip: args.skip } : {}),
    ...(args.spawn ? { spawn: { command: args.spawn, ...(spawnEnv ? { env: spawnEnv } : {}) } } : {}),
    ...(dut ? { dut } : {}),
    ...(args.firmware ? { firmware: args.firmware } : {}),
    ...(explainSetupError ? { explainSetupError } : {}),
  };
  if (args.load || !args.conformance) {
    options.load = {
      mode: args['load-rate'] ? 'rate' : 'closed',
      command: args.command,
      concurrency: args.concurrency,
      ...(args['load-rate'] ? { rate: args['load-rate'] } : {}),
      ...(args['load-duration'] ? { durationMs: args['load-duration'] * 1000 } : { count: args['load-count'] ?? 1000 }),
    };
    options.thresholds = {
      ...(args['max-p99'] === undefined ? {} : { maxP99Ms: args['max-p99'] }),
      ...(args['max-error-rate'] === undefined ? {} : { maxErrorRatePct: args['max-error-rate'] }),
      ...(args['min-throughput'] === undefined ? {} : { minThroughputPerSec: args['min-throughput'] }),
    };
  }
  // Loaded when a run starts, not above: every other command starts without the harness (cli/main.ts).
  return import('../../harness/index.ts').then(({ executeHarness }) => executeHarness(options)).then((run) => run.exitCode);
}

/** A private server for one run: register the device, hand its credentials to the device under test. */
async function runEmbedded(args: HarnessArgs): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'iotcloud-harness-'));
  let server: RunningServer | undefined;
  let simulated: SimulatedDevice | undefined;
  const [{ default: pino }, { startServer }, { startDevice }] = await Promise.all([import('pino'), import('../../server/server.ts'), import('../../simulators/index.ts')]);
  try {
    server = await startServer({ apiPort: 0, mqttPort: 0, servicePort: 0, dataDir: join(dir, 'server') }, pino({ level: 'warn' }));
    const { RestClient } = await import('../../rest-client/client.ts');
    const client = new RestClient({ baseUrl: server.apiUrl, caPem: server.rootCaPem });
    await client.signup('harness', 'harness password');
    await client.login('harness', 'harness password');
    const registration = await client.registerDevice('device-under-test', args.device ? { deviceId: args.device } : {});
    const files = { IOTCLOUD_CA: join(dir, 'rootca.pem'), IOTCLOUD_CERT: join(dir, `${registration.deviceId}_cert.pem`), IOTCLOUD_KEY: join(dir, `${registration.deviceId}_pkey.pem`) };
    await writeFile(files.IOTCLOUD_CA, registration.rootCa);
    await writeFile(files.IOTCLOUD_CERT, registration.certificate);
    await writeFile(files.IOTCLOUD_KEY, registration.privateKey, { mode: 0o600 });
    console.log(`embedded server ${server.apiUrl}, device ${registration.deviceId} on ${server.mqttUrl}`);
    const credentials = { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey };
    const board = { deviceId: registration.deviceId, mqttUrl: server.mqttUrl, credentials };
    const dut = args.qemu
      ? async () => (await import('../dut/qemu.ts')).qemuDut({ ...board, image: args.qemu! })
      : args.serial
        ? async () => (await import('../dut/serial.ts')).serialDut({ ...board, port: args.serial!, ...(args.baud ? { baudRate: args.baud } : {}), ...(args.flash ? { flash: args.flash } : {}) })
        : undefined;
    if (!args.spawn && !dut) {
      simulated = await startDevice({
        transport: 'mqtt',
        url: server.mqttUrl,
        deviceId: registration.deviceId,
        credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey },
        ...(args.profile ? { profile: args.profile } : {}),
      });
    }
    // Straight on the broker as the server, so the raw-payload and topic cases run too.
    const target: TargetSpec = { kind: 'mqtt', url: server.service!.url, deviceId: registration.deviceId, ...serviceTargetOptions(server.service!) };
    const code = await runAgainst(target, args, { spawnEnv: { ...files, IOTCLOUD_MQTT_URL: server.mqttUrl }, ...(dut ? { dut } : {}) });
    client.close();
    return code;
  } catch (error) {
    return await setupFailure((error as Error).message);
  } finally {
    await simulated?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
