/** The device side of mutual TLS: one SecureContext per identity, and a cheaper host-name check. */
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { Credentials } from './credentials.ts';

const tlsContexts = new WeakMap<Credentials, SecureContext>();

/**
 * The device's TLS identity (trusted CA, certificate, key) as one SecureContext, built on first
 * use and shared by every connection the device makes. Building one costs about 1 ms of CPU
 * (PEM parsing, key checks) and ~20 KB; per reconnection, on a fleet of thousands, that adds up.
 * A fleet calls this ahead of its ramp so the ramp spends its CPU on handshakes. The certificate
 * is the leaf alone, not an explicit chain: that would save ~30 us per handshake
 * but costs ~8 KB a device, a second parsed copy of the root in every context.
 */
export function deviceTlsContext(credentials: Credentials): SecureContext {
  let context = tlsContexts.get(credentials);
  if (!context) {
    context = createSecureContext({ ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem });
    tlsContexts.set(credentials, context);
  }
  return context;
}

/**
 * Node's TLS client fetches the server certificate *with its issuer chain* once per handshake,
 * only to check the host name — which needs the leaf alone. OpenSSL has verified the chain
 * already (rejectUnauthorized). Building the chain costs ~0.3 ms of a ~2 ms connect; this makes
 * that one call return the leaf. Call it right after tls.connect, before the handshake can finish.
 */
export function checkServerNameOnLeafOnly(socket: TLSSocket): void {
  const original = socket.getPeerCertificate;
  socket.getPeerCertificate = function leafOnly(this: TLSSocket) {
    return original.call(this, false);
  } as TLSSocket['getPeerCertificate'];
  socket.once('secureConnect', () => {
    socket.getPeerCertificate = original; // later callers get what they ask for
  });
}
