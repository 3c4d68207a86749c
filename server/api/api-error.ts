/** Errors the REST API answers with: an HTTP status, a stable name, and a message that says what to do. */
import { errorCodes, type ErrorName } from '../../firmware-protocol/index.ts';

export type ApiErrorName =
  | ErrorName
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_REQUESTS'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAVAILABLE'
  | 'DEVICE_ERROR'
  | 'DEVICE_OFFLINE';

export interface ApiErrorBody {
  error: { name: string; message: string; code?: number; field?: string };
  /** Who produced the error: the server, or the device (its own error answer). */
  source: 'server' | 'device';
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorName: ApiErrorName,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ApiErrorBody {
    const code = (errorCodes as Record<string, number>)[this.errorName];
    return {
      error: {
        name: this.errorName,
        message: this.message,
        ...(code === undefined ? {} : { code }),
        ...(this.field === undefined ? {} : { field: this.field }),
      },
      source: 'server',
    };
  }
}

export const badRequest = (message: string, field?: string) => new ApiError(400, 'INVALID_PARAMS', message, field);
export const unauthorized = (message: string) => new ApiError(401, 'UNAUTHORIZED', message, undefined, { 'www-authenticate': 'Bearer' });
export const notFound = (message: string) => new ApiError(404, 'NOT_FOUND', message);
export const forbidden = (message: string) => new ApiError(403, 'FORBIDDEN', message);
export const conflict = (message: string, field: string) => new ApiError(409, 'CONFLICT', message, field);
