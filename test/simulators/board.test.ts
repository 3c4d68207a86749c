import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeResponse, errorCodes, limits, type Transport } from '../../firmware-protocol/index.ts';
import { Board } from '../../simulators/board.ts';

const id = 'board-test-1';

/** Send one request to the board and decode its answer the way the server would. */
function ask(board: Board, command: string, body?: object | string, transport: Transport = 'mqtt') {
  const sep = transport === 'mqtt' ? '/' : '.';
  const payload = typeof body === 'string' ? body : JSON.stringify(body ?? {});
  const answer = board.handle(`${board.deviceId}${sep}${command}`, payload);
  if (!answer) throw new Error('no answer');
  const decoded = decodeResponse(answer.topic, answer.payload, { transport });
  if (!decoded.ok) throw new Error(`the board sent an invalid answer: ${decoded.error.message}`);
  return { answer, response: decoded.value };
}

function result(board: Board, command: string, body?: object) {
  const { response } = ask(board, command, body);
  if (!response.ok) throw new Error(`expected a result, got error ${JSON.stringify(response.error)}`);
  return response.result as Record<string, unknown>;
}

function errorOf(board: Board, command: string, body?: object | string) {
  const { response, answer } = ask(board, command, body);
  if (response.ok) throw new Error(`expected an error, got ${JSON.stringify(response.result)}`);
  return { ...response.error, cid: response.cid, topic: answer.topic };
}

