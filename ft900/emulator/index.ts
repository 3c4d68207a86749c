/** The emulated board: QEMU lm3s6965evb running the reference firmware image. Import from here. */
export { EmulatorError, identityRecord, IDENTITY_ADDRESS, qemuArgs, startEmulator, type EmulatorExit, type EmulatorOptions, type RunningEmulator } from './qemu.ts';
export { QmpClient } from './qmp.ts';
