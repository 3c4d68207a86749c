/**
 * ft900/bridge/frame.ts against ft900/firmware/FRAMING.md: the worked examples byte for byte,
 * every decoder rule of section 4, and a property test: frames survive any chunking and any noise
 * put between them.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  crc16, encodeFrame, FrameDecoder, FrameTooLongError, FrameType, MAX_BODY, MAX_ENCODED, MAX_PAYLOAD, messagePayload, splitMessage, type DecodeEvent,
} from '../../ft900/bridge/frame.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const frames = (events: DecodeEvent[]) => events.filter((e) => e.kind === 'frame');

describe('CRC-16/CCITT-FALSE (FRAMING.md 7)', () => {
  it('has the check value 0x29B1 and 0xFFFF for no bytes', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x29b1);
    expect(crc16(Buffer.alloc(0))).toBe(0xffff);
  });
});

describe('worked examples (FRAMING.md 8)', () => {
  const request = hex(`
    7E 01 00 26 66 74 39 30 30 64 65 76 69 63 65 31
    2F 67 65 74 5F 73 74 61 74 75 73 0A 7B 22 63 69
    64 22 3A 22 6B 33 78 39 22 7D 5D 33 D3 7E`);

  it('encodes the get_status REQUEST to the 46 bytes of the spec', () => {
    const payload = messagePayload('ft900device1/get_status', Buffer.from('{"cid":"k3x9"}'));
    expect(payload.length).toBe(38);
    const wire = encodeFrame(FrameType.REQUEST, payload);
    expect(wire.length).toBe(46);
    expect(wire.toString('hex')).toBe(request.toString('hex'));
  });

  it('decodes it back to the topic and JSON', () => {
    const [event] = new FrameDecoder().push(request);
    expect(event).toMatchObject({ kind: 'frame', type: FrameType.REQUEST });
    const message = splitMessage((event as { payload: Buffer }).payload);
    expect(message?.topic).toBe('ft900device1/get_status');
    expect(message?.payload.toString()).toBe('{"cid":"k3x9"}');
  });

  it('stuffs a PING payload of 7E 7D 01', () => {
    expect(encodeFrame(FrameType.PING, hex('7E 7D 01')).toString('hex')).toBe(hex('7E 03 00 03 7D 5E 7D 5D 01 F6 01 7E').toString('hex'));
    // The PONG carries the same three bytes, with its own CRC.
    const pong = encodeFrame(FrameType.PONG, hex('7E 7D 01'));
    expect(pong.subarray(0, 9).toString('hex')).toBe(hex('7E 04 00 03 7D 5E 7D 5D 01').toString('hex'));
    expect(frames(new FrameDecoder().push(pong))).toEqual([{ kind: 'frame', type: FrameType.PONG, payload: hex('7E 7D 01') }]);
  });

  it('encodes HELLO from dev1', () => {
    expect(encodeFrame(FrameType.HELLO, Buffer.from('dev1')).toString('hex')).toBe(hex('7E 05 00 04 64 65 76 31 66 5A 7E').toString('hex'));
  });

  it('resynchronises exactly as the example says', () => {
    const decoder = new FrameDecoder();
    const events = decoder.push(hex('13 7E 01 02 7D 7E 7E 05 00 04 64 65 76 31 66 5A 7E'));
    expect(events).toEqual([{ kind: 'malformed' }, { kind: 'frame', type: FrameType.HELLO, payload: Buffer.from('dev1') }]);
    expect(decoder.stats).toEqual({ frames: 1, crcErrors: 0, overlong: 0, malformed: 1, noiseBytes: 1 });
  });
});

describe('decoder rules (FRAMING.md 4)', () => {
  const hello = encodeFrame(FrameType.HELLO, Buffer.from('dev1'));

  it('treats back-to-back and idle flags as nothing, and accepts a shared flag', () => {
    const decoder = new FrameDecoder();
    const shared = Buffer.concat([hello.subarray(0, -1), hello]); // one 7E closes and opens
    expect(frames(decoder.push(Buffer.concat([hex('7E 7E 7E'), hello, hello, shared])))).toHaveLength(4);
    expect(decoder.stats).toMatchObject({ frames: 4, crcErrors: 0, malformed: 0, overlong: 0, noiseBytes: 0 });
  });

  it('reports a body under 5 bytes as malformed', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(hex('7E 01 00 00 FF 7E'))).toEqual([{ kind: 'malformed' }]);
  });

  it('reports a wrong CRC, then a length field that disagrees with the body', () => {
    const decoder = new FrameDecoder();
    const bad = Buffer.from(hello);
    bad[5] = bad[5]! ^ 0x01;
    expect(decoder.push(bad)).toEqual([{ kind: 'crc-error' }]);
    // length 3 declared, 4 payload bytes sent, CRC correct over what was sent.
    const body = hex('05 00 03 64 65 76 31');
    const wrongLength = Buffer.concat([hex('7E'), body, Buffer.from([crc16(body) >> 8, crc16(body) & 0xff]), hex('7E')]);
    expect(decoder.push(wrongLength)).toEqual([{ kind: 'malformed' }]);
    expect(decoder.stats).toMatchObject({ crcErrors: 1, malformed: 1, frames: 0 });
  });

  it('judges a length field over 4182 as soon as it is complete, and finds the next frame', () => {
    const decoder = new FrameDecoder();
    const events = decoder.push(Buffer.concat([hex('7E 01 10 57'), Buffer.alloc(100, 0x41), hello]));
    expect(events).toEqual([{ kind: 'overlong' }, { kind: 'frame', type: FrameType.HELLO, payload: Buffer.from('dev1') }]);
  });

  it('reports a body that never ends as overlong once it passes 4187 bytes', () => {
    const decoder = new FrameDecoder();
    // A plausible length field, then far too many bytes: DISCARD until the next flag.
    const events = decoder.push(Buffer.concat([hex('7E 01 00 10'), Buffer.alloc(MAX_BODY + 500, 0x41), hello]));
    expect(events).toEqual([{ kind: 'overlong' }, { kind: 'frame', type: FrameType.HELLO, payload: Buffer.from('dev1') }]);
    expect(decoder.stats.overlong).toBe(1);
  });

  it('aborts on 7D 7E and keeps the flag as the next opening', () => {
    const decoder = new FrameDecoder();
    const cut = hello.subarray(0, 6);
    expect(decoder.push(Buffer.concat([cut, hex('7D'), hello]))).toEqual([{ kind: 'malformed' }, { kind: 'frame', type: FrameType.HELLO, payload: Buffer.from('dev1') }]);
  });

  it('delivers frames of unknown type (the application ignores them)', () => {
    expect(frames(new FrameDecoder().push(encodeFrame(0x42, Buffer.from('x'))))).toEqual([{ kind: 'frame', type: 0x42, payload: Buffer.from('x') }]);
  });

  it('loses only the frame a board reset cut short', () => {
    const decoder = new FrameDecoder();
    const response = encodeFrame(FrameType.RESPONSE, messagePayload('server/dev1/get_status', Buffer.from('{"status":"running"}')));
    const events = decoder.push(Buffer.concat([response.subarray(0, 20), hello]));
    expect(events).toEqual([{ kind: 'crc-error' }, { kind: 'frame', type: FrameType.HELLO, payload: Buffer.from('dev1') }]);
  });

  it('resync() forgets a partial frame and hunts again', () => {
    const decoder = new FrameDecoder();
    decoder.push(hello.subarray(0, 5));
    decoder.resync();
    expect(decoder.push(Buffer.concat([hex('41 42'), hello]))).toEqual([{ kind: 'frame', type: FrameType.HELLO, payload: Buffer.from('dev1') }]);
    expect(decoder.stats.noiseBytes).toBe(2);
  });

  it('encodes payloads up to 4182 bytes, worst case 8376 on the wire, and refuses longer ones', () => {
    const worst = encodeFrame(FrameType.PING, Buffer.alloc(MAX_PAYLOAD, 0x7e));
    expect(worst.length).toBeLessThanOrEqual(MAX_ENCODED);
    expect(frames(new FrameDecoder().push(worst))).toHaveLength(1);
    expect(() => encodeFrame(FrameType.PING, Buffer.alloc(MAX_PAYLOAD + 1))).toThrow(FrameTooLongError);
  });

  it('splits a message at the first newline only', () => {
    expect(splitMessage(Buffer.from('a/b\n{"x":"1\n2"}'))).toEqual({ topic: 'a/b', payload: Buffer.from('{"x":"1\n2"}') });
    expect(splitMessage(Buffer.from('a/b\n'))).toEqual({ topic: 'a/b', payload: Buffer.alloc(0) });
    expect(splitMessage(Buffer.from('no newline'))).toBeUndefined();
  });
});

describe('property: encode -> noise -> any chunking -> decode', () => {
  // Payloads rich in the two reserved bytes, so stuffing is exercised on every run.
  const byte = fc.oneof(fc.constant(0x7e), fc.constant(0x7d), fc.integer({ min: 0, max: 255 }));
  const payload = fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) }, { weight: 4, arbitrary: fc.array(byte, { maxLength: 64 }).map((a) => Uint8Array.from(a)) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 4100, maxLength: MAX_PAYLOAD }) });
  const frame = fc.record({ type: fc.integer({ min: 0, max: 255 }), payload });
  // Noise with no flag in it never touches the frames around it (a flag in noise may open a bogus
  // frame, which the next frame's own opening flag ends: see the next property).
  const quietNoise = fc.array(fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x7e), { maxLength: 40 });

  it('every frame comes out, in order, whatever the noise without flags and the chunk sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(quietNoise, frame), { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 8 }), (items, cuts) => {
        const wire = Buffer.concat(items.flatMap(([noise, f]) => [Buffer.from(noise), encodeFrame(f.type, f.payload)]));
        const decoder = new FrameDecoder();
        const events: DecodeEvent[] = [];
        for (let at = 0, i = 0; at < wire.length; i++) {
          const size = cuts[i % cuts.length]!;
          events.push(...decoder.push(wire.subarray(at, at + size)));
          at += size;
        }
        // Compared as text: deep equality over kilobyte buffers is what would dominate the run time.
        const got = frames(events).map((e) => `${e.type}:${e.payload.toString('hex')}`);
        expect(got).toEqual(items.map(([, f]) => `${f.type}:${Buffer.from(f.payload).toString('hex')}`));
      }),
      { numRuns: 300, seed: 20251126 },
    );
  });

  it('any noise at all costs no frame that follows it, and never invents one', () => {
    const anyNoise = fc.array(byte, { maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.tuple(anyNoise, frame), { minLength: 1, maxLength: 12 }), (items) => {
        const decoder = new FrameDecoder();
        const sent = items.map(([, f]) => ({ type: f.type, payload: Buffer.from(f.payload) }));
        const got = frames(decoder.push(Buffer.concat(items.flatMap(([noise, f]) => [Buffer.from(noise), encodeFrame(f.type, f.payload)]))));
        // Each sent frame arrives (its opening flag resynchronises); anything extra is a frame the
        // noise itself spelled out with a valid CRC, which needs an exact 16-bit CRC: rare, and
        // then it is at least a well-formed frame.
        const received = got.map((e) => ({ type: e.type, payload: Buffer.from(e.payload) }));
        let next = 0;
        for (const frameGot of received) if (next < sent.length && frameGot.type === sent[next]!.type && frameGot.payload.equals(sent[next]!.payload)) next++;
        expect(next).toBe(sent.length);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
