/** The iotcloud REST API client and the saved login session. Import from here. */
export { RestAnswerError, RestClient, RestError, RestTimeoutError, type DeviceRegistration, type DeviceSummary, type RestAnswer, type RestClientOptions } from './client.ts';
export { iotcloudHome, loadSession, remember, saveSession, savedToken, sessionPath, type SavedSession, type Session } from './session.ts';
