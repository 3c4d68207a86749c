/**
 * The ceiling for device connects on this machine, now: bare mutual-TLS handshakes between two Node
 * processes — ECDSA P-256 certificates from our CA, the embedded broker's listener settings
 * (server/bus/device-listener-tls.ts) and the devices' own TLS context and host-name check, as
 * between a fleet and the embedded broker — with nothing else on the connection (no MQTT, no
 * registry). Connects/s of a fleet are read against it: the 2-core machines these benchmarks run
 * on differ by 2x in it.
 *
 * `npm run bench:tls` prints it alone; bench:fleet prints it next to its connect rate.
 *   tls_handshakes_per_s          handshakes/s, FLEET_CONCURRENCY-like 50 in flight
 *   tls_client_cpu_per_handshake_ms / tls_server_cpu_per_handshake_ms
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEphemeralCertificateAuthority } from '../certs/index.ts';
import { deviceListenerTlsOptions, type DeviceListenerTlsMaterial } from '../server/bus/device-listener-tls.ts';
import { checkServerNameOnLeafOnly, deviceTlsContext } from '../device-link/index.ts';
import { printMetric, processTreeCpuSeconds } from './report.ts';

export interface TlsCeiling {
  handshakesPerSecond: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

const SERVER_ROLE = 'IOTCLOUD_TLS_CEILING_SERVER';

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The child: accepts mutual-TLS connections and closes each once its handshake is done. */
function serveHandshakes(): void {
  process.once('message', (material: DeviceListenerTlsMaterial) => {
    const server = tls.createServer(
      deviceListenerTlsOptions(material),
      (socket) => {
        socket.on('error', () => undefined);
        socket.end();
      },
    );
    server.on('tlsClientError', () => undefined);
    server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
    process.on('disconnect', () => process.exit(0));
  });
}

export async function measureTlsCeiling(handshakes = 3000, concurrency = 50): Promise<TlsCeiling> {
  const ca = await createEphemeralCertificateAuthority();
  const server = await ca.issueServerCertificate(['127.0.0.1']);
  const device = await ca.issueDeviceCertificate('tls-ceiling');
  const child = fork(fileURLToPath(import.meta.url), { env: { ...process.env, [SERVER_ROLE]: '1' }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    child.send({ clientTrustPem: ca.clientTrustPem, certPem: server.certPem, keyPem: server.keyPem } satisfies DeviceListenerTlsMaterial);
    const [port] = (await once(child, 'message')) as [number];
    const context = deviceTlsContext({ caPem: ca.rootCertPem, certPem: device.certPem, keyPem: device.keyPem });
    const handshake = () =>
      new Promise<void>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, secureContext: context }, () => socket.end());
        checkServerNameOnLeafOnly(socket);
        socket.once('error', reject);
        socket.once('close', () => resolve());
      });
    const run = async (count: number) => {
      let started = 0;
      const lane = async () => {
        while (started < count) {
          started++;
          await handshake();
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
    };
    await run(Math.min(300, handshakes)); // warm up both processes' code paths
    const serverBefore = await processTreeCpuSeconds(child.pid!);
    const clientBefore = cpuMs();
    const start = performance.now();
    await run(handshakes);
    const seconds = (performance.now() - start) / 1000;
    const clientCpu = cpuMs() - clientBefore;
    const serverCpuMs = ((await processTreeCpuSeconds(child.pid!)) - serverBefore) * 1000;
    return { handshakesPerSecond: handshakes / seconds, clientCpuMs: clientCpu / handshakes, serverCpuMs: serverCpuMs / handshakes };
  } finally {
    child.disconnect();
    await once(child, 'exit');
  }
}

if (process.env[SERVER_ROLE]) serveHandshakes();
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ceiling = await measureTlsCeiling();
  printMetric('tls_handshakes_per_s', ceiling.handshakesPerSecond, 'handshakes/s');
  printMetric('tls_client_cpu_per_handshake_ms', ceiling.clientCpuMs, 'ms');
  printMetric('tls_server_cpu_per_handshake_ms', ceiling.serverCpuMs, 'ms');
}
