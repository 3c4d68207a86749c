/**
 * How the long-running commands (up, demo, sim, bridge) log: pino everywhere, written as JSON
 * lines for machines (piped, CI, files) or as short human lines on a terminal. The flags are
 * defined here once; every such command spreads `logOptions(...)` into its options.
 */
import type { Options } from 'yargs';
import type { Logger } from 'pino';
import { prettyDestination } from './pretty-log.ts';

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];
export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

export interface LogArgs {
  'log-level': LogLevel;
  'log-format'?: LogFormat;
}

/** The `--log-level` and `--log-format` flags, with this command's default level. */
export function logOptions(defaultLevel: LogLevel, levelHelp = 'least severe log lines shown') {
  return {
    'log-level': { choices: logLevels, default: defaultLevel, describe: levelHelp },
    'log-format': { choices: logFormats, describe: 'log lines as JSON or for people (default: pretty on a terminal, else JSON)' },
  } as const satisfies Record<string, Options>;
}

/** A logger writing to stdout in the chosen format (by default: pretty only on a terminal). Pino
 * loads here, when a command runs: the others start without it (cli/main.ts). */
export async function cliLogger(args: LogArgs, name?: string, out: NodeJS.WriteStream & { fd: number } = process.stdout): Promise<Logger> {
  const { default: pino } = await import('pino');
  const format = args['log-format'] ?? (out.isTTY ? 'pretty' : 'json');
  const options = { level: args['log-level'], ...(name ? { name } : {}) };
  if (format === 'json') return pino(options, pino.destination({ fd: out.fd, sync: true }));
  return pino(options, prettyDestination(out, useColour(out)));
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
function useColour(out: NodeJS.WriteStream): boolean {
  return Boolean(out.isTTY) && !process.env.NO_COLOR;
}
