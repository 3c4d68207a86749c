/**
 * The serial framing between a board and its bridge, exactly as ft900/firmware/FRAMING.md
 * specifies it (and as src/frame.c implements it on the board):
 *
 *   on the wire:  0x7E  stuff(body)  0x7E
 *   body:         type(1)  length(2, big-endian)  payload(length)  crc(2, big-endian)
 *   crc:          CRC-16/CCITT-FALSE over type, length and payload (unstuffed)
 *   stuffing:     0x7E -> 7D 5E, 0x7D -> 7D 5D
 *
 * The decoder is the byte-at-a-time state machine of FRAMING.md section 4, fed arbitrary chunks.
 * It needs no timeouts: every flag ends what came before it and opens the next frame, so noise, a
 * frame cut short or a board reset costs at most the frame it hit.
 */

export const FLAG = 0x7e;
export const ESC = 0x7d;
const XOR = 0x20;

export const FrameType = {
  REQUEST: 0x01,
  RESPONSE: 0x02,
  PING: 0x03,
  PONG: 0x04,
  HELLO: 0x05,
  LOG: 0x06,
} as const;
export type FrameTypeName = keyof typeof FrameType;

/** Longest topic the board answers: "server/" + 64-char device id + "/" + 12-char command + NUL
 * (IOT_MAX_TOPIC_LEN of the generated C header). */
export const MAX_TOPIC_LEN = 7 + 64 + 1 + 12 + 1;
/** IOT_FRAME_MAX_PAYLOAD: one topic, `\n`, one protocol payload (4096 bytes). */
export const MAX_PAYLOAD = MAX_TOPIC_LEN + 1 + 4096;
const HEADER_LEN = 3;
const CRC_LEN = 2;
export const MAX_BODY = HEADER_LEN + MAX_PAYLOAD + CRC_LEN;
/** Every body byte escaped, plus the two flags. */
export const MAX_ENCODED = 2 + 2 * MAX_BODY;

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, no final XOR ("123456789" -> 0x29B1). */
export function crc16(bytes: Uint8Array, crc = 0xffff): number {
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export class FrameTooLongError extends Error {
  override readonly name = 'FrameTooLongError';
}

/** One frame on the wire: opening flag, stuffed body, closing flag. */
export function encodeFrame(type: number, payload: Uint8Array): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new FrameTooLongError(`frame payload of ${payload.length} bytes is over the ${MAX_PAYLOAD}-byte limit`);
  const body = Buffer.allocUnsafe(HEADER_LEN + payload.length + CRC_LEN);
  body[0] = type;
  body.writeUInt16BE(payload.length, 1);
  body.set(payload, HEADER_LEN);
  body.writeUInt16BE(crc16(body.subarray(0, HEADER_LEN + payload.length)), HEADER_LEN + payload.length);
  const out = Buffer.allocUnsafe(2 + 2 * body.length);
  let n = 0;
  out[n++] = FLAG;
  for (const byte of body) {
    if (byte === FLAG || byte === ESC) {
      out[n++] = ESC;
      out[n++] = byte ^ XOR;
    } else {
      out[n++] = byte;
    }
  }
  out[n++] = FLAG;
  return out.subarray(0, n);
}

/** REQUEST / RESPONSE payload: the topic, one `\n`, the MQTT payload unchanged. */
export function messagePayload(topic: string, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${topic}\n`), payload]);
}

/** Split a REQUEST / RESPONSE payload at the first `\n`; undefined when it has none. */
export function splitMessage(payload: Uint8Array): { topic: string; payload: Buffer } | undefined {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return undefined;
  return { topic: bytes.subarray(0, newline).toString('utf8'), payload: bytes.subarray(newline + 1) };
}

export type DecodeEvent =
  | { kind: 'frame'; type: number; payload: Buffer }
  /** A frame ended but its CRC is wrong: discarded. */
  | { kind: 'crc-error' }
  /** A length field or body beyond the maximum: bytes are skipped up to the next flag. */
  | { kind: 'overlong' }
  /** Too short, length field disagreeing with the body, or aborted by 7D 7E. */
  | { kind: 'malformed' };

export interface DecoderStats {
  frames: number;
  crcErrors: number;
  overlong: number;
  malformed: number;
  /** Bytes seen while hunting for a flag (before the first one, or after `resync()`). */
  noiseBytes: number;
}

const Mode = { Hunt: 0, Body: 1, Escape: 2, Discard: 3 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

export class FrameDecoder {
  readonly stats: DecoderStats = { frames: 0, crcErrors: 0, overlong: 0, malformed: 0, noiseBytes: 0 };
  private mode: Mode = Mode.Hunt;
  private readonly buf = Buffer.alloc(MAX_BODY);
  private len = 0;

  /** Feed any chunk of received bytes; returns what it completed, in order. */
  push(chunk: Uint8Array): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    for (const byte of chunk) {
      const event = this.feed(byte);
      if (event) events.push(event);
    }
    return events;
  }

  /** Forget any partial frame and hunt for a flag again (the line was reopened); stats are kept. */
  resync(): void {
    this.mode = Mode.Hunt;
    this.len = 0;
  }

  private feed(byte: number): DecodeEvent | undefined {
    switch (this.mode) {
      case Mode.Hunt:
        if (byte === FLAG) this.open();
        else this.stats.noiseBytes++;
        return undefined;
      case Mode.Discard:
        if (byte === FLAG) this.open();
        return undefined;
      case Mode.Escape:
        if (byte === FLAG) {
          // 7D 7E: the sender aborted the frame; this flag opens the next one.
          this.open();
          this.stats.malformed++;
          return { kind: 'malformed' };
        }
        this.mode = Mode.Body;
        return this.append(byte ^ XOR);
      case Mode.Body:
        if (byte === FLAG) return this.finish();
        if (byte === ESC) {
          this.mode = Mode.Escape;
          return undefined;
        }
        return this.append(byte);
    }
  }

  private open(): void {
    this.mode = Mode.Body;
    this.len = 0;
  }

  private append(byte: number): DecodeEvent | undefined {
    if (this.len >= MAX_BODY) return this.overlong();
    this.buf[this.len++] = byte;
    // Judge the length field as soon as it is complete, so a corrupt one cannot make the decoder
    // swallow up to 4 KB of the frames that follow.
    if (this.len === HEADER_LEN && this.buf.readUInt16BE(1) > MAX_PAYLOAD) return this.overlong();
    return undefined;
  }

  private overlong(): DecodeEvent {
    this.stats.overlong++;
    this.mode = Mode.Discard;
    this.len = 0;
    return { kind: 'overlong' };
  }

  /** A flag ended the body collected so far; it also opens the next frame (mode stays Body). */
  private finish(): DecodeEvent | undefined {
    const len = this.len;
    this.len = 0;
    if (len === 0) return undefined; // idle or back-to-back flags
    if (len < HEADER_LEN + CRC_LEN) {
      this.stats.malformed++;
      return { kind: 'malformed' };
    }
    if (crc16(this.buf.subarray(0, len - CRC_LEN)) !== this.buf.readUInt16BE(len - CRC_LEN)) {
      this.stats.crcErrors++;
      return { kind: 'crc-error' };
    }
    const declared = this.buf.readUInt16BE(1);
    if (declared !== len - HEADER_LEN - CRC_LEN) {
      this.stats.malformed++;
      return { kind: 'malformed' };
    }
    this.stats.frames++;
    // A copy: the buffer is reused for the next frame.
    return { kind: 'frame', type: this.buf[0]!, payload: Buffer.from(this.buf.subarray(HEADER_LEN, HEADER_LEN + declared)) };
  }
}
