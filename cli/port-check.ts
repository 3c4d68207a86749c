/**
 * Ports a server is about to listen on, checked before anything is created: a port in use must
 * fail in a moment, naming the flag, not after a data folder, a CA and a registry were set up.
 */
import { createServer } from 'node:net';

export interface PortClaim {
  /** The flag that chose the port, for the advice. */
  flag: string;
  host: string;
  port: number;
}

export class PortInUseError extends Error {}

export async function ensurePortsFree(claims: PortClaim[]): Promise<void> {
  for (const claim of claims) {
    if (claim.port === 0) continue; // any free port: nothing to collide with
    const problem = await tryListen(claim.host, claim.port);
    if (problem === undefined) continue;
    throw new PortInUseError(describe(claim, problem));
  }
}

function describe(claim: PortClaim, code: string): string {
  const where = `${claim.host.includes(':') ? `[${claim.host}]` : claim.host}:${claim.port}`;
  if (code === 'EADDRINUSE') {
    return `port ${claim.port} (${claim.flag}) is already in use on ${where}: another \`iotcloud up\`, \`npm start\` or another program listens there.\n  next: stop it, or choose another port with ${claim.flag} <port> (${claim.flag} 0 picks a free one)`;
  }
  if (code === 'EACCES') return `not allowed to listen on ${where} (${claim.flag} ${claim.port}: ports below 1024 need privileges).\n  next: choose a port of 1024 or more with ${claim.flag} <port>`;
  if (code === 'EADDRNOTAVAIL') return `${claim.host} is not an address of this machine (--host).\n  next: use one of its addresses, or 0.0.0.0 for all of them`;
  return `cannot listen on ${where} (${claim.flag}): ${code}.\n  next: choose another port with ${claim.flag} <port>, or another address with --host`;
}

/** undefined when the port can be listened on; else the error code. */
function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}
