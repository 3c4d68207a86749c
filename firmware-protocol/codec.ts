/**
 * The one validating codec for both directions. It never throws on hostile input: every failure
 * comes back as a typed ProtocolError that says what was wrong and where.
 */
import { isUtf8 } from 'node:buffer';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { commands, ErrorBody, isCommandName, type CommandName, type RequestOf, type ResponseOf } from './commands.ts';
import { correlationIdPattern, isValidDeviceId, limits } from './limits.ts';
import { errorNameOf, fail, ok, protocolError, type ProtocolError, type Result } from './errors.ts';
import { parseRequestTopic, parseResponseTopic, quote, requestTopic, responseTopic, type Transport } from './topics.ts';

export interface EncodedMessage {
  topic: string;
  payload: Buffer;
}

export interface DeviceRequest<C extends CommandName = CommandName> {
  deviceId: string;
  command: C;
  cid?: string;
  params: RequestOf<C>;
}

interface ResponseHeader {
  deviceId: string;
  cid?: string;
}
export type DeviceResponse<C extends CommandName = CommandName> =
  | (ResponseHeader & { command: C; ok: true; result: ResponseOf<C> })
  | (ResponseHeader & { command: string; ok: false; error: ErrorBody });

export interface CodecOptions {
  transport?: Transport;
}
export interface RequestOptions extends CodecOptions {
  cid?: string;
}

type Checker = TypeCheck<TSchema>;
const compiled = new Map<CommandName, { request: Checker; response: Checker; responseKeys: string[] }>();
for (const [name, spec] of Object.entries(commands)) {
  compiled.set(name as CommandName, {
    request: TypeCompiler.Compile(spec.request),
    response: TypeCompiler.Compile(spec.response),
    responseKeys: Object.keys(spec.response.properties),
  });
}
const errorBodyCheck = TypeCompiler.Compile(ErrorBody);
const cidRegex = new RegExp(correlationIdPattern);
const MAX_ERROR_MESSAGE = (ErrorBody.properties.message as { maxLength: number }).maxLength;
const MAX_ERROR_FIELD = (ErrorBody.properties.field as unknown as { maxLength: number }).maxLength;

// ---------------------------------------------------------------------------------------------
// Server -> device

export function encodeRequest<C extends CommandName>(
  deviceId: string,
  command: C,
  params: RequestOf<C>,
  options: RequestOptions = {},
): Result<EncodedMessage> {
  const transport = options.transport ?? 'mqtt';
  if (!isValidDeviceId(deviceId)) {
    return fail(protocolError('INVALID_TOPIC', `device id ${quote(String(deviceId))} is not valid`));
  }
  if (!isCommandName(command)) {
    return fail(protocolError('UNKNOWN_COMMAND', `unknown command ${quote(String(command))}`));
  }
  if (options.cid !== undefined && !cidRegex.test(options.cid)) {
    return fail(protocolError('INVALID_PARAMS', `correlation id must match ${correlationIdPattern}`, { field: '/cid' }));
  }
  const invalid = checkRequestParams(command, params);
  if (invalid) return fail(invalid);
  const body = options.cid === undefined ? params : { cid: options.cid, ...params };
  return ok({ topic: requestTopic(deviceId, command, transport), payload: Buffer.from(JSON.stringify(body)) });
}

export function decodeRequest(topic: string, payload: Uint8Array | string, options: CodecOptions = {}): Result<DeviceRequest> {
  const address = parseRequestTopic(topic, options.transport);
  if (!address.ok) return address;
  const { deviceId, command } = address.value;
  const body = parseBody(payload, { deviceId, command });
  if (!body.ok) return body;
  const { cid, rest } = body.value;
  const context = { deviceId, command, ...(cid === undefined ? {} : { cid }) };
  if (!isCommandName(command)) {
    return fail(protocolError('UNKNOWN_COMMAND', `unknown command ${quote(command)}`, { context }));
  }
  const invalid = checkRequestParams(command, rest);
  if (invalid) return fail({ ...invalid, context });
  const request: DeviceRequest = { deviceId, command, params: rest as RequestOf<typeof command> };
  if (cid !== undefined) request.cid = cid;
  return ok(request);
}

// ---------------------------------------------------------------------------------------------
// Device -> server

export type ResponseOutcome<C extends CommandName> =
  | { result: ResponseOf<C> }
  | { error: Pick<ProtocolError, 'code' | 'message' | 'field'> & { name?: string } };

