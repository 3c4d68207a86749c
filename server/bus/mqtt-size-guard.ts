/**
 * Bounds what an MQTT client can make the embedded broker buffer. aedes has no maximum packet
 * size (moscajs/aedes#831): it collects a packet of any announced length, up to 256 MB, before
 * handling it. This reads the fixed header of every packet as the bytes arrive (the remaining
 * length is in the first 2-5 bytes) and closes the connection as soon as a packet announces more
 * than allowed, having seen at most one socket chunk of it.
 *
 * Before the client is authenticated the whole stream is bounded (CONNECT plus anything pipelined
 * behind it, which aedes queues until the login is decided); afterwards each packet is.
 */
import type { Duplex } from 'node:stream';

export interface PacketSizeLimits {
  /** Bytes a client may send before its CONNECT is accepted (all packets together). */
  beforeConnectBytes: number;
  /** Largest packet (fixed header included) once connected. */
  packetBytes: number;
}

export interface PacketSizeGuard {
  /** Feeds received bytes; returns why the connection must close, or undefined. */
  feed(chunk: Uint8Array): string | undefined;
}

export function packetSizeGuard(limits: PacketSizeLimits, isAuthenticated: () => boolean): PacketSizeGuard {
  let state: 'header' | 'length' | 'body' = 'header';
  let length = 0;
  let multiplier = 1;
  let headerBytes = 0;
  let bodyLeft = 0;
  let received = 0;

  return {
    feed(chunk) {
      received += chunk.length;
      const authenticated = isAuthenticated();
      if (!authenticated && received > limits.beforeConnectBytes) return `over ${limits.beforeConnectBytes} bytes before CONNECT was accepted`;
      for (let i = 0; i < chunk.length; ) {
        if (state === 'body') {
          const skip = Math.min(bodyLeft, chunk.length - i);
          bodyLeft -= skip;
          i += skip;
          if (bodyLeft === 0) state = 'header';
          continue;
        }
        const byte = chunk[i++]!;
        if (state === 'header') {
          state = 'length';
          length = 0;
          multiplier = 1;
          headerBytes = 1;
          continue;
        }
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        headerBytes++;
        if (byte & 0x80) {
          if (headerBytes > 4) return 'malformed remaining length';
          continue;
        }
        const packet = headerBytes + length;
        if (authenticated ? packet > limits.packetBytes : packet > limits.beforeConnectBytes) {
          return `packet of ${packet} bytes announced; the limit is ${authenticated ? limits.packetBytes : limits.beforeConnectBytes} bytes${authenticated ? '' : ' before CONNECT is accepted'}`;
        }
        bodyLeft = length;
        state = length === 0 ? 'header' : 'body';
      }
      return undefined;
    },
  };
}

/**
 * Watches what aedes reads from `socket`. A 'data' listener beside aedes' 'readable' one does
 * not change the flow: Node then emits 'data' from inside each read() call, before aedes gets
 * the chunk, so the connection is destroyed before the next chunk is read.
 */
export function guardSocket(socket: Duplex, guard: PacketSizeGuard, onRefused: (reason: string) => void): void {
  socket.on('data', (chunk: Buffer) => {
    if (socket.destroyed) return;
    const refusal = guard.feed(chunk);
    if (refusal === undefined) return;
    onRefused(refusal);
    socket.destroy();
  });
}
