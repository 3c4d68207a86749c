/**
 * A device that answers, but wrongly: get_mac gets `{"value":""}` (valid JSON, not a MAC), the
 * way a board with an uninitialised interface might answer. No correlation id is echoed, as an
 * original libpyiotcloud device would not echo one.
 */
import type { MqttClient } from 'mqtt';
import type { DeviceRegistration } from '../../rest-client/index.ts';
import { connectAsDevice } from './server.ts';

export const WRONG_MAC_ANSWER = '{"value":""}';

export async function startWrongDevice(url: string, registration: Pick<DeviceRegistration, 'deviceId' | 'rootCa' | 'certificate' | 'privateKey'>): Promise<MqttClient> {
  const client = await connectAsDevice(url, registration);
  const id = registration.deviceId;
  client.on('message', (topic) => {
    if (topic === `${id}/get_mac`) client.publish(`server/${id}/get_mac`, WRONG_MAC_ANSWER, { qos: 1 });
  });
  await client.subscribeAsync(`${id}/#`, { qos: 1 });
  return client;
}

/** The REST answer to get_mac with a deadline far beyond the test's own timeout: only an immediate answer passes. */
export const FAR_DEADLINE_MS = 60_000;