export function encodeResponse<C extends CommandName>(
  deviceId: string,
  command: C | string,
  outcome: ResponseOutcome<C>,
  options: RequestOptions = {},
): Result<EncodedMessage> {
  const transport = options.transport ?? 'mqtt';
  if (!isValidDeviceId(deviceId)) {
    return fail(protocolError('INVALID_TOPIC', `device id ${quote(String(deviceId))} is not valid`));
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(command)) {
    return fail(protocolError('INVALID_TOPIC', `command ${quote(String(command))} is not one topic level`));
  }
  const head = options.cid === undefined ? {} : { cid: options.cid };
  let body: object;
  if ('error' in outcome) {
    const { code, field } = outcome.error;
    // A hostile request can name a field longer than an error body allows: the answer must still
    // go out, so cut the message and leave such a field out rather than answer nothing.
    const message = outcome.error.message.length > MAX_ERROR_MESSAGE ? `${outcome.error.message.slice(0, MAX_ERROR_MESSAGE - 3)}...` : outcome.error.message;
    const keepField = field !== undefined && field.length <= MAX_ERROR_FIELD;
    const error = { code, name: outcome.error.name ?? errorNameOf(code), message, ...(keepField ? { field } : {}) };
    if (!errorBodyCheck.Check(error)) return fail(schemaError(errorBodyCheck, error, 'error body'));
    body = { ...head, error };
  } else {
    if (!isCommandName(command)) return fail(protocolError('UNKNOWN_COMMAND', `unknown command ${quote(command)}`));
    const check = compiled.get(command)!.response;
    if (!check.Check(outcome.result)) return fail(schemaError(check, outcome.result, `${command} response`));
    body = { ...head, ...outcome.result };
  }
  const payload = Buffer.from(JSON.stringify(body));
  if (payload.length > limits.maxPayloadBytes) {
    return fail(protocolError('PAYLOAD_TOO_LARGE', `response is ${payload.length} bytes, the limit is ${limits.maxPayloadBytes}`));
  }
  return ok({ topic: responseTopic(deviceId, command, transport), payload });
}

export function decodeResponse(topic: string, payload: Uint8Array | string, options: CodecOptions = {}): Result<DeviceResponse> {
  const address = parseResponseTopic(topic, options.transport);
  if (!address.ok) return address;
  const { deviceId, command } = address.value;
  const body = parseBody(payload, { deviceId, command });
  if (!body.ok) return body;
  const { cid, rest } = body.value;
  const header: ResponseHeader = cid === undefined ? { deviceId } : { deviceId, cid };
  const context = { deviceId, command, ...(cid === undefined ? {} : { cid }) };
  if ('error' in rest) {
    const error = rest.error;
    if (!errorBodyCheck.Check(error)) return fail({ ...schemaError(errorBodyCheck, error, 'error body', '/error'), context });
    return ok({ ...header, command, ok: false, error: error as ErrorBody });
  }
  if (!isCommandName(command)) {
    return fail(protocolError('UNKNOWN_COMMAND', `response to unknown command ${quote(command)}`, { context }));
  }
  const { response: check, responseKeys } = compiled.get(command)!;
  if (!check.Check(rest)) return fail({ ...schemaError(check, rest, `${command} response`), context });
  // Devices may add fields of their own; only the spec's fields reach the caller.
  const result: Record<string, unknown> = {};
  for (const key of responseKeys) if (key in rest) result[key] = rest[key];
  return ok({ ...header, command, ok: true, result: result as ResponseOf<typeof command> });
}

// ---------------------------------------------------------------------------------------------

/** Validate a command's request parameters; undefined when valid. */
export function checkRequestParams(command: CommandName, params: unknown): ProtocolError | undefined {
  const check = compiled.get(command)!.request;
  if (!check.Check(params)) return schemaError(check, params, `${command} request`);
  const refine = commands[command].refine as ((p: unknown) => { field: string; message: string } | undefined) | undefined;
  const refined = refine?.(params);
  return refined ? protocolError('INVALID_PARAMS', refined.message, { field: refined.field }) : undefined;
}

function parseBody(
  payload: Uint8Array | string,
  context: { deviceId: string; command: string },
): Result<{ cid?: string; rest: Record<string, unknown> }> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > limits.maxPayloadBytes) {
    return fail(protocolError('PAYLOAD_TOO_LARGE', `payload is ${size} bytes, the limit is ${limits.maxPayloadBytes}`, { context }));
  }
  if (typeof payload !== 'string' && !isUtf8(payload)) {
    return fail(protocolError('MALFORMED', 'payload is not valid UTF-8', { context }));
  }
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  if (text.trim() === '') return ok({ rest: {} }); // an empty payload means "no parameters"
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(protocolError('MALFORMED', `payload is not JSON: ${(error as Error).message}`, { context }));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(protocolError('MALFORMED', `payload must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, { context }));
  }
  const { cid, ...rest } = value as Record<string, unknown>;
  if (cid === undefined) return ok({ rest });
  if (typeof cid !== 'string' || !cidRegex.test(cid)) {
    return fail(protocolError('INVALID_PARAMS', `cid must be a string matching ${correlationIdPattern}`, { field: '/cid', context }));
  }
  return ok({ cid, rest });
}

function schemaError(check: Checker, value: unknown, what: string, prefix = ''): ProtocolError {
  const first = check.Errors(value).First();
  const field = `${prefix}${first?.path ?? ''}` || undefined;
  const where = field ? `${field}: ` : '';
  const message = `invalid ${what}: ${where}${first?.message ?? 'does not match the schema'}`;
  return protocolError('INVALID_PARAMS', message, field ? { field } : {});
}
