/** The human form of pino's JSON lines (cli/pretty-log.ts), from a real pino logger. */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { prettyDestination } from '../../cli/pretty-log.ts';

function logged(colour: boolean, write: (log: pino.Logger) => void): string[] {
  const lines: string[] = [];
  const log = pino({ level: 'trace', name: 'iotcloud-sim' }, prettyDestination({ write: (text: string) => lines.push(text) }, colour));
  write(log.child({ deviceId: 'd1' }));
  return lines;
}

describe('pretty log lines', () => {
  it('time, level, message, then each field once as key=value; errors by their message, no stack', () => {
    const [line] = logged(false, (log) => log.warn({ reason: 'connect ECONNREFUSED 127.0.0.1:1', retryInMs: 480, err: new Error('boom here'), empty: '', n: null, list: [1, 2] }, 'connection attempt failed'));
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}connection attempt failed deviceId=d1 reason="connect ECONNREFUSED 127\.0\.0\.1:1" retryInMs=480 err="boom here" empty="" n=null list=\[1,2\]\n$/);
    expect(line).not.toContain('stack');
  });

  it('colour on the level and the keys only when asked', () => {
    const [plain] = logged(false, (log) => log.error({ topic: 'd1/get_gpio' }, 'answer not sent'));
    expect(plain).not.toContain('\x1b[');
    const [coloured] = logged(true, (log) => log.error({ topic: 'd1/get_gpio' }, 'answer not sent'));
    expect(coloured).toContain('\x1b[31mERROR\x1b[0m answer not sent \x1b[2mdeviceId=\x1b[0md1 \x1b[2mtopic=\x1b[0md1/get_gpio');
  });
});
