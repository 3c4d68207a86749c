/** One `iotcloud` invocation as a user types it, for tests that check what it printed and its exit code. */
import { execFile } from 'node:child_process';
import { IOTCLOUD_BIN } from './up-process.ts';

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real entry point in a child process; a non-zero exit is an outcome, not a throw. */
export function runIotcloud(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliOutcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [IOTCLOUD_BIN, ...args], { env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
