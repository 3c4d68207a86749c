/** URL facts every connecting part needs, answered in one place. */
import { isIP } from 'node:net';
import type { TransportOptions } from './connection.ts';

const tlsSchemes = new Set(['mqtts:', 'amqps:', 'https:', 'wss:']);

/** Whether the URL's scheme is a TLS one (`mqtts`, `amqps`, `https`, `wss`). */
export function isTlsUrl(url: string | URL): boolean {
  if (typeof url === 'string') {
    const colon = url.indexOf(':');
    return colon > 0 && tlsSchemes.has(url.slice(0, colon + 1).toLowerCase());
  }
  return tlsSchemes.has(url.protocol);
}

/** The host to connect to: an IPv6 literal without the brackets URLs put around it. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** The URL with its host replaced (an IPv6 literal gets its brackets): where a board on another machine connects. */
export function withHost(url: string, host: string): string {
  const parsed = new URL(url);
  parsed.hostname = isIP(host) === 6 ? `[${host}]` : host;
  return parsed.toString();
}

/**
 * A listener's address as a URL host this machine can connect to: a wildcard (0.0.0.0, ::)
 * listens everywhere but is no address to connect to, nor a name in the server certificate, so
 * it becomes loopback; an IPv6 literal gets its brackets.
 */
export function urlHostOfListener(listenHost: string): string {
  const host = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '::' ? '::1' : listenHost;
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** SNI for a TLS connection: a host name only (RFC 6066 forbids IP addresses there). */
export function serverName(url: URL): { servername?: string } {
  const host = hostOf(url);
  return isIP(host) === 0 ? { servername: host } : {};
}

/**
 * Check the URL scheme against the credentials: TLS schemes need the device's credentials, and
 * plain-text ones must be asked for. Returns the parsed URL and whether it is TLS.
 */
export function checkUrl(options: TransportOptions, schemes: { tls: string; plain: string }): { url: URL; tls: boolean } {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new Error(`invalid broker URL ${JSON.stringify(options.url)}`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme === schemes.tls) {
    if (!options.credentials) throw new Error(`${scheme}:// needs the device credentials (caPem, certPem, keyPem)`);
    return { url, tls: true };
  }
  if (scheme === schemes.plain) {
    if (!options.allowPlaintext) throw new Error(`${scheme}:// is not encrypted; pass allowPlaintext: true to use it (tests only), or use ${schemes.tls}://`);
    return { url, tls: false };
  }
  throw new Error(`unsupported URL scheme ${scheme}:// for this transport; use ${schemes.tls}:// (or ${schemes.plain}:// with allowPlaintext)`);
}