describe('board: GPIO', () => {
  it('reads 0 from pins never set, and back what set_gpio set', () => {
    const board = new Board(id);
    expect(result(board, 'get_gpio', { cid: 'a1', number: 18 })).toEqual({ number: 18, value: 0 });
    expect(result(board, 'set_gpio', { cid: 'a2', number: 18, value: 1 })).toEqual({ number: 18, value: 1 });
    expect(result(board, 'get_gpio', { cid: 'a3', number: 18 })).toEqual({ number: 18, value: 1 });
    expect(result(board, 'get_gpio', { cid: 'a4', number: 17 })).toEqual({ number: 17, value: 0 });
    expect(result(board, 'set_gpio', { number: 18, value: 0 })).toEqual({ number: 18, value: 0 });
    expect(board.pin(18)).toBe(0);
  });

  it('keeps every pin 0..66 independently', () => {
    const board = new Board(id);
    for (let pin = limits.gpioMin; pin <= limits.gpioMax; pin++) result(board, 'set_gpio', { number: pin, value: pin % 3 === 0 ? 1 : 0 });
    for (let pin = limits.gpioMin; pin <= limits.gpioMax; pin++) {
      expect(result(board, 'get_gpio', { number: pin })).toEqual({ number: pin, value: pin % 3 === 0 ? 1 : 0 });
    }
  });

  it('answers INVALID_PARAMS naming the field for a pin or level out of range, echoing the cid', () => {
    const board = new Board(id);
    expect(errorOf(board, 'set_gpio', { cid: 'k3x9', number: 67, value: 1 })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/number', cid: 'k3x9' });
    expect(errorOf(board, 'get_gpio', { cid: 'k3xa', number: -1 })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/number', cid: 'k3xa' });
    expect(errorOf(board, 'set_gpio', { cid: 'k3xb', number: 3, value: 2 })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/value', cid: 'k3xb' });
    expect(errorOf(board, 'get_gpio', { cid: 'k3xc' })).toMatchObject({ code: errorCodes.INVALID_PARAMS, cid: 'k3xc' });
    expect(errorOf(board, 'get_gpio', { cid: 'k3xd', number: 1, extra: true })).toMatchObject({ code: errorCodes.INVALID_PARAMS, cid: 'k3xd' });
    expect(board.pin(3)).toBe(0);
  });
});

describe('board: RTC', () => {
  it('starts from the clock and keeps ticking from the value set', () => {
    let now = 1_700_000_000_250;
    const board = new Board(id, { clock: () => now });
    expect(result(board, 'get_rtc')).toEqual({ value: 1_700_000_000 });
    now += 2_000;
    expect(result(board, 'get_rtc')).toEqual({ value: 1_700_000_002 });

    expect(result(board, 'set_rtc', { cid: 'r1', value: 1_764_144_000 })).toEqual({ value: 1_764_144_000 });
    expect(result(board, 'get_rtc')).toEqual({ value: 1_764_144_000 });
    now += 999;
    expect(result(board, 'get_rtc')).toEqual({ value: 1_764_144_000 });
    now += 1;
    expect(result(board, 'get_rtc')).toEqual({ value: 1_764_144_001 });
    now += 3_600_000;
    expect(result(board, 'get_rtc')).toEqual({ value: 1_764_147_601 });
  });

  it('wraps like the unsigned 32-bit counter it is', () => {
    let now = 0;
    const board = new Board(id, { clock: () => now });
    result(board, 'set_rtc', { value: limits.rtcMax });
    now += 1_000;
    expect(result(board, 'get_rtc')).toEqual({ value: 0 });
  });

  it('refuses values outside 0..2^32-1', () => {
    const board = new Board(id);
    expect(errorOf(board, 'set_rtc', { cid: 'r2', value: limits.rtcMax + 1 })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/value', cid: 'r2' });
    expect(errorOf(board, 'set_rtc', { cid: 'r3', value: 1.5 })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/value' });
    expect(errorOf(board, 'set_rtc', { cid: 'r4', value: '1764144000' })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/value' });
  });
});

describe('board: network identity', () => {
  it('has a stable, locally administered, unicast MAC per device id', () => {
    const mac = result(new Board(id), 'get_mac').value as string;
    expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(result(new Board(id), 'get_mac').value).toBe(mac);
    expect(result(new Board('board-test-2'), 'get_mac').value).not.toBe(mac);
    const first = parseInt(mac.slice(0, 2), 16);
    expect(first & 0x02).toBe(0x02);
    expect(first & 0x01).toBe(0);
  });

  it('answers the configured IP, subnet and gateway, with per-device defaults', () => {
    const board = new Board(id, { network: { ip: '10.1.2.3', subnet: '255.255.0.0', gateway: '10.1.0.1' } });
    expect(result(board, 'get_ip')).toEqual({ value: '10.1.2.3' });
    expect(result(board, 'get_subnet')).toEqual({ value: '255.255.0.0' });
    expect(result(board, 'get_gateway')).toEqual({ value: '10.1.0.1' });

    const defaults = new Board(id);
    expect(result(defaults, 'get_ip').value).toMatch(/^192\.168\.1\.(\d+)$/);
    expect(result(defaults, 'get_ip')).toEqual(result(new Board(id), 'get_ip'));
    expect(result(defaults, 'get_subnet')).toEqual({ value: '255.255.255.0' });
    expect(result(defaults, 'get_gateway')).toEqual({ value: '192.168.1.1' });
  });

  it('refuses a configuration the protocol could not carry', () => {
    expect(() => new Board(id, { network: { ip: '300.1.1.1' } })).toThrow(/network\.ip/);
    expect(() => new Board(id, { mac: 'not-a-mac' })).toThrow(/mac/);
    expect(() => new Board('bad/id')).toThrow(/device id/);
  });
});

describe('board: UART', () => {
  it('keeps what was written, observable as text and as events', () => {
    const board = new Board(id);
    const seen: string[] = [];
    board.on('uart', (text) => seen.push(text));
    expect(result(board, 'write_uart', { cid: 'u1', data: 'hello ' })).toEqual({ data: 'hello ' });
    expect(result(board, 'write_uart', { data: 'ft900 ✓' })).toEqual({ data: 'ft900 ✓' });
    expect(board.uartOutput()).toBe('hello ft900 ✓');
    expect(seen).toEqual(['hello ', 'ft900 ✓']);
  });

  it('keeps only the most recent bytes', () => {
    const board = new Board(id, { uartCapacityBytes: 10 });
    result(board, 'write_uart', { data: 'abcdefgh' });
    result(board, 'write_uart', { data: 'ijklmnop' });
    expect(board.uartOutput()).toBe('ghijklmnop');
    expect(board.uartBytesWritten()).toBe(16);
  });

  it('refuses empty and oversized data', () => {
    const board = new Board(id);
    expect(errorOf(board, 'write_uart', { cid: 'u2', data: '' })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/data', cid: 'u2' });
    expect(errorOf(board, 'write_uart', { cid: 'u3', data: 'é'.repeat(200) })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/data', cid: 'u3' });
    expect(board.uartOutput()).toBe('');
  });
});

describe('board: status and reset', () => {
  it('answers running, then restarting on reset_device, and is busy until it reboots', () => {
    const board = new Board(id);
    expect(result(board, 'get_status', { cid: 's1' })).toEqual({ status: 'running' });
    const { answer, response } = ask(board, 'reset_device', { cid: 's2' });
    expect(response).toMatchObject({ ok: true, cid: 's2', result: { status: 'restarting' } });
    expect(answer.restart).toBe(true);
    expect(result(board, 'get_status')).toEqual({ status: 'restarting' });
    expect(errorOf(board, 'get_gpio', { cid: 's3', number: 1 })).toMatchObject({ code: errorCodes.DEVICE_BUSY, cid: 's3' });
    board.reboot();
    expect(result(board, 'get_status')).toEqual({ status: 'running' });
  });

  it('comes back from a reboot with power-on GPIO, UART and network state; the RTC keeps time', () => {
    let now = 5_000;
    const board = new Board(id, { clock: () => now });
    result(board, 'set_gpio', { number: 5, value: 1 });
    result(board, 'write_uart', { data: 'before reset' });
    result(board, 'set_rtc', { value: 1_000 });
    const ip = result(board, 'get_ip');
    ask(board, 'reset_device');
    board.reboot();
    now += 3_000;
    expect(result(board, 'get_gpio', { number: 5 })).toEqual({ number: 5, value: 0 });
    expect(board.uartOutput()).toBe('');
    expect(result(board, 'get_ip')).toEqual(ip);
    expect(result(board, 'get_rtc')).toEqual({ value: 1_003 });
  });
});

describe('board: bad input', () => {
  it('answers UNKNOWN_COMMAND on that command topic, echoing the cid', () => {
    const board = new Board(id);
    expect(errorOf(board, 'self_destruct', { cid: 'x1' })).toMatchObject({ code: errorCodes.UNKNOWN_COMMAND, cid: 'x1', topic: `server/${id}/self_destruct` });
  });

  it('answers MALFORMED to bad JSON and non-objects, without a cid it cannot read', () => {
    const board = new Board(id);
    expect(errorOf(board, 'get_gpio', '{"cid":"m1","number":')).toMatchObject({ code: errorCodes.MALFORMED, cid: undefined });
    expect(errorOf(board, 'get_gpio', '[1,2]')).toMatchObject({ code: errorCodes.MALFORMED });
    expect(errorOf(board, 'get_gpio', '42')).toMatchObject({ code: errorCodes.MALFORMED });
    const invalidUtf8 = board.handle(`${id}/get_status`, Buffer.from([0x7b, 0xff, 0x7d]));
    expect(JSON.parse(invalidUtf8!.payload.toString()).error.code).toBe(errorCodes.MALFORMED);
  });

  it('answers PAYLOAD_TOO_LARGE without reading the payload', () => {
    const board = new Board(id);
    const big = JSON.stringify({ cid: 'p1', data: 'x'.repeat(limits.maxPayloadBytes) });
    expect(errorOf(board, 'write_uart', big)).toMatchObject({ code: errorCodes.PAYLOAD_TOO_LARGE, cid: undefined });
  });

  it('refuses an invalid cid without echoing it', () => {
    const board = new Board(id);
    expect(errorOf(board, 'get_status', { cid: 'no spaces allowed' })).toMatchObject({ code: errorCodes.INVALID_PARAMS, field: '/cid', cid: undefined });
  });

  it('reads an empty payload as no parameters, and answers without a cid when none was sent', () => {
    const board = new Board(id);
    const { answer, response } = ask(board, 'get_status', '');
    expect(response).toMatchObject({ ok: true, result: { status: 'running' } });
    expect(JSON.parse(answer.payload.toString())).toEqual({ status: 'running' });
  });

  it('answers INVALID_TOPIC on the last topic level for extra levels, echoing a readable cid', () => {
    const board = new Board(id);
    const answer = board.handle(`${id}/gpio/get_gpio`, JSON.stringify({ cid: 't1', number: 1 }))!;
    expect(answer.topic).toBe(`server/${id}/get_gpio`);
    expect(JSON.parse(answer.payload.toString())).toMatchObject({ cid: 't1', error: { code: errorCodes.INVALID_TOPIC } });
  });

  it('ignores, and counts, requests for another device or with nothing to answer on', () => {
    const board = new Board(id);
    expect(board.handle('someone-else/get_status', '{}')).toBeUndefined();
    expect(board.handle(`${id}`, '{}')).toBeUndefined();
    expect(board.handle(`${id}/`, '{}')).toBeUndefined();
    expect(board.counters).toMatchObject({ requests: 3, ignored: 1, unanswerable: 2, answered: 0 });
  });

  it('speaks AMQP routing keys when reached over AMQP', () => {
    const board = new Board(id, { topicStyle: 'amqp' });
    const { answer, response } = ask(board, 'set_gpio', { cid: 'q1', number: 7, value: 1 }, 'amqp');
    expect(answer.topic).toBe(`server.${id}.set_gpio`);
    expect(response).toMatchObject({ ok: true, cid: 'q1', result: { number: 7, value: 1 } });
    expect(board.handle(`${id}/get_status`, '{}')).toBeUndefined(); // an MQTT topic is another "device" here
  });

  it('never throws, and every answer it gives is a valid protocol answer (property)', () => {
    const board = new Board(id);
    const topicArb = fc.oneof(
      fc.constantFrom('get_gpio', 'set_gpio', 'get_rtc', 'set_rtc', 'get_mac', 'get_status', 'reset_device', 'write_uart', 'nope').map((c) => `${id}/${c}`),
      fc.string().map((s) => `${id}/${s}`),
      fc.string(),
    );
    const payloadArb = fc.oneof(
      fc.json().map((j) => Buffer.from(j)),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc.record({ cid: fc.string(), number: fc.integer(), value: fc.integer(), data: fc.string() }, { requiredKeys: [] }).map((r) => Buffer.from(JSON.stringify(r))),
    );
    fc.assert(
      fc.property(topicArb, payloadArb, (topic, payload) => {
        const answer = board.handle(topic, payload);
        if (answer) expect(decodeResponse(answer.topic, answer.payload).ok).toBe(true);
        if (board.status === 'restarting') board.reboot();
      }),
      { numRuns: 2_000 },
    );
  });
});
