/** The FT900 serial bridge: a board on a serial line, connected to the broker as its device. Import from here. */
export {
  Bridge,
  startBridge,
  type BridgeCounters,
  type BridgeEvents,
  type BridgeOptions,
  type BridgeState,
  type LineError,
} from './bridge.ts';
export { BridgeConfigError, DEFAULT_BAUD, checkBaudRate, checkDeviceId, checkPortPath, standardBaudRates, wireTimeMs, type BridgeTimings } from './config.ts';
export {
  crc16,
  encodeFrame,
  FrameDecoder,
  FrameTooLongError,
  FrameType,
  MAX_ENCODED,
  MAX_PAYLOAD,
  messagePayload,
  splitMessage,
  type DecodeEvent,
  type DecoderStats,
} from './frame.ts';
export { SerialLink, type SerialLinkEvents, type SerialLinkOptions } from './serial.ts';
export { runBridge, type RunBridgeOptions } from './run.ts';
