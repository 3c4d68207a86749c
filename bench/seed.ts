/**
 * The original libpyiotcloud published one round trip: 2.01 s from the client, 1.00 s from the
 * web server (server <-> broker <-> MCU). This measures the same two paths with the harness:
 * the client path through the REST API, the server path straight on the broker.
 */
import { readFile } from 'node:fs/promises';
import { openMqttTarget, openRestTarget, runLoad } from '../harness/index.ts';
import { printMetric } from './report.ts';
import { startBenchStack } from './stack.ts';

const SEED_CLIENT_MS = 2010;
const SEED_SERVER_MS = 1000;

const stack = await startBenchStack();
try {
  const [started] = await stack.registerDevices(1);
  const deviceId = started!.registration.deviceId;
  const service = JSON.parse(await readFile(stack.up.serviceCredentialsPath!, 'utf8')) as { url: string; username: string; password: string; clientIdPrefix: string };
  const rest = openRestTarget({ baseUrl: stack.up.apiUrl, token: stack.token, deviceId, ca: stack.up.rootCaPem });
  const direct = await openMqttTarget({ url: service.url, deviceId, username: service.username, password: service.password, clientId: `${service.clientIdPrefix}bench-seed` });
  const load = { mode: 'closed' as const, concurrency: 1, count: 1000, command: 'set_gpio', params: { number: 18, value: 1 } };
  await runLoad([rest], { ...load, count: 300 }); // warm-up
  await runLoad([direct], { ...load, count: 300 });
  const client = await runLoad([rest], load);
  const server = await runLoad([direct], load);

  console.log('# path                                   original   iotcloud p50   ratio');
  console.log(`# client -> server -> broker -> device   ${SEED_CLIENT_MS} ms    ${client.latency.p50Ms.toFixed(2)} ms        ${Math.round(SEED_CLIENT_MS / client.latency.p50Ms)}x`);
  console.log(`# server -> broker -> device            ${SEED_SERVER_MS} ms    ${server.latency.p50Ms.toFixed(2)} ms        ${Math.round(SEED_SERVER_MS / server.latency.p50Ms)}x`);
  printMetric('seed_client_rtt_ms', SEED_CLIENT_MS, 'ms');
  printMetric('ours_client_rtt_p50_ms', client.latency.p50Ms, 'ms');
  printMetric('ours_client_rtt_p99_ms', client.latency.p99Ms, 'ms');
  printMetric('client_speedup', SEED_CLIENT_MS / client.latency.p50Ms, 'x');
  printMetric('seed_server_rtt_ms', SEED_SERVER_MS, 'ms');
  printMetric('ours_server_rtt_p50_ms', server.latency.p50Ms, 'ms');
  printMetric('ours_server_rtt_p99_ms', server.latency.p99Ms, 'ms');
  printMetric('server_speedup', SEED_SERVER_MS / server.latency.p50Ms, 'x');
  await rest.close();
  await direct.close();
} finally {
  await stack.close();
}
