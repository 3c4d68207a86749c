/**
 * A command's latency while password hashing is flooded (finding 4 of issue 15): one client sends
 * get_gpio to a simulated device one at a time, first alone, then during waves of 100 parallel
 * sign-ups (10 from each of 10 addresses, under the per-address limit, so each one reaches the
 * hashing queue), then during waves of 200 wrong-password logins (50 from each of 4 addresses,
 * the per-address budget). Target: command p99 < 50 ms during either flood. The flood runs in a
 * child process: its hundreds of client TLS handshakes would otherwise stall the measuring client.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { openRestTarget } from '../harness/targets/index.ts';
import { runLoad } from '../harness/load/run-load.ts';
import { printMetric } from './report.ts';
import { startBenchStack } from './stack.ts';

const MEASURE_MS = Number(process.env.BENCH_AUTH_FLOOD_MS ?? 8000);

const FLOOD_ROLE = 'IOTCLOUD_AUTH_FLOOD_ROLE';
let nextAddress = 0;
let nextUser = 0;
const statuses = new Map<number, number>();

function post(path: string, body: unknown, agent: https.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = https.request(new URL(path, process.env.FLOOD_API_URL), { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(JSON.stringify(body));
  });
}

/** Waves of `perAddress` requests from each of `addresses` fresh loopback addresses, until stopped. */
async function flood(kind: 'signup' | 'login', addresses: number, perAddress: number, stop: { stopped: boolean }): Promise<void> {
  while (!stop.stopped) {
    const wave: Promise<number>[] = [];
    for (let a = 0; a < addresses; a++) {
      const n = nextAddress++;
      const localAddress = `127.1.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
      const agent = new https.Agent({ keepAlive: true, maxSockets: perAddress, localAddress, ca: process.env.FLOOD_CA });
      for (let i = 0; i < perAddress; i++) {
        const username = `flood${nextUser++}`;
        wave.push(post(`/api/v1/auth/${kind}`, { username, password: 'a flood password' }, agent));
      }
      void Promise.allSettled(wave).then(() => agent.destroy());
    }
    for (const status of await Promise.all(wave)) statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
}

if (process.env[FLOOD_ROLE]) {
  // The flooder: floods until told to stop, then reports the answers' statuses.
  const [kind, addresses, perAddress] = process.env[FLOOD_ROLE].split(',') as ['signup' | 'login', string, string];
  const stop = { stopped: false };
  process.on('message', () => (stop.stopped = true));
  process.send!('started');
  await flood(kind, Number(addresses), Number(perAddress), stop);
  process.send!(Object.fromEntries(statuses));
  process.disconnect();
} else {
  await main();
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  try {
    const [started] = await stack.registerDevices(1);
    const target = openRestTarget({ baseUrl: stack.up.apiUrl, token: stack.token, deviceId: started!.registration.deviceId, ca: stack.up.rootCaPem, maxSockets: 4 });
    const measure = () => runLoad([target], { mode: 'closed', concurrency: 1, durationMs: MEASURE_MS, command: 'get_gpio', params: { number: 1 } });
    await runLoad([target], { mode: 'closed', concurrency: 1, count: 500, command: 'get_gpio', params: { number: 1 } }); // warm-up

    const idle = await measure();
    printMetric('auth_flood_idle_cmd_p50_ms', idle.latency.p50Ms, 'ms');
    printMetric('auth_flood_idle_cmd_p99_ms', idle.latency.p99Ms, 'ms');

    for (const [kind, addresses, perAddress] of [['signup', 10, 10], ['login', 4, 50]] as const) {
      const child = fork(fileURLToPath(import.meta.url), {
        env: { ...process.env, [FLOOD_ROLE]: `${kind},${addresses},${perAddress}`, FLOOD_API_URL: stack.up.apiUrl, FLOOD_CA: stack.up.rootCaPem },
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      await once(child, 'message'); // started
      const during = await measure();
      const report = once(child, 'message');
      child.send('stop');
      const [counts] = (await report) as [Record<string, number>];
      statuses.clear();
      for (const [status, count] of Object.entries(counts)) statuses.set(Number(status), count);
      printMetric(`auth_flood_${kind}_cmd_p50_ms`, during.latency.p50Ms, 'ms');
      printMetric(`auth_flood_${kind}_cmd_p99_ms`, during.latency.p99Ms, 'ms');
      printMetric(`auth_flood_${kind}_cmd_errors`, during.deviceErrors + during.timeouts + during.unavailable + during.invalidAnswers, 'count');
      const answered = [...statuses.values()].reduce((sum, count) => sum + count, 0);
      printMetric(`auth_flood_${kind}_requests`, answered, 'count');
      // Hashed = answered 201 (sign-up) or 401 (login); refused unhashed = 503 (queue full) or 429.
      printMetric(`auth_flood_${kind}_hashed`, (statuses.get(kind === 'signup' ? 201 : 401) ?? 0), 'count');
      printMetric(`auth_flood_${kind}_busy_503`, statuses.get(503) ?? 0, 'count');
      printMetric(`auth_flood_${kind}_limited_429`, statuses.get(429) ?? 0, 'count');
    }
    await target.close();
  } finally {
    await stack.close();
  }
}
