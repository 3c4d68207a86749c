/** Request and response schemas of the REST API (JSON Schema via TypeBox; also the OpenAPI spec). */
import { Type } from '@sinclair/typebox';
import { deviceIdPattern } from '../../firmware-protocol/index.ts';
import { maxBulkUnregister } from '../../rest-client/index.ts';

export const Credentials = Type.Object(
  {
    username: Type.String({ pattern: '^[A-Za-z0-9_.@-]{3,64}$', description: '3-64 letters, digits, _ . @ -' }),
    password: Type.String({ minLength: 8, maxLength: 1024, description: 'at least 8 characters' }),
  },
  { additionalProperties: false },
);

/** Login checks a password, it does not judge one: any length up to the cap, so a wrong one is a 401. */
export const LoginCredentials = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const LoginAnswer = Type.Object({
  token: Type.String({ description: 'send as `Authorization: Bearer <token>`' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const DeviceId = Type.String({ pattern: deviceIdPattern, description: 'device id (one topic level)' });

export const RegisterDevice = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'your name for the device, unique among your devices' }),
    deviceId: Type.Optional(Type.String({ pattern: deviceIdPattern, description: 'choose the id (e.g. the one compiled into firmware); generated when left out' })),
    keyAlgorithm: Type.Optional(Type.Union([Type.Literal('ecdsa-p256'), Type.Literal('rsa-2048')], { description: 'device key type; rsa-2048 for legacy firmware' })),
  },
  { additionalProperties: false },
);

export const DeviceView = Type.Object({
  deviceId: Type.String(),
  name: Type.String(),
  fingerprint: Type.String({ description: 'SHA-256 of the device certificate, hex' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  online: Type.Boolean(),
});

export const Registration = Type.Object({
  deviceId: Type.String(),
  name: Type.String(),
  fingerprint: Type.String(),
  rootCa: Type.String({ description: 'PEM of the platform root CA' }),
  certificate: Type.String({ description: 'PEM of the device certificate (CN = deviceId)' }),
  privateKey: Type.String({ description: 'PEM of the device private key: shown once, not stored' }),
  mqttUrl: Type.String({ description: 'where the device connects' }),
});

export const BulkUnregister = Type.Object(
  {
    deviceIds: Type.Array(DeviceId, { minItems: 1, maxItems: maxBulkUnregister, description: `your devices to unregister, at most ${maxBulkUnregister} per request` }),
  },
  { additionalProperties: false },
);

export const BulkUnregisterAnswer = Type.Object({
  unregistered: Type.Array(Type.String(), { description: 'devices unregistered now: disconnected, their certificates refused from now on' }),
  notFound: Type.Array(Type.String(), { description: 'ids that are unknown or were already unregistered (nothing to do)' }),
});

export const ErrorAnswer = Type.Object({
  error: Type.Object({
    name: Type.String(),
    message: Type.String(),
    code: Type.Optional(Type.Integer()),
    field: Type.Optional(Type.String()),
    answer: Type.Optional(Type.String({ description: 'INVALID_ANSWER: what the device sent (cut to 512 characters)' })),
  }),
  source: Type.Union([Type.Literal('server'), Type.Literal('device')]),
});

export const CommandQuery = Type.Object(
  {
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000, description: 'how long to wait for the device' })),
    wait: Type.Optional(Type.Boolean({ description: 'send even when the server sees the device offline, and wait up to timeoutMs for the answer (default: a device offline for a while is refused at once with 409 DEVICE_OFFLINE)' })),
  },
  { additionalProperties: false },
);

export const CommandAnswer = Type.Object({
  deviceId: Type.String(),
  command: Type.String(),
  result: Type.Record(Type.String(), Type.Unknown()),
  elapsedMs: Type.Number({ description: 'server -> device -> server time' }),
});
