/**
 * The device under test, whatever it is: a spawned process (`--spawn`, here), a board on a serial
 * line behind the bridge (`--serial`), or the firmware image on an emulated MCU behind the bridge
 * (`--qemu`); the last two wire in ft900/ and live in cli/dut/. One life cycle for all of them: start, watch for an early death (the run then fails
 * fast, with the cause printed first, instead of running every case into its deadline), collect
 * the console output for the reports, stop.
 */
import { spawnDevice, type SpawnOptions } from './spawn.ts';

export interface DeviceUnderTest {
  /** One line for the console, printed before anything runs. */
  readonly description: string;
  /** Why it died or stopped answering on its own; undefined while it is fine. */
  failure(): string | undefined;
  /** Resolves with failure() once it has died (never while it is fine). */
  readonly failed: Promise<string>;
  /** Its console output so far (last lines), for the reports; '' when there is none. */
  output(): Promise<string>;
  stop(): Promise<void>;
}

/** Thrown when the device under test cannot even be started (missing image, flash failed, ...). */
export class DutSetupError extends Error {}

/** A latch for failure(): the first cause wins. */
export function failureLatch(): { failure(): string | undefined; failed: Promise<string>; fail(cause: string): void } {
  let cause: string | undefined;
  let resolve!: (cause: string) => void;
  const failed = new Promise<string>((r) => (resolve = r));
  return {
    failure: () => cause,
    failed,
    fail(next: string) {
      if (cause !== undefined) return;
      cause = next;
      resolve(next);
    },
  };
}

/** `--spawn "<command>"`: a process that is the device, or starts it. */
export function spawnedDut(options: SpawnOptions): DeviceUnderTest {
  const spawned = spawnDevice(options);
  const latch = failureLatch();
  let stopping = false;
  void spawned.exited.then((exit) => {
    if (!stopping) latch.fail(`the device under test (${options.command}) exited on its own (${exit.signal ?? `status ${exit.code}`})`);
  });
  return {
    description: `started the device under test: ${spawned.command} (pid ${spawned.pid})`,
    failure: latch.failure,
    failed: latch.failed,
    output: async () => spawned.outputTail(),
    async stop() {
      stopping = true;
      await spawned.stop();
    },
  };
}
