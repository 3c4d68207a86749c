/**
 * A device under test for the `--spawn` tests: a simulated device that connects where the harness
 * says (IOTCLOUD_MQTT_URL, IOTCLOUD_DEVICE_ID) and runs until SIGTERM, like a host build of firmware.
 */
import { startDevice } from '../../simulators/index.ts';

const url = process.env.IOTCLOUD_MQTT_URL;
const deviceId = process.env.IOTCLOUD_DEVICE_ID;
if (!url || !deviceId) {
  console.error('spawned-device: IOTCLOUD_MQTT_URL and IOTCLOUD_DEVICE_ID must be set');
  process.exit(2);
}
const device = await startDevice({ transport: 'mqtt', url, deviceId, allowPlaintext: true });
console.log(`spawned-device: ${deviceId} connected to ${url}`);
process.once('SIGTERM', () => {
  void device.stop().then(() => process.exit(0));
});
