/**
 * What simulated devices and the FT900 bridge share: the reconnecting connection core, its thin
 * transports (MQTT, AMQP 0-9-1, AMQP 1.0), back-off with jitter, device credentials, TLS and URL
 * helpers. Depends on firmware-protocol/ only. Import from here.
 */
export { Backoff, backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.ts';
export {
  ReconnectingConnection,
  type ConnectionEvents,
  type DeviceConnection,
  type BrokerSession,
  type SessionHandlers,
  type TransportBinding,
  type TransportOptions,
} from './connection.ts';
export { failureText, refusalOf, SubscriptionRefused, UNTRUSTED_CHAIN_CODES, type Refusal, type RefusalKind } from './refusal.ts';
export { credentialFilesIn, loadCredentials, type CredentialFiles, type Credentials } from './credentials.ts';
export { checkServerNameOnLeafOnly, deviceTlsContext } from './tls.ts';
export { checkUrl, hostOf, isTlsUrl, serverName, urlHostOfListener, withHost } from './url.ts';
export { mqttTransport, type MqttTransportOptions } from './transports/mqtt.ts';
export { amqp091Transport, type Amqp091TransportOptions } from './transports/amqp091.ts';
export { amqp10Transport, type Amqp10TransportOptions } from './transports/amqp10.ts';
