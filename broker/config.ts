/**
 * The files a project-owned RabbitMQ node reads, generated from the start options: rabbitmq.conf
 * (from rabbitmq.conf.template), advanced.config (what rabbitmq.conf cannot say), the plugin list
 * and an environment file that replaces the machine's /etc/rabbitmq/rabbitmq-env.conf.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { hostOf, isTlsUrl } from '../device-link/index.ts';
import { limits } from '../firmware-protocol/index.ts';

/** Largest message body the node accepts: twice the protocol's largest payload (see the template). */
export const brokerMaxMessageBytes = 2 * limits.maxPayloadBytes;
/** How long an MQTT connection may take to complete CONNECT, ms. */
export const mqttLoginTimeoutMs = 5000;

/** The plugins the iotcloud node runs, and why. */
export const brokerPlugins = [
  'rabbitmq_mqtt', // MQTT devices
  'rabbitmq_amqp1_0', // AMQP 1.0 devices
  'rabbitmq_auth_backend_http', // the iotcloud server decides who is a device
  'rabbitmq_auth_backend_cache', // ...and one answer serves every check of a connect
  'rabbitmq_auth_mechanism_ssl', // AMQP EXTERNAL: the certificate is the login
  'rabbitmq_event_exchange', // connection.created / connection.closed: device presence
] as const;

export interface RenderedConfigInput {
  amqpsPort: number;
  mqttsPort: number;
  /** Plain MQTT on loopback for debugging; undefined leaves it off. */
  mqttPort: number | undefined;
  /** Where the device listeners (AMQPS, MQTTS) bind. */
  deviceHost: string;
  /** CAs the device listeners accept client certificates from (the device CA). */
  clientCaFile: string;
  certFile: string;
  keyFile: string;
  serviceUser: string;
  servicePassword: string;
  /** Base URL of the server's broker-auth endpoints, e.g. https://127.0.0.1:8443/api/v1/broker-auth. */
  authUrl: string;
  authCacheTtlMs: number;
  logLevel: string;
}

const templatePath = fileURLToPath(new URL('./rabbitmq.conf.template', import.meta.url));

/** rabbitmq.conf from the template; every `{{name}}` must have a value. */
export async function renderRabbitmqConf(input: RenderedConfigInput): Promise<string> {
  for (const [name, value] of Object.entries(input)) {
    // A newline or '#' in a value would smuggle a setting into the file (or cut one short).
    if (typeof value === 'string' && /[\r\n#]/.test(value)) throw new Error(`broker setting ${name} must not contain a newline or '#'`);
  }
  const values: Record<string, string> = {
    ...Object.fromEntries(Object.entries(input).map(([key, value]) => [key, String(value)])),
    deviceHost: listenerHost(input.deviceHost),
    maxMessageBytes: String(brokerMaxMessageBytes),
    mqttLoginTimeoutMs: String(mqttLoginTimeoutMs),
    mqttTcpListener: input.mqttPort === undefined ? 'mqtt.listeners.tcp = none' : `mqtt.listeners.tcp.1 = 127.0.0.1:${input.mqttPort}`,
  };
  const template = await readFile(templatePath, 'utf8');
  return template.replaceAll(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`rabbitmq.conf.template uses {{${name}}}, which has no value`);
    return value;
  });
}

/** IPv6 listener addresses are bracketed in rabbitmq.conf (`[::1]:5671`). */
function listenerHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * advanced.config: the HTTP backend's TLS options have no rabbitmq.conf keys in 3.10. When the
 * server's API is HTTPS (its default), the node checks the server certificate against the
 * platform root.
 */
export function renderAdvancedConfig(options: { authUrl: string; rootCaFile: string }): string {
  if (!isTlsUrl(options.authUrl)) return '[].\n';
  const host = hostOf(new URL(options.authUrl));
  const ssl = [
    `{cacertfile, ${erlangString(options.rootCaFile)}}`,
    '{verify, verify_peer}',
    '{depth, 1}',
    // Erlang 25 checks the host name only against the SNI name, and an IP address cannot be one
    // (the check fails even when the certificate lists the IP). For an IP URL the chain to the
    // platform CA and the serverAuth key usage are still verified; such a URL is loopback anyway.
    isIP(host) === 0 ? `{server_name_indication, ${erlangString(host)}}` : '{server_name_indication, disable}',
  ];
  return `[{rabbitmq_auth_backend_http, [{ssl_options, [\n  ${ssl.join(',\n  ')}\n]}]}].\n`;
}

export function renderEnabledPlugins(): string {
  return `[${brokerPlugins.join(',')}].\n`;
}

function erlangString(text: string): string {
  return JSON.stringify(text); // a JSON string of printable ASCII is a valid Erlang string
}
