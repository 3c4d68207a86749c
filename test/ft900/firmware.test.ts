/**
 * The FT900 reference firmware core (ft900/firmware/):
 *  - its C unit tests and fuzz/property test (plain and under ASan+UBSan) pass;
 *  - `ft900-host`, the core on a simulated board, speaks the serial framing of
 *    ft900/firmware/FRAMING.md over a real pty pair made by socat, and answers like the reference
 *    codec in firmware-protocol/.
 * The frame encoder/decoder below is the minimum the test needs; the real bridge lives in
 * ft900/bridge/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import fc from 'fast-check';
import { commandNames, decodeRequest } from '../../firmware-protocol/index.ts';

const firmwareDir = fileURLToPath(new URL('../../ft900/firmware/', import.meta.url));
const hostBinary = `${firmwareDir}build/ft900-host`;

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Minimal framing (FRAMING.md): 0x7E stuff(type, length BE16, payload, CRC-16/CCITT-FALSE BE16) 0x7E

const FLAG = 0x7e;
const ESC = 0x7d;
const Type = { REQUEST: 0x01, RESPONSE: 0x02, PING: 0x03, PONG: 0x04, HELLO: 0x05, LOG: 0x06 } as const;

function crc16(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function encodeFrame(type: number, payload: Buffer): Buffer {
  const body = Buffer.alloc(3 + payload.length + 2);
  body[0] = type;
  body.writeUInt16BE(payload.length, 1);
  payload.copy(body, 3);
  body.writeUInt16BE(crc16(body.subarray(0, 3 + payload.length)), 3 + payload.length);
  const out = [FLAG];
  for (const byte of body) {
    if (byte === FLAG || byte === ESC) out.push(ESC, byte ^ 0x20);
    else out.push(byte);
  }
  out.push(FLAG);
  return Buffer.from(out);
}

interface Frame {
  type: number;
  payload: Buffer;
}

/** Byte-at-a-time decoder: every flag ends the bytes before it and opens the next frame. */
class FrameDecoder {
  private body: number[] = [];
  private hunting = true;
  private escaped = false;
  errors = 0;

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    for (const byte of chunk) {
      if (byte === FLAG) {
        if (!this.hunting && this.body.length > 0) {
          const frame = this.finish(Buffer.from(this.body));
          if (frame) frames.push(frame);
          else this.errors++;
        }
        this.hunting = false;
        this.escaped = false;
        this.body = [];
      } else if (this.hunting) {
        continue;
      } else if (byte === ESC) {
        this.escaped = true;
      } else {
        this.body.push(this.escaped ? byte ^ 0x20 : byte);
        this.escaped = false;
      }
    }
    return frames;
  }

  private finish(body: Buffer): Frame | undefined {
    if (body.length < 5) return undefined;
    const length = body.readUInt16BE(1);
    if (length !== body.length - 5 || crc16(body.subarray(0, body.length - 2)) !== body.readUInt16BE(body.length - 2)) return undefined;
    return { type: body[0]!, payload: body.subarray(3, 3 + length) };
  }
}

/** Topic and JSON of a REQUEST/RESPONSE payload. */
function splitMessage(payload: Buffer): { topic: string; json: string } {
  const newline = payload.indexOf(0x0a);
  return { topic: payload.subarray(0, newline).toString(), json: payload.subarray(newline + 1).toString() };
}

// ---------------------------------------------------------------------------------------------
// A board on a serial line: socat pty pair, ft900-host on one end, this test on the other.

class SerialBoard {
  private frames: Frame[] = [];
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  private decoder = new FrameDecoder();
  socat?: ChildProcess;
  host?: ChildProcess;
  port?: SerialPortStream;
  hostLog = '';

