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
