/** Input checks at the module boundary: every message names the rule that was broken. */
import { isIPv4, isIPv6 } from 'node:net';
import { deviceIdPattern, isValidDeviceId, limits } from '../firmware-protocol/index.ts';

const maxValidDays = 3650;
const dnsNameRegex = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Quotes untrusted input for an error message, bounded so a huge input cannot flood logs. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function assertDeviceId(deviceId: unknown): asserts deviceId is string {
  if (!isValidDeviceId(deviceId)) {
    throw new Error(
      `invalid device id ${quote(deviceId)}: a device id is 1 to ${limits.maxDeviceIdLength} characters, ` +
        `letters, digits, '_' and '-', starting with a letter or digit (${deviceIdPattern})`,
    );
  }
}

const serviceNamePattern = /^_[a-z0-9][a-z0-9-]{0,62}$/;

/** Service identities live in their own namespace: a leading `_` is never valid in a device id. */
export function assertServiceName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !serviceNamePattern.test(name)) {
    throw new Error(`invalid service name ${quote(name)}: use _ then lower-case letters, digits and '-' (${serviceNamePattern.source})`);
  }
}

export type HostKind = 'dns' | 'ip';
export interface Host {
  kind: HostKind;
  /** Canonical form: DNS names lowercased, IPv6 compressed per RFC 5952. */
  value: string;
}

/** Canonical form of one host, so equal host lists compare equal whatever their spelling. */
export function canonicalHost(host: string): Host {
  if (isIPv4(host)) return { kind: 'ip', value: host };
  // The WHATWG URL parser serialises IPv6 canonically; zone ids have no meaning in a certificate.
  if (isIPv6(host) && !host.includes('%')) return { kind: 'ip', value: new URL(`http://[${host}]`).hostname.slice(1, -1) };
  const name = host.toLowerCase();
  if (name.length <= 253 && dnsNameRegex.test(name)) return { kind: 'dns', value: name };
  throw new Error(
    `invalid host ${quote(host)}: a host is an IPv4 or IPv6 address (no zone id) or a DNS name of ` +
      `letters, digits, '-' and '_' labels up to 63 characters, optionally starting with '*.'`,
  );
}

/** Canonical hosts in their given order (the first one becomes the CN), without duplicates. */
export function canonicalHosts(hosts: readonly string[]): Host[] {
  if (!Array.isArray(hosts) || hosts.length === 0) throw new Error('a server certificate needs at least one host');
  const seen = new Map<string, Host>();
  for (const host of hosts) {
    const canonical = canonicalHost(host);
    seen.set(`${canonical.kind}:${canonical.value}`, canonical);
  }
  return [...seen.values()];
}

export function assertValidDays(validDays: number): void {
  if (!Number.isInteger(validDays) || validDays < 1 || validDays > maxValidDays) {
    throw new Error(`invalid validDays ${quote(validDays)}: it must be a whole number of days from 1 to ${maxValidDays}`);
  }
}
