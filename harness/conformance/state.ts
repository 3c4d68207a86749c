/**
 * Stateful behaviour: what one command does must be visible to the next (GPIO, RTC, UART), and
 * reset_device and set_status must bring the device back.
 */
import { limits } from '../../firmware-protocol/index.ts';
import { probeUntil } from '../probe.ts';
import { commandSection, fail, pass, showOutcome, type ConformanceCase } from './case.ts';
import { expectOk } from './expect.ts';

/** A fixed, recognisable RTC value (2025-11-26T08:00:00Z) so a stale clock is obvious in messages. */
const rtcProbe = 1_764_144_000;

export const gpioSetGet: ConformanceCase = {
  id: 'gpio.set-get',
  description: 'get_gpio reads back the level set_gpio drove, on the lowest, a middle and the highest pin',
  specSection: commandSection('get_gpio'),
  required: true,
  async run(context) {
    const pins = [limits.gpioMin, 18, limits.gpioMax];
    for (const level of [1, 0] as const) {
      for (const number of pins) {
        const set = await expectOk(context, 'set_gpio', { number, value: level });
        if (!set.ok) return set.verdict;
        const get = await expectOk(context, 'get_gpio', { number });
        if (!get.ok) return get.verdict;
        if (get.result.value !== level) {
          return fail(`set_gpio {"number":${number},"value":${level}} answered ok, then get_gpio {"number":${number}} read ${JSON.stringify(get.result.value)}; an output must read back the level last set`);
        }
      }
    }
    return pass(`pins ${pins.join(', ')} read back 1 then 0`);
  },
};

export const uartEcho: ConformanceCase = {
  id: 'uart.echo',
  description: 'write_uart answers exactly the data written, including non-ASCII text',
  specSection: commandSection('write_uart'),
  required: true,
  async run(context) {
    for (const data of ['hello ft900', 'héllo wörld ✓ 温度', 'line\nwith "quotes" and \\ backslash']) {
      const answer = await expectOk(context, 'write_uart', { data });
      if (!answer.ok) return answer.verdict;
    }
    return pass('ASCII, multi-byte UTF-8 and escaped characters echoed');
  },
};

export const rtcSetGet: ConformanceCase = {
  id: 'rtc.set-get',
  description: 'get_rtc right after set_rtc reads the value set (or a second or so later)',
  specSection: commandSection('get_rtc'),
  required: true,
  async run(context) {
    const startedAt = performance.now();
    const set = await expectOk(context, 'set_rtc', { value: rtcProbe });
    if (!set.ok) return set.verdict;
    const get = await expectOk(context, 'get_rtc', {});
    if (!get.ok) return get.verdict;
    const value = get.result.value as number;
    const allowance = Math.ceil((performance.now() - startedAt) / 1000) + 1;
    if (value < rtcProbe || value > rtcProbe + allowance) {
      return fail(`set_rtc {"value":${rtcProbe}} then get_rtc read ${value}; expected ${rtcProbe}..${rtcProbe + allowance} (the clock runs on from the value set)`);
    }
    return pass(`read ${value} after setting ${rtcProbe}`);
  },
};

export const rtcAdvances: ConformanceCase = {
  id: 'rtc.advances',
  description: 'the RTC keeps ticking after set_rtc: more than a second later it reads a later value',
  specSection: commandSection('get_rtc'),
  required: true,
  async run(context) {
    const set = await expectOk(context, 'set_rtc', { value: rtcProbe });
    if (!set.ok) return set.verdict;
    const setAt = performance.now();
    // The property is about real time, so waiting on real time is the test itself.
    await context.wait(1100);
    const get = await expectOk(context, 'get_rtc', {});
    if (!get.ok) return get.verdict;
    const value = get.result.value as number;
    const elapsedS = (performance.now() - setAt) / 1000;
    const latest = rtcProbe + Math.ceil(elapsedS) + 1;
    if (value <= rtcProbe) return fail(`set_rtc {"value":${rtcProbe}}, waited ${elapsedS.toFixed(1)} s, get_rtc still read ${value}: the clock is not running`);
    if (value > latest) return fail(`set_rtc {"value":${rtcProbe}}, waited ${elapsedS.toFixed(1)} s, get_rtc read ${value}: the clock ran ${value - rtcProbe} s (expected at most ${latest - rtcProbe})`);
    return pass(`advanced ${value - rtcProbe} s in ${elapsedS.toFixed(1)} s`);
  },
};

/** A restarting command answers "restarting", then the device answers get_status again within the reset deadline. */
function restartComesBack(id: string, command: 'reset_device' | 'set_status', params: Record<string, unknown>): ConformanceCase {
  const sent = `${command} ${JSON.stringify(params)}`;
  return {
    id,
    description: `${sent} answers "restarting", then the device answers get_status again within the reset deadline`,
    specSection: commandSection(command),
    required: true,
    async run(context) {
      const reset = await context.send(command, params);
      if (reset.status !== 'ok') return fail(`sent ${sent}; expected {"status":"restarting"}; ${showOutcome(reset)}`);
      if (reset.result.status !== 'restarting') {
        return fail(`sent ${sent}; expected {"status":"restarting"} before restarting; ${showOutcome(reset)}`);
      }
      const resetAt = performance.now();
      const back = await probeUntil(
        (timeoutMs) => context.send('get_status', {}, timeoutMs),
        (outcome) => outcome.status === 'ok' && outcome.result.status === 'running',
        { endAt: resetAt + context.resetDeadlineMs, everyMs: 100, timeoutMs: context.deadlineMs },
      );
      if (back.ok) return pass(`back and running ${Math.round(performance.now() - resetAt)} ms after the reset answer`);
      const last = back.last ? showOutcome(back.last) : 'no probe was answered';
      return fail(`${command} answered "restarting", but get_status did not answer "running" within ${context.resetDeadlineMs} ms; last answer: ${last}`);
    },
  };
}

export const resetComesBack = restartComesBack('reset.restarting-then-back', 'reset_device', {});
/** The original libpyiotcloud devices' restart. */
export const setStatusComesBack = restartComesBack('reset.set-status-restarting-then-back', 'set_status', { status: 'restart' });

export const stateCases: ConformanceCase[] = [gpioSetGet, uartEcho, rtcSetGet, rtcAdvances];
