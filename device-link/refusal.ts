/**
 * Whether a failed connection attempt can heal by retrying. A broker that refuses the device's
 * identity (not registered, unregistered, certificate revoked or from another CA) or whose own
 * certificate the device does not trust answers the same way on every attempt, so a single
 * device should stop and say so (as the C ft900-host does, exit status 3); everything else
 * (connection refused, timeouts, a broker restarting) is worth another try with back-off.
 *
 * Each engine says "no" its own way: MQTT CONNACK codes (aedes and RabbitMQ's MQTT plugin), an
 * AMQP 0-9-1 `403 (ACCESS-REFUSED)`, an AMQP 1.0 `amqp:unauthorized-access`, a TLS alert about
 * the client certificate (TLS 1.3 sends it after the client's handshake, so it arrives as a
 * socket error), or our own check of the broker's certificate.
 */

export type RefusalKind =
  /** The broker refused this device's identity: unknown, unregistered, revoked, wrong id. */
  | 'identity'
  /** The device does not trust the broker's certificate: another server's CA, or a wrong host name. */
  | 'untrusted-broker';

export interface Refusal {
  kind: RefusalKind;
  /** What the broker (or the TLS layer) said, short, for one log line. */
  detail: string;
}

/** MQTT 3.1.1 CONNACK codes that no retry will change (3, "server unavailable", may heal). */
const MQTT_IDENTITY_CODES = new Map<number, string>([
  [1, 'unacceptable protocol version'],
  [2, 'client id rejected'],
  [4, 'bad user name or password'],
  [5, 'not authorized'],
]);

/** TLS alerts the broker sends about the client certificate (OpenSSL's codes, as Node names them). */
const CLIENT_CERTIFICATE_ALERT = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_\w+|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;

/** Node's codes when a peer's certificate chain does not lead to a CA this side trusts (another server's CA, or none given). */
export const UNTRUSTED_CHAIN_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** Node's codes when the broker's certificate chain or name does not check out. */
const UNTRUSTED_BROKER_CODES = new Set([
  ...UNTRUSTED_CHAIN_CODES,
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The refusal in a failed attempt, or undefined when the failure may be transient. */
export function refusalOf(error: unknown): Refusal | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, condition } = error as { code?: unknown; condition?: unknown };
  if (error.name === 'ErrorWithReasonCode' && typeof code === 'number') {
    const meaning = MQTT_IDENTITY_CODES.get(code);
    return meaning ? { kind: 'identity', detail: `MQTT CONNACK ${code}, ${meaning}` } : undefined;
  }
  if (error instanceof SubscriptionRefused) return { kind: 'identity', detail: error.message };
  if (typeof code === 'string') {
    const alert = CLIENT_CERTIFICATE_ALERT.exec(code);
    if (alert) return { kind: 'identity', detail: `TLS alert ${alert[1]!.toLowerCase().replaceAll('_', ' ')} about the device certificate` };
    if (UNTRUSTED_BROKER_CODES.has(code)) return { kind: 'untrusted-broker', detail: `${code}: ${error.message}` };
  }
  if (condition === 'amqp:unauthorized-access' || /amqp:unauthorized-access/.test(error.message)) return { kind: 'identity', detail: `AMQP 1.0 amqp:unauthorized-access` };
  if (/\b403 \(ACCESS-REFUSED\)/.test(error.message)) return { kind: 'identity', detail: 'AMQP 403 ACCESS_REFUSED' };
  return undefined;
}

/** The broker answered a subscription to the device's own topics with a refusal (MQTT SUBACK 0x80). */
export class SubscriptionRefused extends Error {
  override readonly name = 'SubscriptionRefused';
}

/** A failure's reason in one short line: its message, never its stack. */
export function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
