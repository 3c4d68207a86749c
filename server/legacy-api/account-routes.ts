/** The original API's accounts and registry: /signup, /login, /get_device_list, /register_device, /unregister_device. */
import type { FastifyInstance } from 'fastify';
import { LEGACY_METHODS, LEGACY_TAG, type LegacyApiOptions } from './options.ts';
import { LegacyRefusal, refuse } from './answers.ts';
import { bodyOf, checkCredentials, checkDeviceName, text, type Body } from './params.ts';

/** The user id behind `username` + `secret`, or a refusal that says to log in again. */
export async function requireLegacyUser(accounts: LegacyApiOptions['accounts'], body: Body): Promise<string> {
  const username = text(body, 'username');
  const secret = text(body, 'secret');
  const userId = await accounts.authenticateAs(username, secret);
  return userId ?? refuse('secret is unknown, expired or not this user\'s: log in again with /login');
}

export function registerAccountRoutes(scope: FastifyInstance, options: LegacyApiOptions): void {
  const { accounts, devices, bus, limiter, signups, rsaRegistrations } = options;
  const route = (url: string, summary: string, handler: (body: Body, ip: string) => Promise<Record<string, unknown>>) =>
    scope.route({ method: [...LEGACY_METHODS], url, schema: { tags: [LEGACY_TAG], summary }, handler: async (request) => handler(bodyOf(request.body), request.ip) });

  route('/signup', 'Create a user: {username, password}', async (body, ip) => {
    const username = text(body, 'username');
    const password = text(body, 'password');
    checkCredentials(username, password);
    signups.take(ip);
    await accounts.signup(username, password);
    return { status: 'OK', message: 'Signup successful' };
  });

  route('/login', 'Log in: {username, password}; answers the secret for every other call (it expires)', async (body, ip) => {
    const username = text(body, 'username');
    const password = text(body, 'password');
    const attempt = limiter.start(ip, username);
    if ('retryAfterMs' in attempt) {
      const seconds = Math.ceil(attempt.retryAfterMs / 1000);
      throw new LegacyRefusal(`too many failed logins; try again in ${seconds} s`, 429, { 'retry-after': String(seconds) });
    }
    const session = await accounts.login(username, password).catch((error: unknown) => {
      attempt.abandoned();
      throw error;
    });
    if (!session) {
      attempt.failed();
      return refuse('wrong username or password');
    }
    attempt.succeeded();
    return { status: 'OK', message: 'Login successful', secret: session.token, expires: session.expiresAt.toISOString() };
  });

  route('/register_device', 'Register a device: {username, secret, devicename}; answers deviceid, ca, cert and pkey (the key only now)', async (body, ip) => {
    const ownerId = await requireLegacyUser(accounts, body);
    const devicename = text(body, 'devicename');
    checkDeviceName(devicename);
    rsaRegistrations.take(ip);
    const registration = await devices.register(ownerId, { name: devicename, keyAlgorithm: 'rsa-2048' });
    return {
      status: 'OK',
      message: 'Device registered successfully; pkey is shown only now (it is not stored): keep it',
      deviceid: registration.device.id,
      ca: options.rootCaPem,
      cert: registration.certificatePem,
      pkey: registration.privateKeyPem,
      mqtturl: options.deviceUrl,
    };
  });

  route('/unregister_device', 'Unregister a device: {username, secret, devicename}; it is disconnected and its certificate refused', async (body) => {
    const ownerId = await requireLegacyUser(accounts, body);
    const device = await devices.requireNamed(ownerId, text(body, 'devicename'));
    await devices.unregister(ownerId, device.id);
    return { status: 'OK', message: 'Device unregistered successfully' };
  });

  route('/get_device_list', 'Your devices: {username, secret}', async (body) => {
    const ownerId = await requireLegacyUser(accounts, body);
    const list = await devices.list(ownerId);
    return {
      status: 'OK',
      message: 'Devices queried successfully; private keys are returned once, by register_device, never here',
      devices: list.map((device) => ({ devicename: device.name, deviceid: device.id, ca: options.rootCaPem, ...(device.certPem ? { cert: device.certPem } : {}), online: bus.isConnected(device.id) })),
    };
  });
}
