/** A device as the API and the console's live channel show it. */
import type { DeviceSummary } from '../../rest-client/index.ts';
import type { Device } from '../registry/index.ts';

/** The wire shape is declared once, with the REST client that reads it. */
export type DeviceViewBody = DeviceSummary;

export function deviceView(device: Device, online: boolean): DeviceViewBody {
  return {
    deviceId: device.id,
    name: device.name,
    fingerprint: device.certFingerprint,
    createdAt: device.createdAt.toISOString(),
    lastSeenAt: device.lastSeenAt?.toISOString() ?? null,
    online,
  };
}
