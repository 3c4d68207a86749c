/** Simulated devices: a stateful board over MQTT, AMQP 0-9-1 or AMQP 1.0. Import from here. */
export { Board, type BoardAnswer, type BoardCounters, type BoardEvents, type BoardOptions, type BoardStatus, type NetworkConfig } from './board.ts';
export {
  Behaviour,
  composeProfiles,
  formatProfile,
  malformedKinds,
  parseProfile,
  ProfileError,
  profileSyntax,
  type AnswerPlan,
  type DelaySpec,
  type MalformedKind,
  type Profile,
} from './profiles.ts';
export {
  SimulatedDevice,
  startDevice,
  transportNames,
  type DeviceCounters,
  type DeviceEvents,
  type DeviceLogger,
  type DeviceOptions,
  type SentAnswer,
  type TransportName,
} from './device.ts';
export { credentialFilesIn, loadCredentials, runSingleDevice, untilStopped, type CredentialFiles, type SingleDeviceOptions } from './cli.ts';
export { currentAllocator, type Allocator } from './fleet/allocator.ts';
export {
  Backoff,
  ReconnectingConnection,
  type BackoffOptions,
  type ConnectionEvents,
  type Credentials,
  type DeviceConnection,
  type Session,
  type SessionHandlers,
  type TransportBinding,
  type TransportOptions,
} from './transports/connection.ts';
export { mqttTransport, type MqttTransportOptions } from './transports/mqtt.ts';
export { amqp091Transport, type Amqp091TransportOptions } from './transports/amqp091.ts';
export { amqp10Transport, type Amqp10TransportOptions } from './transports/amqp10.ts';
