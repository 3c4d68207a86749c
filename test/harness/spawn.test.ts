/** Starting and stopping the device under test: the whole process group goes, output is kept. */
import { describe, expect, it } from 'vitest';
import { spawnDevice } from '../../harness/index.ts';
import { isRunning } from './fixtures.ts';

describe('spawnDevice', () => {
  it('stops every process of the group, not only the shell', async () => {
    const device = spawnDevice({ command: 'sleep 30 & echo "bg $!"; sleep 30; wait' });
    const background = await new Promise<number>((resolve) => {
      const look = () => {
        const match = /bg (\d+)/.exec(device.outputTail());
        if (match) resolve(Number(match[1]));
        else setTimeout(look, 10);
      };
      look();
    });
    expect(isRunning(background)).toBe(true);
    await device.stop();
    expect(device.hasExited()).toBe(true);
    expect(isRunning(background)).toBe(false);
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const device = spawnDevice({ command: "trap '' TERM; echo ready; while :; do sleep 0.05; done", stopGraceMs: 200 });
    await new Promise<void>((resolve) => {
      const look = () => (device.outputTail().includes('ready') ? resolve() : setTimeout(look, 10));
      look();
    });
    const startedAt = performance.now();
    await device.stop();
    expect(device.hasExited()).toBe(true);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(190);
    expect(performance.now() - startedAt).toBeLessThan(2000);
  });

  it('keeps the tail of what the process printed, stdout and stderr', async () => {
    const device = spawnDevice({ command: 'for i in $(seq 1 100); do echo "line $i"; done; echo oops >&2' });
    await device.exited;
    const tail = device.outputTail().split('\n');
    expect(tail.length).toBeLessThanOrEqual(60);
    expect(tail).toContain('line 100');
    expect(tail).toContain('oops');
    expect(tail).not.toContain('line 1');
    await device.stop();
  });
});
