/**
 * Topic and routing-key scheme, wire-compatible with the original libpyiotcloud devices:
 *
 *   request   MQTT `<deviceId>/<command>`          AMQP routing key `<deviceId>.<command>`
 *   response  MQTT `server/<deviceId>/<command>`   AMQP routing key `server.<deviceId>.<command>`
 *
 * Both travel on RabbitMQ's `amq.topic` exchange, where MQTT `/` is AMQP `.`.
 */
import { isValidDeviceId } from './limits.ts';
import { isCommandName, type CommandName } from './command-names.ts';
import { fail, ok, protocolError, type Result } from './errors.ts';

export type Transport = 'mqtt' | 'amqp';

export const RESPONSE_PREFIX = 'server';
export const AMQP_EXCHANGE = 'amq.topic';

const separatorOf = (transport: Transport): string => (transport === 'mqtt' ? '/' : '.');

export function requestTopic(deviceId: string, command: string, transport: Transport = 'mqtt'): string {
  return `${deviceId}${separatorOf(transport)}${command}`;
}

export function responseTopic(deviceId: string, command: string, transport: Transport = 'mqtt'): string {
  const sep = separatorOf(transport);
  return `${RESPONSE_PREFIX}${sep}${deviceId}${sep}${command}`;
}

/** What a device subscribes to: every request addressed to it. */
export function deviceSubscription(deviceId: string, transport: Transport = 'mqtt'): string {
  return `${deviceId}${separatorOf(transport)}#`;
}

/** What a server subscribes to: every response from every device (MQTT `+`, AMQP `*`: one word). */
export function serverSubscription(transport: Transport = 'mqtt'): string {
  return transport === 'mqtt' ? `${RESPONSE_PREFIX}/+/+` : `${RESPONSE_PREFIX}.*.*`;
}

/**
 * The queue an AMQP 0-9-1 device consumes. It is the queue RabbitMQ's MQTT plugin makes for a
 * QoS 1 subscriber with this client id, so AMQP and MQTT devices receive the same requests.
 */
export function amqpDeviceQueue(deviceId: string): string {
  return `mqtt-subscription-${deviceId}qos1`;
}

/** The device whose queue this is (see amqpDeviceQueue), or undefined for any other queue name. */
export function deviceOfAmqpQueue(queue: string): string | undefined {
  const match = /^mqtt-subscription-(.+)qos1$/.exec(queue);
  return match && isValidDeviceId(match[1]!) ? match[1] : undefined;
}

export interface TopicAddress {
  deviceId: string;
  command: string;
}

/** Parse `<deviceId>/<command>`. The command may be unknown; that is the codec's concern. */
export function parseRequestTopic(topic: string, transport: Transport = 'mqtt'): Result<TopicAddress> {
  const parts = topic.split(separatorOf(transport));
  if (parts.length !== 2) {
    return fail(protocolError('INVALID_TOPIC', `request topic must be <deviceId>${separatorOf(transport)}<command>, got ${quote(topic)}`));
  }
  return checkAddress(parts[0]!, parts[1]!);
}

/** Parse `server/<deviceId>/<command>`. */
export function parseResponseTopic(topic: string, transport: Transport = 'mqtt'): Result<TopicAddress> {
  const sep = separatorOf(transport);
  const parts = topic.split(sep);
  if (parts.length !== 3 || parts[0] !== RESPONSE_PREFIX) {
    return fail(protocolError('INVALID_TOPIC', `response topic must be ${RESPONSE_PREFIX}${sep}<deviceId>${sep}<command>, got ${quote(topic)}`));
  }
  return checkAddress(parts[1]!, parts[2]!);
}

function checkAddress(deviceId: string, command: string): Result<TopicAddress> {
  if (!isValidDeviceId(deviceId)) {
    return fail(protocolError('INVALID_TOPIC', `device id ${quote(deviceId)} is not valid: use 1-64 letters, digits, '_' or '-', starting with a letter or digit`));
  }
  return ok({ deviceId, command });
}

export function isKnownCommand(address: TopicAddress): address is { deviceId: string; command: CommandName } {
  return isCommandName(address.command);
}

/** Quote a hostile string for an error message: bounded length, control characters escaped. */
export function quote(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}
