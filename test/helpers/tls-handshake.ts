/** A board's view of a TLS listener: which certificate it serves, and whether it checks out for a host name. */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, type ConnectionOptions, type PeerCertificate } from 'node:tls';

export interface Handshake {
  /** The chain verified against `ca` and the certificate names `servername` (Node's own host check). */
  authorized: boolean;
  error?: string;
  certificate: X509Certificate;
  peer: PeerCertificate;
}

/** A TLS handshake with the URL's host that checks the certificate against `servername`, as a board that dialled that name would. */
export async function handshake(url: string, options: ConnectionOptions & { servername: string }): Promise<Handshake> {
  const { hostname, port } = new URL(url);
  // rejectUnauthorized is off only to read the reason: `authorized` still covers the chain and Node's host check against servername.
  const socket = connect({ host: hostname, port: Number(port), ...options, rejectUnauthorized: false });
  try {
    await once(socket, 'secureConnect');
    const peer = socket.getPeerCertificate(false);
    return {
      authorized: socket.authorized,
      ...(socket.authorizationError ? { error: String(socket.authorizationError) } : {}),
      certificate: new X509Certificate(peer.raw),
      peer,
    };
  } finally {
    socket.destroy();
  }
}

