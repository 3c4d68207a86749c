/**
 * The protocol's error model. Codes are stable: firmware compares numbers, people read names.
 * Never renumber; add new codes at the end.
 */
export const errorCodes = {
  UNKNOWN_COMMAND: 1,
  INVALID_PARAMS: 2,
  DEVICE_BUSY: 3,
  TIMEOUT: 4,
  MALFORMED: 5,
  PAYLOAD_TOO_LARGE: 6,
  INVALID_TOPIC: 7,
  INTERNAL: 8,
} as const;

export type ErrorName = keyof typeof errorCodes;
export type ErrorCode = (typeof errorCodes)[ErrorName];

export const errorDescriptions: Record<ErrorName, string> = {
  UNKNOWN_COMMAND: 'The command (last topic level) is not one the receiver implements.',
  INVALID_PARAMS: 'The payload is JSON but a field is missing, of the wrong type or out of range; `field` names it.',
  DEVICE_BUSY: 'The device cannot run the command now (for example while resetting); the caller may retry.',
  TIMEOUT: 'No answer arrived before the deadline. Raised by the server, never sent by a device.',
  MALFORMED: 'The payload is not a JSON object (bad UTF-8, bad JSON, an array, a bare value).',
  PAYLOAD_TOO_LARGE: 'The payload is longer than the protocol limit and was not read.',
  INVALID_TOPIC: 'The topic does not have the protocol shape, or its device id is not a valid id.',
  INTERNAL: 'The device failed while running a valid command (a HAL error).',
};

/** A precise, typed protocol error: what went wrong, where, and in which message. */
export interface ProtocolError {
  code: ErrorCode;
  name: ErrorName;
  message: string;
  /** JSON pointer of the offending field, when one field is at fault (e.g. `/number`). */
  field?: string;
  /** What could be read of the message before the error, so a device can still answer it. */
  context?: { deviceId?: string; command?: string; cid?: string };
}

export function protocolError(
  name: ErrorName,
  message: string,
  extra: Pick<ProtocolError, 'field' | 'context'> = {},
): ProtocolError {
  const error: ProtocolError = { code: errorCodes[name], name, message };
  if (extra.field !== undefined) error.field = extra.field;
  if (extra.context !== undefined) error.context = extra.context;
  return error;
}

const namesByCode = new Map<number, ErrorName>(
  Object.entries(errorCodes).map(([name, code]) => [code, name as ErrorName]),
);

export function errorNameOf(code: number): ErrorName | undefined {
  return namesByCode.get(code);
}

export type Result<T, E = ProtocolError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = (error: ProtocolError): Result<never> => ({ ok: false, error });
