/** The iotcloud REST API client and the saved login session. Import from here. */
export { RestAnswerError, RestClient, RestError, RestTimeoutError, type RestAnswer, type RestClientOptions } from './client.ts';
export type { DeviceRegistration, DeviceSummary } from './wire.ts';
export { iotcloudHome, loadSession, remember, saveSession, savedToken, sessionPath, type SavedSession, type Session } from './session.ts';
