/**
 * Hard limits of the device protocol. They are sized for an FT900 (256 KB flash, 64 KB RAM):
 * every buffer a firmware needs can be allocated statically from these numbers.
 */
export const limits = {
  /** Largest MQTT/AMQP payload either side may send, in bytes. Larger ones are rejected unread. */
  maxPayloadBytes: 4096,
  /** Device ids are one topic level: letters, digits, `_` and `-`, starting with a letter or digit. */
  maxDeviceIdLength: 64,
  /** Correlation ids are chosen by the server; devices echo them unchanged. */
  maxCorrelationIdLength: 32,
  /** FT900 GPIO pins are numbered 0..66. */
  gpioMin: 0,
  gpioMax: 66,
  /** Largest `write_uart` data, in UTF-8 bytes. */
  uartMaxBytes: 256,
  /** RTC value: seconds since 1970-01-01T00:00:00Z in an unsigned 32-bit counter. */
  rtcMax: 4_294_967_295,
  /** Longest error message a device should send (longer ones are accepted but truncated in logs). */
  maxErrorMessageLength: 128,
} as const;

export const deviceIdPattern = `^[A-Za-z0-9][A-Za-z0-9_-]{0,${limits.maxDeviceIdLength - 1}}$`;
export const correlationIdPattern = `^[A-Za-z0-9_-]{1,${limits.maxCorrelationIdLength}}$`;

const deviceIdRegex = new RegExp(deviceIdPattern);

/** True when `id` is safe as one MQTT topic level and one AMQP routing-key word. */
export function isValidDeviceId(id: unknown): id is string {
  return typeof id === 'string' && deviceIdRegex.test(id);
}
