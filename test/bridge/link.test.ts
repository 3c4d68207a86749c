/**
 * The bridge's own duties on the link, with a board that misbehaves on purpose. The board here is
 * this test speaking FRAMING.md on a real pty (socat), since ft900-host only ever behaves; the
 * broker is a real aedes broker on loopback, where the test also plays the server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { encodeFrame, FrameDecoder, FrameType, messagePayload, splitMessage, startBridge, type Bridge, type BridgeOptions } from '../../ft900/bridge/index.ts';
import { startBroker, type TestBroker } from '../harness/fixtures.ts';
import { nextEvent as next, PtyPair } from '../../testkit/serial-line.ts';

interface Frame {
  type: number;
  payload: Buffer;
}

/** The board end of the line, scripted by the test. */
class ScriptedBoard {
  readonly seen: Frame[] = [];
  private readonly decoder = new FrameDecoder();
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private unclaimed: Frame[] = [];

  private constructor(private readonly port: SerialPortStream) {
    port.on('data', (chunk: Buffer) => {
      for (const event of this.decoder.push(chunk)) if (event.kind === 'frame') this.deliver({ type: event.type, payload: event.payload });
    });
  }

  static async open(path: string): Promise<ScriptedBoard> {
    const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    return new ScriptedBoard(port);
  }

