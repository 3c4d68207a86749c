/**
 * The original libpyiotcloud API's answers: HTTP 200 with `{"status":"OK", ...}`, or
 * `{"status":"NG, <reason>"}` where the reason says what happened and what to do next.
 */
import type { CommandOutcome } from '../../firmware-protocol/index.ts';

/** A refusal in the original shape; thrown by a route, answered by the module's error handler. */
export class LegacyRefusal extends Error {
  constructor(
    readonly reason: string,
    /** 200 as the original did; 429 only for the login limiter, with Retry-After. */
    readonly statusCode = 200,
    readonly headers: Record<string, string> = {},
  ) {
    super(reason);
  }
}

export const ng = (reason: string) => ({ status: `NG, ${reason}` });
export const refuse = (reason: string): never => {
  throw new LegacyRefusal(reason);
};

/**
 * A device command's outcome in the original shape: the device's own JSON at the top level (the
 * original server passed the device's answer through), with status OK unless the device's answer
 * has a status of its own (get_status answers "running", set_status "restarting").
 */
export function commandAnswer(outcome: CommandOutcome, devicename: string): Record<string, unknown> {
  switch (outcome.status) {
    case 'ok':
      return { status: 'OK', ...outcome.result };
    case 'device-error':
      return ng(`device ${devicename} refused ${outcome.command}: ${outcome.error.name ?? `error ${outcome.error.code}`}: ${outcome.error.message}`);
    case 'invalid-answer':
      return ng(`device ${devicename} answered ${outcome.command} with ${outcome.answer.payload}, which is not a valid answer: ${outcome.problem}`);
    case 'timeout':
      return ng(`device ${devicename} did not answer ${outcome.command} within ${outcome.timeoutMs} ms; is it connected? (get_device_list shows "online")`);
    case 'unavailable':
      return ng(`device bus unavailable: ${outcome.message}; retry shortly`);
  }
}
