/** The iotcloud REST API client and the saved login session. Import from here. */
export { RestClient, type RestAnswer, type RestClientOptions } from './client.ts';
export { RestAnswerError, RestError, RestTimeoutError } from './errors.ts';
export type { BulkUnregisterAnswer, DeviceRegistration, DeviceSummary } from './wire.ts';
export { maxBulkUnregister } from './wire.ts';
export { unregisterDevices } from './bulk.ts';
export { iotcloudHome, loadSession, remember, saveSession, savedToken, sessionPath, type SavedSession, type Session } from './session.ts';
