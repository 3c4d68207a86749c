/** Open a target from a plain description (what the CLI flags produce). */
import { openMqttTarget, type MqttTargetOptions } from './mqtt-target.ts';
import { openRestTarget, type RestTargetOptions } from './rest-target.ts';
import type { DeviceTarget } from './types.ts';

export type TargetSpec = ({ kind: 'mqtt'; deviceId: string } & MqttTargetOptions) | ({ kind: 'rest' } & RestTargetOptions);

export async function openTarget(spec: TargetSpec): Promise<DeviceTarget> {
  return spec.kind === 'mqtt' ? openMqttTarget(spec) : openRestTarget(spec);
}

export * from './types.ts';
export { MqttConnection, MqttTarget, openMqttTarget, openMqttTargets, peekCid, type MqttTargetOptions } from './mqtt-target.ts';
export { RestTarget, openRestTarget, type RestTargetOptions } from './rest-target.ts';
export type { PemSource } from './pem.ts';
