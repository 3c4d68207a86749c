import { describe, expect, it } from 'vitest';
import { decodeResponse, errorCodes } from '../../firmware-protocol/index.ts';
import { Board } from '../../simulators/board.ts';
import { Behaviour, composeProfiles, formatProfile, parseProfile, ProfileError, type Profile } from '../../simulators/profiles.ts';

const id = 'profile-test-1';

/** Run `count` requests through board + behaviour, as the device does, and collect what happens. */
function simulate(profile: Profile, count: number, deviceId = id) {
  const board = new Board(deviceId);
  const behaviour = new Behaviour(profile, deviceId);
  const outcomes = [];
  for (let i = 0; i < count; i++) {
    const cid = `c${i}`;
    if (!behaviour.admit()) {
      outcomes.push({ cid, dropped: true as const });
      continue;
    }
    const answer = board.handle(`${deviceId}/set_gpio`, JSON.stringify({ cid, number: i % 67, value: i % 2 }))!;
    const plan = behaviour.plan(answer);
    outcomes.push({ cid, dropped: false as const, plan, decoded: decodeResponse(plan.topic, plan.payload) });
  }
  return outcomes;
}

const share = (values: boolean[]) => values.filter(Boolean).length / values.length;

describe('profile text form', () => {
  it('parses every setting', () => {
    expect(parseProfile('delay=5-20,drop=0.1,malformed=0.05,legacy')).toEqual({
      delay: { kind: 'uniform', minMs: 5, maxMs: 20 },
      drop: 0.1,
      malformed: { share: 0.05, kinds: ['json', 'types', 'cid', 'topic'] },
      legacy: true,
    });
    expect(parseProfile('delay=7, late=10%@6000, malformed=0.2@json+cid, disconnect=0.5, seed=42')).toEqual({
      delay: { kind: 'fixed', ms: 7 },
      late: { share: 0.1, ms: 6000 },
      malformed: { share: 0.2, kinds: ['json', 'cid'] },
      disconnectPerMinute: 0.5,
      seed: 42,
    });
    expect(parseProfile('delay=normal:50:10,late=0.01')).toEqual({ delay: { kind: 'normal', meanMs: 50, sdMs: 10 }, late: { share: 0.01, ms: 10_000 } });
    expect(parseProfile('')).toEqual({});
    expect(parseProfile('none')).toEqual({});
  });

  it('round-trips through formatProfile', () => {
    for (const text of ['delay=5-20,drop=0.1,malformed=0.05@json+types+cid+topic,legacy', 'delay=normal:50:10,late=0.2@3000,disconnect=0.25,seed=9', 'delay=3']) {
      const profile = parseProfile(text);
      expect(parseProfile(formatProfile(profile))).toEqual(profile);
    }
  });

  it('explains what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['speed=3', /unknown profile setting "speed".*delay=MS/s],
      ['drop=1.5', /"drop" needs a share between 0 and 1/],
      ['drop=abc', /"drop" needs a share/],
      ['drop', /"drop" needs a value, e.g. drop=0.1/],
      ['delay=20-5', /minimum is above the maximum/],
      ['delay=fast', /"delay" must be MS, MIN-MAX or normal:MEAN:SD/],
      ['delay=-5', /"delay" must be MS/],
      ['malformed=0.1@json+xml', /unknown malformed kind "xml"/],
      ['disconnect=1', /must be below 1/],
      ['legacy=no', /"legacy" takes no value/],
      ['seed=1.5', /"seed" must be an integer/],
      ['drop=0.1,drop=0.2', /given twice/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseProfile(text), text).toThrow(ProfileError);
      expect(() => parseProfile(text), text).toThrow(message);
    }
  });

  it('composes: later settings win, unset ones do not erase', () => {
    expect(composeProfiles(parseProfile('delay=5,drop=0.1,seed=1'), { drop: 0.2, legacy: undefined }, parseProfile('legacy'))).toEqual({
      delay: { kind: 'fixed', ms: 5 },
      drop: 0.2,
      seed: 1,
      legacy: true,
    });
  });
});

