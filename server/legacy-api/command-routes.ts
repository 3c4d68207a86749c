/**
 * The original API's device routes: /get_gpio, /set_gpio, ... with the command's parameters beside
 * username, secret and devicename in the body. /reset_device sends set_status {"status":"restart"},
 * which is how the original devices restart (and iotcloud devices too). /set_mac answers NG: no
 * original device implemented it and the protocol has no such command (a MAC is the hardware's).
 */
import type { FastifyInstance } from 'fastify';
import { checkRequestParams, commands, type CommandName } from '../../firmware-protocol/index.ts';
import { LEGACY_METHODS, LEGACY_TAG, type LegacyApiOptions } from './options.ts';
import { commandAnswer, ng, refuse } from './answers.ts';
import { requireLegacyUser } from './account-routes.ts';
import { bodyOf, text } from './params.ts';

/** Original route -> the protocol command it runs, and fixed parameters when the route adds them. */
const routes: Record<string, { command: CommandName; fixed?: Record<string, unknown> }> = {
  get_gpio: { command: 'get_gpio' },
  set_gpio: { command: 'set_gpio' },
  get_rtc: { command: 'get_rtc' },
  set_rtc: { command: 'set_rtc' },
  get_mac: { command: 'get_mac' },
  get_ip: { command: 'get_ip' },
  get_subnet: { command: 'get_subnet' },
  get_gateway: { command: 'get_gateway' },
  get_status: { command: 'get_status' },
  set_status: { command: 'set_status' },
  reset_device: { command: 'set_status', fixed: { status: 'restart' } },
  write_uart: { command: 'write_uart' },
};

export function registerDeviceCommandRoutes(scope: FastifyInstance, options: LegacyApiOptions): void {
  const { accounts, devices, bus } = options;
  for (const [route, { command, fixed }] of Object.entries(routes)) {
    const fields = Object.keys(commands[command].request.properties);
    scope.route({
      method: [...LEGACY_METHODS],
      url: `/${route}`,
      schema: { tags: [LEGACY_TAG], summary: `${commands[command].summary} {username, secret, devicename${fixed ? '' : fields.map((f) => `, ${f}`).join('')}}` },
      handler: async (request) => {
        const body = bodyOf(request.body);
        const ownerId = await requireLegacyUser(accounts, body);
        const devicename = text(body, 'devicename');
        const params: Record<string, unknown> = { ...fixed };
        if (!fixed) for (const field of fields) if (field in body) params[field] = body[field];
        const invalid = checkRequestParams(command, params);
        if (invalid) refuse(`${route}: ${invalid.message}`);
        const device = await devices.requireNamed(ownerId, devicename);
        return commandAnswer(await bus.command(device.id, command, params, options.defaultTimeoutMs), devicename);
      },
    });
  }

  scope.route({
    method: [...LEGACY_METHODS],
    url: '/set_mac',
    schema: { tags: [LEGACY_TAG], summary: 'Not supported: answers NG (a MAC is fixed in hardware; no original device implemented set_mac)' },
    handler: async (request) => {
      await requireLegacyUser(accounts, bodyOf(request.body));
      return ng('set_mac is not supported: a device\'s MAC address is fixed in its hardware, and no libpyiotcloud device implemented set_mac; read it with get_mac');
    },
  });
}
