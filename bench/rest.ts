/**
 * REST command round trip: client -> HTTPS -> server -> MQTTS -> simulated device -> back, with
 * the server in its own process as `iotcloud up` runs it.
 */
import { openRestTarget } from '../harness/targets/index.ts';
import { runLoad } from '../harness/load/run-load.ts';
import { printMetric } from './report.ts';
import { startBenchStack } from './stack.ts';

const stack = await startBenchStack();
try {
  const [started] = await stack.registerDevices(1);
  const target = openRestTarget({ baseUrl: stack.up.apiUrl, token: stack.token, deviceId: started!.registration.deviceId, ca: stack.up.rootCaPem, maxSockets: 64 });
  await runLoad([target], { mode: 'closed', concurrency: 4, count: 2000, command: 'get_gpio', params: { number: 1 } }); // warm-up

  const sequential = await runLoad([target], { mode: 'closed', concurrency: 1, count: 3000, command: 'get_gpio', params: { number: 1 } });
  printMetric('rest_rtt_p50_ms', sequential.latency.p50Ms, 'ms');
  printMetric('rest_rtt_p99_ms', sequential.latency.p99Ms, 'ms');
  printMetric('rest_rtt_max_ms', sequential.latency.maxMs, 'ms');

  const loaded = await runLoad([target], { mode: 'closed', concurrency: 32, durationMs: 5000, command: 'set_gpio', params: { number: 2, value: 1 } });
  printMetric('rest_cmds_per_s', loaded.throughputPerSec, 'cmd/s');
  printMetric('rest_loaded_p50_ms', loaded.latency.p50Ms, 'ms');
  printMetric('rest_loaded_p99_ms', loaded.latency.p99Ms, 'ms');
  printMetric('rest_errors', loaded.deviceErrors + loaded.timeouts + loaded.unavailable + loaded.invalidAnswers, 'count');
  printMetric('seed_client_rtt_ms', 2010, 'ms');
  printMetric('speedup_vs_seed_client', 2010 / sequential.latency.p50Ms, 'x');
  await target.close();
} finally {
  await stack.close();
}