describe('profile behaviour (seeded)', () => {
  it('is deterministic for a seed and device id, and differs across devices and seeds', () => {
    const profile = parseProfile('delay=0-100,drop=0.3,malformed=0.2,late=0.1@500,seed=7');
    const run = (p: Profile, deviceId = id) => simulate(p, 300, deviceId).map((o) => (o.dropped ? 'drop' : `${o.plan.delayMs}|${o.plan.malformed}|${o.plan.payload}`));
    expect(run(profile)).toEqual(run(profile));
    expect(run(profile, 'profile-test-2')).not.toEqual(run(profile));
    expect(run({ ...profile, seed: 8 })).not.toEqual(run(profile));
  });

  it('drops the configured share of requests, and never answers them', () => {
    const outcomes = simulate({ drop: 0.1, seed: 1 }, 10_000);
    expect(share(outcomes.map((o) => o.dropped))).toBeGreaterThan(0.09);
    expect(share(outcomes.map((o) => o.dropped))).toBeLessThan(0.11);
    expect(simulate({}, 1_000).every((o) => !o.dropped)).toBe(true);
  });

  it('keeps drop decisions when another fault is switched on (independent streams)', () => {
    const dropsAlone = simulate({ drop: 0.2, seed: 3 }, 500).map((o) => o.dropped);
    const dropsWithMore = simulate({ drop: 0.2, seed: 3, malformed: { share: 0.5, kinds: ['json'] }, delay: { kind: 'uniform', minMs: 1, maxMs: 9 } }, 500).map((o) => o.dropped);
    expect(dropsWithMore).toEqual(dropsAlone);
  });

  it('delays answers: fixed, uniform within bounds, normal around its mean and never negative', () => {
    const delays = (p: Profile) => simulate(p, 5_000).flatMap((o) => (o.dropped ? [] : [o.plan.delayMs]));
    expect(new Set(delays({ delay: { kind: 'fixed', ms: 12 } }))).toEqual(new Set([12]));
    const uniform = delays({ delay: { kind: 'uniform', minMs: 5, maxMs: 20 }, seed: 2 });
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...uniform)).toBeLessThanOrEqual(20);
    expect(mean(uniform)).toBeCloseTo(12.5, 0);
    const normal = delays({ delay: { kind: 'normal', meanMs: 50, sdMs: 10 }, seed: 2 });
    expect(mean(normal)).toBeGreaterThan(49);
    expect(mean(normal)).toBeLessThan(51);
    expect(Math.sqrt(mean(normal.map((d) => (d - 50) ** 2)))).toBeGreaterThan(9);
    expect(Math.sqrt(mean(normal.map((d) => (d - 50) ** 2)))).toBeLessThan(11);
    expect(Math.min(...delays({ delay: { kind: 'normal', meanMs: 1, sdMs: 10 } }))).toBeGreaterThanOrEqual(0);
  });

  it('holds the configured share of answers back by the late delay', () => {
    const plans = simulate({ delay: { kind: 'fixed', ms: 5 }, late: { share: 0.25, ms: 6_000 }, seed: 4 }, 4_000).flatMap((o) => (o.dropped ? [] : [o.plan]));
    const late = plans.filter((p) => p.late);
    expect(late.length / plans.length).toBeGreaterThan(0.22);
    expect(late.length / plans.length).toBeLessThan(0.28);
    expect(new Set(late.map((p) => p.delayMs))).toEqual(new Set([6_005]));
    expect(new Set(plans.filter((p) => !p.late).map((p) => p.delayMs))).toEqual(new Set([5]));
  });

  it('omits the cid like the original firmware (legacy), and the answer is still valid', () => {
    for (const outcome of simulate({ legacy: true }, 50)) {
      if (outcome.dropped) continue;
      expect(JSON.parse(outcome.plan.payload.toString())).not.toHaveProperty('cid');
      expect(outcome.decoded.ok).toBe(true);
      if (outcome.decoded.ok) expect(outcome.decoded.value.cid).toBeUndefined();
    }
  });

  it('sends the configured share of answers malformed, in each kind', () => {
    const outcomes = simulate({ malformed: { share: 0.2, kinds: ['json', 'types', 'cid', 'topic'] }, seed: 5 }, 4_000).flatMap((o) => (o.dropped ? [] : [o]));
    const broken = outcomes.filter((o) => o.plan.malformed);
    expect(broken.length / outcomes.length).toBeGreaterThan(0.18);
    expect(broken.length / outcomes.length).toBeLessThan(0.22);
    for (const o of outcomes.filter((x) => !x.plan.malformed)) {
      expect(o.decoded).toMatchObject({ ok: true, value: { cid: o.cid } });
    }
    const byKind = (kind: string) => broken.filter((o) => o.plan.malformed === kind);
    for (const kind of ['json', 'types', 'cid', 'topic']) expect(byKind(kind).length).toBeGreaterThan(100);
    for (const o of byKind('json')) expect(o.decoded).toMatchObject({ ok: false, error: { code: errorCodes.MALFORMED } });
    for (const o of byKind('types')) expect(o.decoded).toMatchObject({ ok: false, error: { code: errorCodes.INVALID_PARAMS } });
    for (const o of byKind('cid')) {
      expect(o.decoded.ok).toBe(true);
      if (o.decoded.ok) expect(o.decoded.value.cid).not.toBe(o.cid);
    }
    for (const o of byKind('topic')) {
      expect(o.plan.topic).not.toBe(`server/${id}/set_gpio`);
      expect(o.plan.topic).toMatch(new RegExp(`^server/${id}/[a-z_]+$`));
    }
  });

  it('schedules random disconnects at the configured rate per minute', () => {
    const behaviour = new Behaviour({ disconnectPerMinute: 0.5, seed: 6 }, id);
    const gaps = Array.from({ length: 5_000 }, () => behaviour.nextDisconnectInMs()!);
    const expectedMean = 60_000 / -Math.log(1 - 0.5);
    expect(mean(gaps)).toBeGreaterThan(expectedMean * 0.95);
    expect(mean(gaps)).toBeLessThan(expectedMean * 1.05);
    expect(share(gaps.map((gap) => gap <= 60_000))).toBeCloseTo(0.5, 1);
    expect(new Behaviour({}, id).nextDisconnectInMs()).toBeUndefined();
  });
});

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
