/**
 * `--qemu IMAGE`: the firmware image on QEMU's lm3s6965evb (ft900/emulator), its UART0 pty
 * bridged to the broker like a real board's serial line. QEMU exiting is noticed at once; the
 * reports get the board's console (UART1), the bridge's view of the line, and QEMU's own output.
 */
import { EmulatorError, startEmulator, type RunningEmulator } from '../../ft900/emulator/index.ts';
import { DutSetupError, failureLatch, type DeviceUnderTest } from '../../harness/index.ts';
import { bridgeBoard, type BoardLink } from './serial.ts';

export interface QemuDutOptions extends Omit<BoardLink, 'port' | 'baudRate'> {
  image: string;
  qemuBinary?: string;
}

export async function qemuDut(options: QemuDutOptions): Promise<DeviceUnderTest> {
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({ image: options.image, deviceId: options.deviceId, ...(options.qemuBinary ? { qemuBinary: options.qemuBinary } : {}) });
  } catch (error) {
    if (error instanceof EmulatorError) throw new DutSetupError(error.message);
    throw error;
  }
  const latch = failureLatch();
  let stopping = false;
  void emulator.exited.then((exit) => {
    if (stopping) return;
    const tail = emulator.outputTail();
    latch.fail(`qemu-system-arm exited on its own (${exit.signal ?? `status ${exit.code}`})${tail ? `: ${tail}` : ''}`);
  });
  // When QEMU dies its pty closes too, often first: give its exit a moment to be the cause.
  const board = bridgeBoard({ ...options, port: emulator.pty }, (cause) => {
    let timer: NodeJS.Timeout | undefined;
    void Promise.race([emulator.exited, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]).then(() => {
      clearTimeout(timer);
      if (!stopping) latch.fail(cause);
    });
  });
  return {
    description: `booted ${options.image} on qemu-system-arm lm3s6965evb (pid ${emulator.pid}), UART0 on ${emulator.pty}, bridged as ${options.deviceId}`,
    failure: latch.failure,
    failed: latch.failed,
    async output() {
      const consoleText = (await emulator.console()).replace(/\r/g, '').trim();
      const qemuText = emulator.outputTail();
      return [
        `board console (UART1):\n${consoleText || '(nothing)'}`,
        `serial line (UART0), as the bridge saw it; guest resets: ${emulator.resets}:\n${board.lines().join('\n') || '(nothing)'}`,
        ...(qemuText ? [`qemu-system-arm:\n${qemuText}`] : []),
      ].join('\n\n');
    },
    async stop() {
      stopping = true;
      await board.close();
      await emulator.stop();
    },
  };
}
