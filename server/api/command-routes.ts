/**
 * Device commands over REST: one route per protocol command (so the OpenAPI spec documents each
 * command's parameters), plus a catch-all that explains an unknown command.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { checkRequestParams, commandNames, commands, type CommandName, type CommandOutcome } from '../../firmware-protocol/index.ts';
import type { Accounts } from '../accounts.ts';
import type { DeviceRegistry } from '../devices.ts';
import type { Device } from '../registry/types.ts';
import type { DeviceBus } from '../bus/device-bus.ts';
import { requireUser } from './auth-routes.ts';
import { ApiError, badRequest } from './api-error.ts';
import { CommandAnswer, CommandQuery, DeviceId, ErrorAnswer } from './schemas.ts';

export interface CommandRouteDeps {
  accounts: Accounts;
  devices: DeviceRegistry;
  bus: DeviceBus;
  defaultTimeoutMs: number;
  offlineGraceMs: number;
}

type CommandRequest = { Params: { deviceId: string; command?: string }; Querystring: { timeoutMs?: number; wait?: boolean }; Body: unknown };

export function registerCommandRoutes(app: FastifyInstance, deps: CommandRouteDeps): void {
  const { accounts, devices, bus } = deps;
  const params = Type.Object({ deviceId: DeviceId });

  for (const command of commandNames) {
    app.post<CommandRequest>(
      `/api/v1/devices/:deviceId/commands/${command}`,
      {
        schema: {
          tags: ['commands'],
          summary: commands[command].summary,
          description: commands[command].behaviour,
          params,
          querystring: CommandQuery,
          body: commands[command].request,
          response: { 200: CommandAnswer, 400: ErrorAnswer, 404: ErrorAnswer, 409: ErrorAnswer, 502: ErrorAnswer, 503: ErrorAnswer, 504: ErrorAnswer },
        },
      },
      async (request, reply) => {
        const ownerId = await requireUser(request, accounts);
        const body = request.body ?? {};
        const invalid = checkRequestParams(command, body);
        if (invalid) throw badRequest(invalid.message, invalid.field);
        const device = await devices.requireOwned(ownerId, request.params.deviceId);
        const timeoutMs = request.query.timeoutMs ?? deps.defaultTimeoutMs;
        if (!request.query.wait && !bus.isConnected(device.id)) await refuseIfOffline(devices, device, deps.offlineGraceMs);
        const outcome = await bus.command(device.id, command, body, timeoutMs);
        return sendOutcome(reply, outcome);
      },
    );
  }

  app.post<CommandRequest>('/api/v1/devices/:deviceId/commands/:command', { schema: { hide: true } }, async (request) => {
    await requireUser(request, accounts);
    throw new ApiError(400, 'UNKNOWN_COMMAND', `unknown command ${JSON.stringify(request.params.command)}; known commands: ${commandNames.join(', ')}`, '/command');
  });
}

/**
 * Waiting the full timeout for a device the server knows is gone helps nobody: refuse at once. A
 * device seen (or registered) moments ago may be reconnecting after a reset, or its presence may
 * still be on its way (RabbitMQ reports it asynchronously): its command is sent as usual.
 */
async function refuseIfOffline(devices: DeviceRegistry, device: Device, graceMs: number): Promise<void> {
  const lastSeenAt = await devices.lastSeenAt(device.id);
  if (Date.now() - (lastSeenAt ?? device.createdAt).getTime() < graceMs) return;
  const since = lastSeenAt ? `offline since ${lastSeenAt.toISOString()}` : 'offline: it has not connected since it was registered';
  throw new ApiError(
    409,
    'DEVICE_OFFLINE',
    `device ${device.id} is ${since}; start it and retry, or add ?wait=true to send anyway and wait up to timeoutMs for the answer (CLI: iotcloud cmd --wait)`,
  );
}

function sendOutcome(reply: { code(status: number): { send(body: unknown): unknown } }, outcome: CommandOutcome): unknown {
  switch (outcome.status) {
    case 'ok':
      return reply.code(200).send({ deviceId: outcome.deviceId, command: outcome.command, result: outcome.result, elapsedMs: round(outcome.elapsedMs) });
    case 'device-error':
      return reply.code(502).send({ error: { ...outcome.error, name: outcome.error.name ?? 'DEVICE_ERROR' }, source: 'device' });
    case 'timeout':
      throw new ApiError(504, 'TIMEOUT', `device ${outcome.deviceId} did not answer ${outcome.command} within ${outcome.timeoutMs} ms; is it connected? (GET /api/v1/devices/${outcome.deviceId} shows "online")`);
    case 'unavailable':
      throw new ApiError(503, 'UNAVAILABLE', `device bus unavailable: ${outcome.message}; retry shortly`);
    case 'invalid-answer':
      // The device did answer, wrongly: say so now, with what it sent (bounded), not a 504 at the deadline.
      return reply.code(502).send({
        error: { name: 'INVALID_ANSWER', message: `device ${outcome.deviceId} answered ${outcome.command} with ${outcome.answer.payload}, which is not a valid answer: ${outcome.problem}`, answer: outcome.answer.payload },
        source: 'device',
      });
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
export type { CommandName };