  /** The next frame of this type (already received or still to come). */
  next(type: number): Promise<Frame> {
    const match = (f: Frame) => f.type === type;
    const index = this.unclaimed.findIndex(match);
    if (index >= 0) return Promise.resolve(this.unclaimed.splice(index, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The next REQUEST, as topic and JSON text. */
  async request(): Promise<{ topic: string; json: string }> {
    const message = splitMessage((await this.next(FrameType.REQUEST)).payload)!;
    return { topic: message.topic, json: message.payload.toString() };
  }

  send(type: number, payload: Buffer | string): void {
    this.port.write(encodeFrame(type, Buffer.from(payload)));
  }

  respond(topic: string, json: string): void {
    this.send(FrameType.RESPONSE, messagePayload(topic, Buffer.from(json)));
  }

  requestsSeen(): number {
    return this.seen.filter((f) => f.type === FrameType.REQUEST).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }

  private deliver(frame: Frame): void {
    this.seen.push(frame);
    const index = this.waiters.findIndex((w) => w.match(frame));
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(frame);
    else this.unclaimed.push(frame);
  }
}


/** Resolves once the bridge has taken `count` requests from the broker in all. */
function received(bridge: Bridge, count: number): Promise<void> {
  if (bridge.counters.requests >= count) return Promise.resolve();
  return next(bridge, 'received', () => bridge.counters.requests >= count).then(() => undefined);
}

const id = 'ft900link1';
let dir: string;
let broker: TestBroker;
let server: MqttClient;
let answers: { topic: string; payload: string }[] = [];
let answerWaiters: (() => boolean)[] = [];
let pairs = 0;

/** The test's "server": every publish anywhere on the broker is recorded. */
function answersReach(count: number): Promise<void> {
  if (answers.length >= count) return Promise.resolve();
  return new Promise((resolve) =>
    answerWaiters.push(() => {
      if (answers.length < count) return false;
      resolve();
      return true;
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-bridge-link-'));
  broker = await startBroker();
  server = await mqtt.connectAsync(broker.url, { clientId: 'test-server', reconnectPeriod: 0 });
  await server.subscribeAsync('#', { qos: 1 }); // everything, should the bridge leak anything
  server.on('message', (topic, payload) => {
    if (!topic.startsWith('server/') && topic.split('/').length < 3) return;
    answers.push({ topic, payload: payload.toString() });
    answerWaiters = answerWaiters.filter((waiter) => !waiter());
  });
});

afterAll(async () => {
  await server?.endAsync();
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the bridge on the link', () => {
  let pair: PtyPair;
  let board: ScriptedBoard;
  let bridge: Bridge;

  async function setup(options: Partial<BridgeOptions> = {}): Promise<void> {
    answers = [];
    const n = pairs++;
    pair = await PtyPair.start(join(dir, `board${n}`), join(dir, `bridge${n}`));
    board = await ScriptedBoard.open(pair.a);
    bridge = startBridge({ port: pair.b, deviceId: id, url: broker.url, allowPlaintext: true, logger: pino({ level: 'silent' }), pingIntervalMs: 0, ...options });
    const serialOpen = next(bridge, 'serial', (open) => open);
    await next(bridge, 'broker', (up) => up);
    await serialOpen;
    await board.next(FrameType.PING); // the bridge asks whether a board is there
  }

  const publish = (command: string, json: string) => server.publishAsync(`${id}/${command}`, json, { qos: 1 });

  afterEach(async () => {
    await bridge?.close();
    await board?.close();
    await pair?.stop();
  });

  it('keeps one request outstanding: the next REQUEST reaches the board only once the last is answered', async () => {
    await setup();
    await publish('get_gpio', '{"cid":"a","number":1}');
    await publish('get_gpio', '{"cid":"b","number":2}');
    await publish('get_gpio', '{"cid":"c","number":3}');
    for (const cid of ['a', 'b', 'c']) {
      const request = await board.request();
      expect(request.json).toContain(`"cid":"${cid}"`);
      await received(bridge, 3);
      expect(board.requestsSeen()).toBe(['a', 'b', 'c'].indexOf(cid) + 1); // nothing more came meanwhile
      board.respond(`server/${id}/get_gpio`, `{"cid":"${cid}","number":1,"value":0}`);
    }
    await answersReach(3);
    expect(answers.map((a) => JSON.parse(a.payload).cid)).toEqual(['a', 'b', 'c']);
  });

  it('publishes only the board\'s own answer topics and drops the rest, counted', async () => {
    await setup();
    await publish('get_status', '{"cid":"s1"}');
    await board.request();
    const rejected: string[] = [];
    bridge.on('rejected', (topic) => rejected.push(topic));
    board.respond('server/otherdevice/get_status', '{"status":"running"}');
    board.respond(`server/${id}/a/b`, '{}');
    board.respond(`${id}/get_status`, '{}');
    board.respond(`server/${id}/get_status`, `{"data":"${'x'.repeat(4100)}"}`); // over the protocol's 4096 bytes
    board.send(FrameType.RESPONSE, 'no topic line');
    board.respond(`server/${id}/get_status`, '{"cid":"s1","status":"running"}');
    await answersReach(1);
    expect(answers).toEqual([{ topic: `server/${id}/get_status`, payload: '{"cid":"s1","status":"running"}' }]);
    expect(rejected).toEqual(['server/otherdevice/get_status', `server/${id}/a/b`, `${id}/get_status`, `server/${id}/get_status`, '']);
    expect(bridge.counters.rejected).toBe(5);
    expect(bridge.state.brokerUp).toBe(true); // nothing reached the broker that would make it hang up
  });

  it('counts a timeout when the board does not answer, and goes on with the next request', async () => {
    await setup({ requestTimeoutMs: 200 });
    await publish('get_status', '{"cid":"lost"}');
    await publish('get_status', '{"cid":"next"}');
    expect((await board.request()).json).toContain('lost');
    const [topic] = await next(bridge, 'timeout');
    expect(topic).toBe(`${id}/get_status`);
    expect((await board.request()).json).toContain('next');
    board.respond(`server/${id}/get_status`, '{"cid":"next","status":"running"}');
    await answersReach(1);
    expect(bridge.counters.timeouts).toBe(1);
  });

  it('takes a LOG from the board as "not answering this one" and frees the line at once', async () => {
    await setup({ requestTimeoutMs: 60_000 });
    await publish('get_status', '{"cid":"x"}');
    await publish('get_status', '{"cid":"y"}');
    await board.request();
    board.send(FrameType.LOG, 'no answer to ft900link1/get_status');
    expect((await board.request()).json).toContain('"y"');
    expect(bridge.counters).toMatchObject({ boardLogs: 1, timeouts: 0 });
  });

  it('takes a HELLO as a restart: the request in flight is lost, the next one goes; a wrong id is reported', async () => {
    await setup({ requestTimeoutMs: 60_000 });
    await publish('set_gpio', '{"cid":"before","number":1,"value":1}');
    await publish('get_status', '{"cid":"after"}');
    await board.request();
    const hello = next(bridge, 'hello');
    board.send(FrameType.HELLO, 'someotherid');
    expect(await hello).toEqual(['someotherid']);
    expect((await board.request()).json).toContain('after');
    expect(bridge.counters).toMatchObject({ hellos: 1, lost: 1, timeouts: 0 });
  });

  it('holds requests between a reset_device answer and the HELLO, so none lands in a rebooting board', async () => {
    await setup({ requestTimeoutMs: 60_000 });
    await publish('reset_device', '{"cid":"r"}');
    await publish('get_status', '{"cid":"after-reset"}');
    await board.request();
    await received(bridge, 2);
    board.respond(`server/${id}/reset_device`, '{"cid":"r","status":"restarting"}');
    // A PING/PONG round trip as a barrier: a REQUEST sent after the answer would arrive before the PONG.
    board.send(FrameType.PING, 'barrier');
    await board.next(FrameType.PONG);
    expect(board.requestsSeen()).toBe(1);
    board.send(FrameType.HELLO, id);
    expect((await board.request()).json).toContain('after-reset');
    expect(bridge.counters).toMatchObject({ hellos: 1, lost: 0 });
  });

  it('answers the board\'s own PING with a PONG carrying the same bytes', async () => {
    await setup();
    const nonce = Buffer.from([0x7e, 0x7d, 0x00, 0xff]);
    board.send(FrameType.PING, nonce);
    expect((await board.next(FrameType.PONG)).payload).toEqual(nonce);
  });

  it('notices a silent board through PING, and its return', async () => {
    await setup({ pingIntervalMs: 50, pongTimeoutMs: 100 });
    const alive = next(bridge, 'board', (up) => up);
    const ping = await board.next(FrameType.PING);
    board.send(FrameType.PONG, ping.payload);
    await alive;
    const silent = next(bridge, 'board', (up) => !up);
    await silent; // nobody answers the following PINGs
    expect(bridge.counters.missedPongs).toBeGreaterThanOrEqual(1);
    const back = next(bridge, 'board', (up) => up);
    board.send(FrameType.PONG, (await board.next(FrameType.PING)).payload);
    await back;
  });

  it('drops requests beyond the queue limit, and requests that waited longer than the server does', async () => {
    await setup({ requestTimeoutMs: 300, maxQueue: 2, maxQueueAgeMs: 100 });
    const dropped: string[] = [];
    bridge.on('dropped', (_topic, reason) => dropped.push(reason));
    for (const cid of ['q1', 'q2', 'q3', 'q4']) await publish('get_status', `{"cid":"${cid}"}`);
    await received(bridge, 4);
    expect(dropped).toEqual(['2 requests already wait for the board']); // q1 in flight, q2 and q3 wait
    // q1 times out after 300 ms; q2 and q3 have waited longer than 100 ms by then.
    const stale = next(bridge, 'dropped', () => dropped.length === 3);
    await next(bridge, 'timeout');
    await stale;
    expect(dropped.slice(1).every((reason) => /waited \d+ ms for the board/.test(reason))).toBe(true);
    expect(bridge.counters).toMatchObject({ dropped: 3, timeouts: 1 });
    expect(board.requestsSeen()).toBe(1);
  });

  it('answers a request too large for one frame with PAYLOAD_TOO_LARGE itself, without a cid', async () => {
    await setup();
    const payload = JSON.stringify({ cid: 'huge', data: 'x'.repeat(5000) });
    await publish('write_uart', payload);
    await answersReach(1);
    expect(answers[0]!.topic).toBe(`server/${id}/write_uart`);
    expect(JSON.parse(answers[0]!.payload)).toEqual({ error: { code: 6, name: 'PAYLOAD_TOO_LARGE', message: `payload is ${payload.length} bytes, the limit is 4096` } });
    expect(board.requestsSeen()).toBe(0);
    expect(bridge.counters.oversized).toBe(1);
  });
});
