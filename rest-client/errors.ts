/** What a REST call can fail with: a module of its own, so that code which only recognises these errors loads no HTTP client. */

export class RestError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    const error = (body as { error?: { name?: string; message?: string; field?: string } } | undefined)?.error;
    super(error ? `${status} ${error.name}: ${error.message}${error.field ? ` (field ${error.field})` : ''}` : `HTTP ${status}`);
  }
}

/** No answer within `timeoutMs` (the request was abandoned). */
export class RestTimeoutError extends Error {
  override name = 'RestTimeoutError';
}

/** The server answered, but the answer broke off while being read. */
export class RestAnswerError extends Error {
  override name = 'RestAnswerError';
}
