import { describe, expect, it } from 'vitest';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, limits, type ErrorName } from '../../firmware-protocol/index.ts';

function rejected(result: { ok: boolean; error?: { name: ErrorName; field?: string } }): { name: ErrorName; field?: string } {
  expect(result.ok).toBe(false);
  return result.error!;
}

describe('decodeRequest rejects hostile and malformed input with a precise error', () => {
  it.each([
    ['not JSON', '{number:1}', 'MALFORMED'],
    ['truncated JSON', '{"number":1', 'MALFORMED'],
    ['an array', '[1,2]', 'MALFORMED'],
    ['a bare number', '42', 'MALFORMED'],
    ['null', 'null', 'MALFORMED'],
    ['a string', '"x"', 'MALFORMED'],
  ] as const)('%s -> %s', (_what, payload, name) => {
    expect(rejected(decodeRequest('dev1/get_gpio', payload)).name).toBe(name);
  });

  it('invalid UTF-8 is MALFORMED', () => {
    expect(rejected(decodeRequest('dev1/get_gpio', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).name).toBe('MALFORMED');
  });

  it.each([
    ['string pin', 'set_gpio', { number: '3', value: 1 }, '/number'],
    ['fractional pin', 'get_gpio', { number: 1.5 }, '/number'],
    ['pin above range', 'get_gpio', { number: limits.gpioMax + 1 }, '/number'],
    ['negative pin', 'get_gpio', { number: -1 }, '/number'],
    ['level 2', 'set_gpio', { number: 3, value: 2 }, '/value'],
    ['boolean level', 'set_gpio', { number: 3, value: true }, '/value'],
    ['missing level', 'set_gpio', { number: 3 }, '/value'],
    ['extra field', 'get_gpio', { number: 3, mode: 'pullup' }, '/mode'],
    ['RTC beyond 32 bits', 'set_rtc', { value: limits.rtcMax + 1 }, '/value'],
    ['RTC as text', 'set_rtc', { value: '2026-11-26T00:00:00Z' }, '/value'],
    ['empty UART data', 'write_uart', { data: '' }, '/data'],
    ['UART data over the byte limit', 'write_uart', { data: 'é'.repeat(limits.uartMaxBytes / 2 + 1) }, '/data'],
    ['cid with a slash', 'get_rtc', { cid: 'a/b' }, '/cid'],
    ['numeric cid', 'get_rtc', { cid: 7 }, '/cid'],
    ['__proto__ key', 'get_rtc', JSON.parse('{"__proto__":{"polluted":1}}'), '/__proto__'],
  ] as const)('%s -> INVALID_PARAMS at %s', (_what, command, params, field) => {
    const error = rejected(decodeRequest(`dev1/${command}`, JSON.stringify(params)));
    expect(error.name).toBe('INVALID_PARAMS');
    expect(error.field).toBe(field);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('unknown command is UNKNOWN_COMMAND and keeps the cid so the device can still answer', () => {
    const result = decodeRequest('dev1/format_flash', '{"cid":"c1"}');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.name).toBe('UNKNOWN_COMMAND');
    expect(result.error.context).toEqual({ deviceId: 'dev1', command: 'format_flash', cid: 'c1' });
  });

  it.each([
    ['+ wildcard', '+/get_rtc'],
    ['# wildcard', '#/get_rtc'],
    ['extra level', 'a/b/get_rtc'],
    ['AMQP dot inside an MQTT id', 'a.b/get_rtc'],
    ['empty id', '/get_rtc'],
    ['over-long id', `${'a'.repeat(limits.maxDeviceIdLength + 1)}/get_rtc`],
    ['no command level', 'dev1'],
    ['NUL in id', 'de\u0000v/get_rtc'],
  ])('topic with %s is INVALID_TOPIC', (_what, topic) => {
    expect(rejected(decodeRequest(topic, '{}')).name).toBe('INVALID_TOPIC');
  });

  it.each(['+', '#', 'a/b', 'a.b', '', 'x'.repeat(65), 'sp ace', '-leading'])('encodeRequest refuses device id %j', (deviceId) => {
    expect(rejected(encodeRequest(deviceId, 'get_rtc', {})).name).toBe('INVALID_TOPIC');
  });

  it('encodeRequest refuses invalid params instead of sending them', () => {
    expect(rejected(encodeRequest('dev1', 'get_gpio', { number: 999 })).field).toBe('/number');
  });
});

describe('hostile sizes are refused quickly and never throw', () => {
  const timed = <T>(fn: () => T): { value: T; ms: number } => {
    const start = performance.now();
    const value = fn();
    return { value, ms: performance.now() - start };
  };

  it('10 MB payload: PAYLOAD_TOO_LARGE without reading it', () => {
    const huge = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const { value, ms } = timed(() => decodeRequest('dev1/write_uart', huge));
    expect(rejected(value).name).toBe('PAYLOAD_TOO_LARGE');
    console.log(`10 MB payload refused in ${ms.toFixed(3)} ms (bench:codec measures this properly)`);
  });

  it('1 MB of random garbage, on both directions', () => {
    const garbage = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 2654435761) & 0xff));
    expect(rejected(decodeRequest('dev1/get_gpio', garbage)).name).toBe('PAYLOAD_TOO_LARGE');
    expect(rejected(decodeResponse('server/dev1/get_gpio', garbage)).name).toBe('PAYLOAD_TOO_LARGE');
  });

  it('garbage within the size limit: MALFORMED, for many random inputs', () => {
    let seed = 1;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: (i % 200) + 1 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff));
      const result = decodeRequest('dev1/get_gpio', bytes);
      expect(result.ok).toBe(false);
    }
  });

  it('deeply nested JSON (within the size limit and far beyond it)', () => {
    const depth = 2000;
    const nested = `{"number":1,"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(Buffer.byteLength(nested)).toBeLessThanOrEqual(limits.maxPayloadBytes);
    expect(rejected(decodeRequest('dev1/get_gpio', nested))).toMatchObject({ name: 'INVALID_PARAMS', field: '/a' });
    expect(rejected(decodeRequest('dev1/get_gpio', nested.slice(0, -1))).name).toBe('MALFORMED');
    const deeper = '['.repeat(500_000) + ']'.repeat(500_000);
    expect(rejected(decodeResponse('server/dev1/get_gpio', deeper)).name).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a device can always answer, even a request naming a huge field', () => {
    const key = 'k'.repeat(3000);
    const request = decodeRequest('dev1/get_rtc', JSON.stringify({ cid: 'c1', [key]: 1 }));
    expect(request.ok).toBe(false);
    if (request.ok) return;
    const answer = encodeResponse('dev1', 'get_rtc', { error: request.error }, { cid: 'c1' });
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    const decoded = decodeResponse(answer.value.topic, answer.value.payload);
    expect(decoded.ok && !decoded.value.ok && decoded.value.error).toMatchObject({ code: 2, name: 'INVALID_PARAMS' });
    expect(decoded.ok && !decoded.value.ok && decoded.value.error.field).toBeUndefined();
  });

  it('an answer with a malformed error body is INVALID_PARAMS at /error/...', () => {
    const error = rejected(decodeResponse('server/dev1/get_gpio', '{"error":{"code":"bad","message":"x"}}'));
    expect(error.name).toBe('INVALID_PARAMS');
    expect(error.field).toBe('/error/code');
  });
});
