/**
 * How long the `iotcloud` command takes, start to exit, as scripts calling it in loops see it.
 * Median wall time of CLI_RUNS runs (default 15; through tsx CLI_TSX_RUNS, default 5):
 *
 *   node_start_ms        `node -e 0`: the floor on this machine, right now
 *   cli_version_ms       `iotcloud --version` from the compiled build (target < 200)
 *   cli_help_ms          `iotcloud --help`
 *   cli_cmd_ms           `iotcloud cmd <device> get_gpio '{"number":1}'` against `iotcloud up` (its own
 *                        process) and a simulated device, the round trip included (target < 300)
 *   cli_*_tsx_ms         the same from the sources through tsx (IOTCLOUD_CLI_BUILD=off), as before the build
 *   cli_*_speedup        tsx time / build time
 *   cli_build_check_ms   bin/cli-build.js deciding that the build is fresh (in process, median of 50)
 *
 * `npm run bench:cli` builds first (build:cli). Exits 1 when a target is missed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkBuild } from '../bin/cli-build.js';
import { IOTCLOUD_BIN } from '../testkit/up-process.ts';
import { printMetric } from './report.ts';
import { startBenchStack } from './stack.ts';

const RUNS = Number(process.env.CLI_RUNS ?? 15);
const TSX_RUNS = Number(process.env.CLI_TSX_RUNS ?? 5);
const TARGETS_MS = { version: 200, cmd: 300 };
const run = promisify(execFile);

const build = checkBuild();
if (!build.fresh) {
  console.error(`bench:cli: the compiled build would not run (${build.reason}): run \`npm run build:cli\` first`);
  process.exit(1);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Median wall time of `node <args>`, checking every run's output. */
async function wallMs(args: string[], env: NodeJS.ProcessEnv, runs: number, expected: RegExp): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const { stdout } = await run(process.execPath, args, { env });
    times.push(performance.now() - start);
    if (!expected.test(stdout)) throw new Error(`node ${args.join(' ')} printed ${JSON.stringify(stdout)}, expected ${expected}`);
  }
  return median(times);
}

const checks: number[] = [];
for (let i = 0; i < 50; i++) {
  const start = performance.now();
  checkBuild();
  checks.push(performance.now() - start);
}

const home = await mkdtemp(join(tmpdir(), 'iotcloud-bench-cli-'));
const stack = await startBenchStack();
let exitCode = 0;
try {
  const [started] = await stack.registerDevices(1);
  const deviceId = started!.registration.deviceId;
  // The client commands' own settings, so nothing saved in ~/.iotcloud counts.
  const env = { ...process.env, IOTCLOUD_HOME: home, IOTCLOUD_SERVER: stack.up.apiUrl, IOTCLOUD_CA: stack.up.caCertPath, IOTCLOUD_TOKEN: stack.token };
  const tsxEnv = { ...env, IOTCLOUD_CLI_BUILD: 'off' };
  const commands = {
    version: { args: ['--version'], expected: /^\d+\.\d+\.\d+/ },
    help: { args: ['--help'], expected: /iotcloud <command>/ },
    cmd: { args: ['cmd', deviceId, 'get_gpio', '{"number":1}'], expected: /^get_gpio -> / },
  };

  printMetric('node_start_ms', await wallMs(['-e', '0'], env, RUNS, /^$/), 'ms');
  for (const [name, { args, expected }] of Object.entries(commands)) {
    const compiled = await wallMs([IOTCLOUD_BIN, ...args], env, RUNS, expected);
    const tsx = await wallMs([IOTCLOUD_BIN, ...args], tsxEnv, TSX_RUNS, expected);
    printMetric(`cli_${name}_ms`, compiled, 'ms');
    printMetric(`cli_${name}_tsx_ms`, tsx, 'ms');
    printMetric(`cli_${name}_speedup`, tsx / compiled, 'x');
    const target = TARGETS_MS[name as keyof typeof TARGETS_MS];
    if (target !== undefined && compiled >= target) {
      console.error(`bench:cli: iotcloud ${args[0]} took ${Math.round(compiled)} ms, the target is under ${target} ms`);
      exitCode = 1;
    }
  }
  printMetric('cli_build_check_ms', median(checks), 'ms');
} finally {
  await stack.close();
  await rm(home, { recursive: true, force: true });
}
process.exit(exitCode);
