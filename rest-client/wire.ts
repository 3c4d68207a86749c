/**
 * The API's device shapes on the wire, as the server sends them: the one declaration the REST
 * client, the server's views and the web console share (types only, so the browser bundle can use them).
 */
export interface DeviceRegistration {
  deviceId: string;
  name: string;
  fingerprint: string;
  rootCa: string;
  certificate: string;
  privateKey: string;
  mqttUrl: string;
}

export interface DeviceSummary {
  deviceId: string;
  name: string;
  fingerprint: string;
  createdAt: string;
  lastSeenAt: string | null;
  online: boolean;
}

/** Ids per POST /api/v1/devices/unregister: 200 of the longest ids (64 characters) stay under the API's 16 KB body limit. */
export const maxBulkUnregister = 200;

/** POST /api/v1/devices/unregister: what was unregistered, and the ids there was nothing to do for. */
export interface BulkUnregisterAnswer {
  unregistered: string[];
  notFound: string[];
}
