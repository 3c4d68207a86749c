/**
 * Probe a device until it gives an acceptable answer or time runs out. Probes overlap (a new one
 * every `everyMs`, each with its own timeout): a request sent while the device is offline is lost
 * with its session, and waiting for each probe in turn would cost a whole timeout per loss.
 */
import type { HarnessOutcome } from './targets/types.ts';

export interface ProbeOptions {
  /** performance.now() value after which no new probe starts and the wait fails. */
  endAt: number;
  everyMs: number;
  timeoutMs: number;
  /** Give up early (e.g. the spawned device process exited). */
  abandon?: () => boolean;
}

export type ProbeResult = { ok: true; outcome: HarnessOutcome } | { ok: false; last?: HarnessOutcome };

export function probeUntil(send: (timeoutMs: number) => Promise<HarnessOutcome>, accept: (outcome: HarnessOutcome) => boolean, options: ProbeOptions): Promise<ProbeResult> {
  let last: HarnessOutcome | undefined;
  let settled = false;
  return new Promise((resolve) => {
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const probe = () => {
      if (settled) return;
      const now = performance.now();
      if (now >= options.endAt || options.abandon?.()) {
        finish(last ? { ok: false, last } : { ok: false });
        return;
      }
      void send(Math.max(1, Math.min(options.timeoutMs, options.endAt - now))).then((outcome) => {
        if (accept(outcome)) finish({ ok: true, outcome });
        else last = outcome;
      });
      setTimeout(probe, Math.max(1, Math.min(options.everyMs, options.endAt - now)));
    };
    probe();
  });
}
