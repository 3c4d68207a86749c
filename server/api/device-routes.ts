import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Accounts } from '../accounts.ts';
import type { DeviceRegistry } from '../devices.ts';
import type { DeviceBus } from '../bus/device-bus.ts';
import type { Device } from '../registry/index.ts';
import type { KeyAlgorithm } from '../../certs/index.ts';
import { requireUser } from './auth-routes.ts';
import { deviceView } from './device-view.ts';
import type { AddressRateLimit } from './address-rate-limit.ts';
import { BulkUnregister, BulkUnregisterAnswer, DeviceId, DeviceView, ErrorAnswer, RegisterDevice, Registration } from './schemas.ts';

export interface DeviceRouteDeps {
  accounts: Accounts;
  devices: DeviceRegistry;
  bus: DeviceBus;
  rootCaPem: string;
  /** Where registrations tell devices to connect (AppOptions.deviceUrl). */
  deviceUrl: string;
  rsaRegistrations: AddressRateLimit;
}

export function registerDeviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  const { accounts, devices, bus } = deps;
  const view = (device: Device) => deviceView(device, bus.isConnected(device.id));
  const params = Type.Object({ deviceId: DeviceId });

  app.post<{ Body: { name: string; deviceId?: string; keyAlgorithm?: KeyAlgorithm } }>(
    '/api/v1/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Register a device: returns its id, the root CA, its certificate and its private key (shown once)',
        body: RegisterDevice,
        response: { 201: Registration, 409: ErrorAnswer, 429: ErrorAnswer, 503: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const ownerId = await requireUser(request, accounts);
      if (request.body.keyAlgorithm === 'rsa-2048') deps.rsaRegistrations.take(request.ip);
      const registration = await devices.register(ownerId, request.body);
      return reply.code(201).send({
        deviceId: registration.device.id,
        name: registration.device.name,
        fingerprint: registration.device.certFingerprint,
        rootCa: deps.rootCaPem,
        certificate: registration.certificatePem,
        privateKey: registration.privateKeyPem,
        mqttUrl: deps.deviceUrl,
      });
    },
  );

  app.get('/api/v1/devices', { schema: { tags: ['devices'], summary: 'Your devices', response: { 200: Type.Object({ devices: Type.Array(DeviceView) }) } } }, async (request) => {
    const ownerId = await requireUser(request, accounts);
    return { devices: (await devices.list(ownerId)).map(view) };
  });

  app.get<{ Params: { deviceId: string } }>(
    '/api/v1/devices/:deviceId',
    { schema: { tags: ['devices'], summary: 'One of your devices', params, response: { 200: DeviceView, 403: ErrorAnswer, 404: ErrorAnswer } } },
    async (request) => {
      const ownerId = await requireUser(request, accounts);
      return view(await devices.requireOwned(ownerId, request.params.deviceId));
    },
  );

  app.post<{ Body: { deviceIds: string[] } }>(
    '/api/v1/devices/unregister',
    {
      schema: {
        tags: ['devices'],
        summary: 'Unregister many of your devices at once (a fleet clean-up): all or none when one is another user\'s (403)',
        body: BulkUnregister,
        response: { 200: BulkUnregisterAnswer, 403: ErrorAnswer },
      },
    },
    async (request) => {
      const ownerId = await requireUser(request, accounts);
      return devices.unregisterMany(ownerId, request.body.deviceIds);
    },
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/api/v1/devices/:deviceId',
    { schema: { tags: ['devices'], summary: 'Unregister a device: it is disconnected and its certificate refused from now on', params } },
    async (request, reply) => {
      const ownerId = await requireUser(request, accounts);
      await devices.unregister(ownerId, request.params.deviceId);
      return reply.code(204).send();
    },
  );
}
