/** Running the RabbitMQ command-line tools against one project-owned node. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { brokerEnv, rabbitmqBin, type BrokerLayout } from './layout.ts';

export interface NodeAddress {
  layout: BrokerLayout;
  nodeName: string;
  distPort: number;
}

export class CtlError extends Error {
  override readonly name = 'CtlError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * `rabbitmqctl -n NODE <args>` (or another tool in the same folder). Resolves with stdout;
 * rejects with a CtlError carrying the tool's output. Each call boots an Erlang VM: about a second.
 */
export function ctl(node: NodeAddress, args: string[], options: { tool?: string; timeoutMs?: number } = {}): Promise<string> {
  const tool = join(rabbitmqBin, options.tool ?? 'rabbitmqctl');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      ['-n', node.nodeName, ...args],
      { env: brokerEnv(node.layout, node.nodeName, node.distPort), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, cwd: node.layout.stateDir },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const output = `${stdout}${stderr}`.trim();
        const code = typeof error.code === 'number' ? error.code : null;
        const why = error.killed ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? error.code}`;
        reject(new CtlError(`${options.tool ?? 'rabbitmqctl'} ${args[0] ?? ''} ${why}: ${lastLines(output, 6)}`, code, output));
      },
    );
  });
}

export function lastLines(text: string, count: number): string {
  return text.split('\n').filter((line) => line.trim() !== '').slice(-count).join('\n');
}
