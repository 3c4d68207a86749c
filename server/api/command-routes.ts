/**
 * Device commands over REST: one route per protocol command (so the OpenAPI spec documents each
 * command's parameters), plus a catch-all that explains an unknown command.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { checkRequestParams, commandNames, commands, type CommandName, type CommandOutcome } from '../../firmware-protocol/index.ts';
import type { Accounts } from '../accounts.ts';
import type { DeviceRegistry } from '../devices.ts';
import type { DeviceBus } from '../bus/device-bus.ts';
import { requireUser } from './auth-routes.ts';
import { ApiError, badRequest } from './api-error.ts';
import { CommandAnswer, CommandQuery, DeviceId, ErrorAnswer } from './schemas.ts';

export interface CommandRouteDeps {
  accounts: Accounts;
  devices: DeviceRegistry;
  bus: DeviceBus;
  defaultTimeoutMs: number;
}

type CommandRequest = { Params: { deviceId: string; command?: string }; Querystring: { timeoutMs?: number }; Body: unknown };

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
          response: { 200: CommandAnswer, 400: ErrorAnswer, 404: ErrorAnswer, 502: ErrorAnswer, 503: ErrorAnswer, 504: ErrorAnswer },
        },
      },
      async (request, reply) => {
        const ownerId = await requireUser(request, accounts);
        const body = request.body ?? {};
        const invalid = checkRequestParams(command, body);
        if (invalid) throw badRequest(invalid.message, invalid.field);
        await devices.requireOwned(ownerId, request.params.deviceId);
        const outcome = await bus.command(request.params.deviceId, command, body, request.query.timeoutMs ?? deps.defaultTimeoutMs);
        return sendOutcome(reply, outcome);
      },
    );
  }

  app.post<CommandRequest>('/api/v1/devices/:deviceId/commands/:command', { schema: { hide: true } }, async (request) => {
    await requireUser(request, accounts);
    throw new ApiError(400, 'UNKNOWN_COMMAND', `unknown command ${JSON.stringify(request.params.command)}; known commands: ${commandNames.join(', ')}`, '/command');
  });
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