  async start(deviceId: string): Promise<void> {
    const [boardEnd, testEnd] = await this.startSocat();
    this.port = new SerialPortStream({ binding: autoDetect(), path: testEnd, baudRate: 115200 });
    await once(this.port, 'open');
    this.port.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) this.deliver(frame);
    });
    const hello = this.next((f) => f.type === Type.HELLO);
    this.host = spawn(hostBinary, ['--serial', boardEnd, '--device', deviceId], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.host.stderr!.on('data', (chunk: Buffer) => (this.hostLog += chunk.toString()));
    // If the board dies, fail whatever is waiting at once, with its log, instead of timing out.
    this.host.on('exit', (code, signal) => {
      const error = new Error(`ft900-host exited (${code ?? signal}):\n${this.hostLog}`);
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    });
    expect((await hello).payload.toString()).toBe(deviceId);
  }

  /** socat prints "PTY is /dev/pts/N" for each end, then "starting data transfer loop". */
  private startSocat(): Promise<[string, string]> {
    return new Promise((resolve, reject) => {
      const socat = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.socat = socat;
      const paths: string[] = [];
      let text = '';
      socat.on('error', reject);
      socat.on('exit', (code) => reject(new Error(`socat exited (${code}): ${text}`)));
      socat.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        paths.splice(0, paths.length, ...[...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!));
        if (paths.length >= 2 && text.includes('starting data transfer loop')) resolve([paths[0]!, paths[1]!]);
      });
    });
  }

  private deliver(frame: Frame): void {
    const index = this.waiters.findIndex((w) => w.match(frame));
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(frame);
    else this.frames.push(frame);
  }

  /** The next frame (already received or still to come) that matches. */
  next(match: (f: Frame) => boolean): Promise<Frame> {
    const index = this.frames.findIndex(match);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  write(bytes: Buffer): void {
    this.port!.write(bytes);
  }

  /** Send one REQUEST and wait for the RESPONSE (the board answers in order, exactly once). */
  async request(topic: string, json: string | Buffer, prefix: Buffer = Buffer.alloc(0)): Promise<{ topic: string; body: Record<string, unknown> }> {
    const response = this.next((f) => f.type === Type.RESPONSE);
    this.write(Buffer.concat([prefix, encodeFrame(Type.REQUEST, Buffer.concat([Buffer.from(`${topic}\n`), Buffer.from(json)]))]));
    const { topic: answerTopic, json: answerJson } = splitMessage((await response).payload);
    return { topic: answerTopic, body: JSON.parse(answerJson) as Record<string, unknown> };
  }

  unclaimed(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  async stop(): Promise<void> {
    if (this.host && this.host.exitCode === null && this.host.signalCode === null) {
      this.host.kill('SIGTERM');
      await once(this.host, 'exit');
    }
    if (this.port?.isOpen) await new Promise<void>((resolve) => this.port!.close(() => resolve()));
    if (this.socat && this.socat.exitCode === null && this.socat.signalCode === null) {
      this.socat.removeAllListeners('exit');
      this.socat.kill('SIGTERM');
      await once(this.socat, 'exit');
    }
  }
}

// ---------------------------------------------------------------------------------------------

describe('ft900/firmware C tests', () => {
  it('make test: unit tests, the same under ASan+UBSan, and the fuzz/property test all pass', async () => {
    const { code, stdout, stderr } = await run('make', ['-j4', '-C', firmwareDir, 'test'], 170_000);
    const summaries = stdout.split('\n').filter((line) => line.startsWith('SUMMARY '));
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(summaries.map((line) => line.split(':')[0])).toEqual(['SUMMARY unit', 'SUMMARY unit-asan', 'SUMMARY fuzz']);
    for (const line of summaries) expect(line).toMatch(/, 0 failed /);
    expect(summaries[2]).toMatch(/SUMMARY fuzz: 200000 iterations/);
  }, 180_000);
});

describe('ft900-host on a serial line (socat pty pair)', () => {
  const board = new SerialBoard();
  const id = 'ft900sim1';

  beforeAll(async () => {
    const build = await run('make', ['-j4', '-C', firmwareDir], 120_000);
    expect(build.code, build.stderr).toBe(0);
    await board.start(id);
  }, 130_000);

  afterAll(async () => {
    await board.stop();
  });

  it('answers a framed get_status REQUEST with a framed RESPONSE', async () => {
    const answer = await board.request(`${id}/get_status`, '{"cid":"s1"}');
    expect(answer).toEqual({ topic: `server/${id}/get_status`, body: { cid: 's1', status: 'running' } });
  });

  it('skips garbage bytes before a valid frame', async () => {
    // Noise with flags, escapes and a half frame: it may form bogus frames, never an answer.
    const garbage = Buffer.from([0x00, 0xff, 0x7e, 0x13, 0x7d, 0x7e, 0x01, 0x00, 0x05, 0x41, 0x42, 0x7d, 0x5e, 0x99, 0x7d]);
    const answer = await board.request(`${id}/get_status`, '{"cid":"g1"}', garbage);
    expect(answer.body).toEqual({ cid: 'g1', status: 'running' });
    // ...and in its own write, so the board sees it as a separate burst.
    board.write(garbage);
    const again = await board.request(`${id}/get_rtc`, '{"cid":"g2"}');
    expect(again.body.cid).toBe('g2');
    expect(board.unclaimed(Type.RESPONSE)).toEqual([]);
  });

  it('answers PING with a PONG carrying the same payload', async () => {
    const nonce = Buffer.from([0x7e, 0x7d, 0x00, 0x01, 0x02]);
    const pong = board.next((f) => f.type === Type.PONG);
    board.write(encodeFrame(Type.PING, nonce));
    expect((await pong).payload).toEqual(nonce);
  });

  it('runs commands against the simulated board', async () => {
    expect((await board.request(`${id}/set_gpio`, '{"cid":"a","number":18,"value":1}')).body).toEqual({ cid: 'a', number: 18, value: 1 });
    expect((await board.request(`${id}/get_gpio`, '{"cid":"b","number":18}')).body).toEqual({ cid: 'b', number: 18, value: 1 });
    expect((await board.request(`${id}/set_rtc`, '{"value":1764144000}')).body).toEqual({ value: 1764144000 });
    const rtc = (await board.request(`${id}/get_rtc`, '')).body.value as number;
    expect(rtc).toBeGreaterThanOrEqual(1764144000);
    expect(rtc).toBeLessThan(1764144000 + 60);
    expect((await board.request(`${id}/get_mac`, '{}')).body.value).toMatch(/^02:00(:[0-9a-f]{2}){4}$/);
    expect((await board.request(`${id}/get_ip`, '{}')).body).toEqual({ value: '192.168.1.20' });
    expect((await board.request(`${id}/write_uart`, '{"data":"hello ft900 \\u00e9"}')).body).toEqual({ data: 'hello ft900 é' });
  });

  it('rejects bad requests exactly like the reference codec', async () => {
    const cases: [string, string | Buffer][] = [
      ['set_gpio', '{"cid":"k3x9","number":99,"value":1}'],
      ['set_gpio', '{"number":"3","value":1}'],
      ['get_gpio', '{"number":1.5}'],
      ['get_gpio', '{"number":3,"mode":"pullup"}'],
      ['get_gpio', '{"number":1,"zeta":1,"5":1}'],
      ['get_gpio', '{"number":"x","y":1}'],
      ['set_gpio', '{"bogus":1,"value":9}'],
      ['set_rtc', '{"value":4294967296}'],
      ['write_uart', `{"data":"${'é'.repeat(129)}"}`],
      ['write_uart', '{"data":""}'],
      ['get_rtc', '{"cid":"a/b"}'],
      ['get_rtc', '{"cid":7}'],
      ['get_rtc', '{"__proto__":{"polluted":1}}'],
      ['format_flash', '{"cid":"c1"}'],
      ['get_gpio', '{number:1}'],
      ['get_gpio', '[1,2]'],
      ['get_gpio', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ['get_status', '\u00a0'],
      ['get_gpio', `{"number":1,"a":${'['.repeat(1000)}${']'.repeat(1000)}}`],
      ['get_status', `{"cid":"big"}${' '.repeat(4097 - 13)}`],
    ];
    for (const [command, payload] of cases) {
      const topic = `${id}/${command}`;
      const expected = decodeRequest(topic, payload);
      const answer = await board.request(topic, payload);
      expect(answer.topic).toBe(`server/${id}/${command}`);
      const error = answer.body.error as { name: string; field?: string } | undefined;
      if (expected.ok) {
        expect(error, `${command} ${String(payload)}`).toBeUndefined();
      } else {
        expect({ name: error?.name, field: error?.field }, `${command} ${String(payload)}`).toEqual({
          name: expected.error.name,
          field: expected.error.field,
        });
        if (expected.error.context?.cid !== undefined) expect(answer.body.cid).toBe(expected.error.context.cid);
      }
    }
  });

  it('agrees with the reference codec on generated and mutated requests', async () => {
    // Deterministic (fixed seeds): fields of every type and range, extra and duplicate keys, bad
    // cids, then single-character mutations that break the JSON in every way.
    const keys = ['number', 'value', 'data', 'cid', 'x', '5', '01', 'a/b', '__proto__'];
    const values = ['1', '-1', '66', '67', '1.0', '1e1', '1.5', '-0', '4294967295', '4294967296', 'true', 'null',
      '"x"', '""', '"k3x9"', '"a b"', '[]', '{}', '[1]', '"\\u00e9"', '"\\ud800"', '1e400', `"${'x'.repeat(257)}"`];
    const commands = [...commandNames, 'nope'];
    const objects = fc.sample(
      fc.tuple(fc.constantFrom(...commands), fc.array(fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...values)), { maxLength: 4 })),
      { numRuns: 300, seed: 42 },
    ).map(([command, pairs]) => [command, `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`] as const);
    const mutated = fc.sample(
      fc.tuple(fc.constantFrom(...objects), fc.nat(200), fc.constantFrom('', '{', '}', ',', ':', '"', '\\', ' ', '\u00a0', '\u2028')),
      { numRuns: 200, seed: 7 },
    ).map(([[command, text], at, insert]) => {
      const i = at % (text.length + 1);
      return [command, text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0))] as const;
    });
    const mismatches: string[] = [];
    for (const [command, payload] of [...objects, ...mutated]) {
      const topic = `${id}/${command}`;
      const expected = decodeRequest(topic, payload);
      const { body } = await board.request(topic, payload);
      const error = body.error as { name: string; field?: string } | undefined;
      const got = error ? `${error.name} ${error.field ?? ''}` : 'ok';
      const want = expected.ok ? 'ok' : `${expected.error.name} ${expected.error.field ?? ''}`;
      const wantCid = expected.ok ? expected.value.cid : expected.error.context?.cid;
      // A MALFORMED answer may carry a cid read before the syntax error; the codec reports none.
      const cidOk = error?.name === 'MALFORMED' || body.cid === wantCid;
      if (got !== want || !cidOk) mismatches.push(`${command} ${payload}: board ${got} ${String(body.cid)}, codec ${want} ${wantCid}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('on reset_device answers first, then announces itself again with HELLO', async () => {
    await board.request(`${id}/set_gpio`, '{"number":5,"value":1}');
    const hello = board.next((f) => f.type === Type.HELLO);
    const answer = await board.request(`${id}/reset_device`, '{"cid":"r1"}');
    expect(answer.body).toEqual({ cid: 'r1', status: 'restarting' });
    expect((await hello).payload.toString()).toBe(id);
    // Power-on defaults again.
    expect((await board.request(`${id}/get_gpio`, '{"number":5}')).body).toEqual({ number: 5, value: 0 });
  });

  it('ignores requests for other devices (and says so in a LOG frame)', async () => {
    const log = board.next((f) => f.type === Type.LOG);
    board.write(encodeFrame(Type.REQUEST, Buffer.from('ft900sim2/get_status\n{}')));
    expect((await log).payload.toString()).toContain('ft900sim2/get_status');
    // The next request for this board is still answered, and nothing came for the other one.
    expect((await board.request(`${id}/get_status`, '{"cid":"after"}')).body.cid).toBe('after');
    expect(board.unclaimed(Type.RESPONSE)).toEqual([]);
  });

  it('stops cleanly on SIGTERM', async () => {
    const host = board.host!;
    const exited = once(host, 'exit');
    host.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(board.hostLog).toContain('stopping on signal');
  });
});
