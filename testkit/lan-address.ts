/** This machine's first IPv4 address that is not loopback: what a board on the LAN would use. */
import { networkInterfaces } from 'node:os';

export function lanAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address to play a LAN address');
}
