/** File names inside a CA directory (brokers such as mosquitto or RabbitMQ can point at them). */
export const certificateFiles = {
  /** The root: signs server certificates; what devices and API clients trust. */
  rootCert: 'ca.crt',
  rootKey: 'ca.key',
  /** The device CA: signs device and service client certificates; what listeners trust for them. */
  deviceCaCert: 'device-ca.crt',
  deviceCaKey: 'device-ca.key',
  /** Present when devices were registered before the device CA existed: their certificates come from the root. */
  rootIssuedDevices: 'root-issued-devices',
  serverCert: 'server.crt',
  serverKey: 'server.key',
} as const;
