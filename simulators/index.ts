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
export { DeviceRefusedError, runSingleDevice, type SingleDeviceOptions } from './single.ts';
