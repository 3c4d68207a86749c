/** A device as the API and the console's live channel show it. */
import type { Device } from '../registry/index.ts';

export interface DeviceViewBody {
  deviceId: string;
  name: string;
  fingerprint: string;
  createdAt: string;
  lastSeenAt: string | null;
  online: boolean;
}

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
