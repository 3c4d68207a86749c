/**
 * `iotcloud demo` (what `npm start` runs): the reference server on embedded engines, a few
 * simulated devices registered through the REST API, a conformance and latency run against them
 * with the report printed, then the stack stays up with its URLs shown until Ctrl+C.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { SimulatedDevice } from '../../simulators/index.ts';
import { cliLogger } from '../logging.ts';
import { untilStopped } from '../process/signals.ts';
import { RestError, type RestClient } from '../../rest-client/index.ts';
import { ensurePortsFree } from '../port-check.ts';
import { portClaims, serverConfigFrom, serverOptions, type ServerArgs } from '../server-options.ts';
import { UsageError } from '../usage-error.ts';
import { serviceTargetOptions } from './harness.ts';
import { printServer } from './up.ts';

interface DemoArgs extends ServerArgs {
  devices: number;
  commands: number;
  reports: string;
}

const DEMO_USER = 'demo';
// The demo always runs the embedded engine with service access for the harness.
const { engine: _engine, 'broker-state-dir': _brokerStateDir, 'service-port': _servicePort, ...demoServerOptions } = serverOptions;

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Start the server with simulated devices, run conformance + latency against them, keep the stack up',
  builder: (y) =>
    y.options({
      ...demoServerOptions,
      devices: { type: 'number', default: 3, describe: 'simulated devices to start (1-100)' },
      commands: { type: 'number', default: 2000, describe: 'commands in the latency run' },
      reports: { type: 'string', default: 'reports/demo', describe: 'where the JSON, JUnit and HTML reports go, with index.html (and index.json) over them' },
    }) as never,
  handler: async (args) => {
    if (!Number.isInteger(args.devices) || args.devices < 1 || args.devices > 100) throw new UsageError('--devices must be a whole number from 1 to 100');
    if (!Number.isInteger(args.commands) || args.commands < 1) throw new UsageError('--commands must be a positive whole number');
    const step = (text: string) => console.log(`\u25b8 ${text}`);
    await ensurePortsFree(portClaims(args));
    // Loaded here, not above: every other command starts without them (cli/main.ts).
    const [{ executeHarness, writeIndex }, { startServer }, { startDevice }, { harnessConformanceRunner }] = await Promise.all([
      import('../../harness/index.ts'),
      import('../../server/server.ts'),
      import('../../simulators/index.ts'),
      import('../console-conformance.ts'),
    ]);

    step('starting the reference server (embedded PGlite registry, MQTTS broker, CA)');
    const server = await startServer({ servicePort: 0, ...(await serverConfigFrom(args)) }, await cliLogger(args), { conformanceRunner: harnessConformanceRunner });
    const devices: SimulatedDevice[] = [];
    try {
      const { RestClient } = await import('../../rest-client/client.ts');
      const client = new RestClient({ baseUrl: server.apiUrl, caPem: server.rootCaPem });
      await loginDemoUser(client, server.config.dataDir);

      step(`registering ${args.devices} simulated device(s) through the REST API and connecting them over MQTTS`);
      for (const old of (await client.listDevices()).devices) if (old.name.startsWith('demo-')) await client.unregisterDevice(old.deviceId);
      for (let i = 1; i <= args.devices; i++) {
        const registration = await client.registerDevice(`demo-${i}`);
        devices.push(
          await startDevice({
            transport: 'mqtt',
            url: server.mqttUrl,
            deviceId: registration.deviceId,
            credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey },
          }),
        );
      }

      step(`conformance suite against ${devices[0]!.deviceId}, straight on the broker (raw payloads and topics included)`);
      const conformance = await executeHarness({
        target: { kind: 'mqtt', url: server.service!.url, deviceId: devices[0]!.deviceId, ...serviceTargetOptions(server.service!) },
        reportDir: join(args.reports, 'conformance'),
        formats: ['json', 'junit', 'html'],
      });
      step(`latency: ${args.commands} commands through the REST API, spread over ${devices.length} device(s)`);
      const latency = await executeHarness({
        target: { kind: 'rest', baseUrl: server.apiUrl, token: client.token!, deviceId: devices[0]!.deviceId, ca: server.rootCaPem },
        conformance: false,
        load: { mode: 'closed', concurrency: 8, count: args.commands, command: 'get_gpio', params: { number: 1 }, deviceIds: devices.map((d) => d.deviceId) },
        reportDir: join(args.reports, 'latency'),
        formats: ['json', 'html'],
      });
      // Two reports: one page links both with their verdicts, and is the one file to open.
      const { index, html } = await writeIndex(args.reports, [
        { name: 'conformance', ...conformance },
        { name: 'latency', ...latency },
      ]);
      console.log(`${index.exitCode === 0 ? '\u2714' : '\u2716'} ${index.verdict}: open ${resolve(html)}`);
      const credentials = join(resolve(server.config.dataDir), 'demo-user.json');
      console.log(`
  demo user  ${DEMO_USER} (password in ${credentials})
  devices    ${devices.map((d) => d.deviceId).join(', ')}
  reports    ${resolve(html)} (conformance and latency, with their verdicts)
  try        node bin/iotcloud.js login ${DEMO_USER} --password "$(node -p "require('${credentials}').password")"
             node bin/iotcloud.js cmd ${devices[0]!.deviceId} set_gpio '{"number":18,"value":1}'
`);
      const stopped = untilStopped(); // listen before the banner: a caller may signal as soon as it reads it
      printServer(server);
      client.close();
      await stopped;
      console.log('iotcloud: shutting down');
    } finally {
      await Promise.all(devices.map((d) => d.stop()));
      await server.close();
    }
  },
};

/** The demo user's password is generated once and kept beside the registry (mode 0600). */
async function loginDemoUser(client: RestClient, dataDir: string): Promise<void> {
  const path = join(dataDir, 'demo-user.json');
  let password: string;
  try {
    password = (JSON.parse(await readFile(path, 'utf8')) as { password: string }).password;
  } catch {
    password = randomBytes(12).toString('base64url');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path, `${JSON.stringify({ username: DEMO_USER, password })}\n`, { mode: 0o600 });
  }
  try {
    await client.signup(DEMO_USER, password);
  } catch (error) {
    if (!(error instanceof RestError && error.status === 409)) throw error;
  }
  await client.login(DEMO_USER, password);
}
