/**
 * Pino's JSON lines as short lines for people: `14:02:31.204 INFO  device connected deviceId=d1
 * transport=mqtt`. A plain destination (an object with `write`), run in the same thread as the
 * logger: no worker transport, no dependency. Errors show their message, not their stack.
 */

/** Fields every line has, shown in their own places or not at all. */
const FRAME = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

const LEVELS: Record<number, { label: string; colour: string }> = {
  10: { label: 'TRACE', colour: '90' },
  20: { label: 'DEBUG', colour: '36' },
  30: { label: 'INFO ', colour: '32' },
  40: { label: 'WARN ', colour: '33' },
  50: { label: 'ERROR', colour: '31' },
  60: { label: 'FATAL', colour: '35' },
};

export interface PrettyDestination {
  write(line: string): void;
}

export function prettyDestination(out: { write(text: string): unknown }, colour: boolean): PrettyDestination {
  return {
    write(line) {
      out.write(`${prettyLine(line, colour)}\n`);
    },
  };
}

/** One pino JSON line (with or without its newline) as one human line. */
export function prettyLine(json: string, colour = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd(); // not ours to judge: pass it through
  }
  const paint = (code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[entry.level as number] ?? { label: String(entry.level).padEnd(5), colour: '0' };
  const parts = [paint('2', clock(entry.time)), paint(level.colour, level.label)];
  if (typeof entry.msg === 'string' && entry.msg !== '') parts.push(entry.msg);
  for (const [key, value] of Object.entries(entry)) {
    if (FRAME.has(key) || value === undefined) continue;
    parts.push(`${paint('2', `${key}=`)}${fieldText(value)}`);
  }
  return parts.join(' ');
}

/** Local wall-clock time to the millisecond: the date is in the JSON form when it matters. */
function clock(time: unknown): string {
  const at = typeof time === 'number' ? new Date(time) : new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
}

function fieldText(value: unknown): string {
  if (isSerializedError(value)) return quoted(value.message);
  if (typeof value === 'string') return quoted(value);
  return JSON.stringify(value);
}

/** Bare when it reads unambiguously as one token, else JSON-quoted (spaces, quotes, `=`, empty). */
function quoted(text: string): string {
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** Pino's `err` serializer output: `{ type, message, stack, ... }`. */
function isSerializedError(value: unknown): value is { message: string } {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && typeof (value as { stack?: unknown }).stack === 'string';
}
