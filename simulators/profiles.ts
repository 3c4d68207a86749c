/**
 * Behaviour profiles: how a simulated device misbehaves on purpose, so the server and the
 * harness are tested against slow, lossy, buggy and legacy devices, not only perfect ones.
 *
 * A profile is plain data (compose several, parse one from a string); a `Behaviour` draws
 * decisions from it with seeded PRNG streams, one per concern, so turning one fault on does not
 * reshuffle the others and a run replays exactly given the seed and the device id.
 */
// Not the index: the --profile flag checks load this file, and the index brings every schema.
import { commandNames } from '../firmware-protocol/command-names.ts';
import { responseTopic, type Transport } from '../firmware-protocol/topics.ts';
import type { EncodedMessage } from '../firmware-protocol/index.ts';
import { exponential, normal, seededRandom, seedFrom, uniform, type Random } from './prng.ts';

export type DelaySpec =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'normal'; meanMs: number; sdMs: number };

/** bad JSON; right JSON with wrong types; a cid that is not the request's; a wrong answer topic. */
export type MalformedKind = 'json' | 'types' | 'cid' | 'topic';
export const malformedKinds: readonly MalformedKind[] = ['json', 'types', 'cid', 'topic'];

export interface Profile {
  /** Time from request to answer. */
  delay?: DelaySpec;
  /** Share (0..1) of requests lost on the way in: never executed, never answered. */
  drop?: number;
  /** Share of answers held back `ms` more, e.g. beyond the server's deadline. */
  late?: { share: number; ms: number };
  /** Share of answers sent broken, in one of `kinds` chosen at random. */
  malformed?: { share: number; kinds: MalformedKind[] };
  /** Probability (0..1, exclusive) that the device loses its connection within any minute. */
  disconnectPerMinute?: number;
  /** Behave like the original firmware: never echo the correlation id. */
  legacy?: boolean;
  /** Seed of every random choice (mixed with the device id, so fleet members differ). */
  seed?: number;
}

/** Combine profiles; a later profile's settings win over an earlier one's. */
export function composeProfiles(...profiles: (Profile | undefined)[]): Profile {
  const combined: Profile = {};
  for (const profile of profiles) {
    if (!profile) continue;
    for (const [key, value] of Object.entries(profile)) {
      if (value !== undefined) (combined as Record<string, unknown>)[key] = value;
    }
  }
  return combined;
}

// ---------------------------------------------------------------------------------------------
// Text form: `delay=5-20,drop=0.1,late=0.05@6000,malformed=0.05@json+cid,disconnect=0.01,legacy,seed=7`

export class ProfileError extends Error {
  override name = 'ProfileError';
}

export const profileSyntax = [
  'comma-separated settings:',
  '  delay=MS | delay=MIN-MAX | delay=normal:MEAN:SD   answer delay in ms (fixed, uniform, normal)',
  '  drop=SHARE                                        share of requests never answered (0..1 or N%)',
  '  late=SHARE[@MS]                                   share of answers sent MS later (default 10000)',
  `  malformed=SHARE[@KIND+KIND]                       share of broken answers; kinds ${malformedKinds.join(', ')}`,
  '  disconnect=P                                      probability of a disconnect per minute (0..1, exclusive)',
  '  legacy                                            never echo the correlation id (original firmware)',
  '  seed=N                                            seed of the random choices (integer)',
].join('\n');

const DEFAULT_LATE_MS = 10_000;

export function parseProfile(text: string): Profile {
  const profile: Profile = {};
  const seen = new Set<string>();
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '' && item !== 'none');
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : item.slice(eq + 1).trim();
    if (seen.has(key)) throw new ProfileError(`profile setting "${key}" is given twice`);
    seen.add(key);
    const needValue = (): string => {
      if (value === undefined || value === '') throw new ProfileError(`profile setting "${key}" needs a value, e.g. ${example(key)}`);
      return value;
    };
    switch (key) {
      case 'delay':
        profile.delay = parseDelay(needValue());
        break;
      case 'drop':
        profile.drop = parseShare(key, needValue());
        break;
      case 'late': {
        const [share, ms] = needValue().split('@');
        profile.late = { share: parseShare(key, share!), ms: ms === undefined ? DEFAULT_LATE_MS : parseMs(key, ms) };
        break;
      }
      case 'malformed': {
        const [share, kinds] = needValue().split('@');
        profile.malformed = { share: parseShare(key, share!), kinds: kinds === undefined ? [...malformedKinds] : parseKinds(kinds) };
        break;
      }
      case 'disconnect': {
        const p = parseShare(key, needValue());
        if (p >= 1) throw new ProfileError(`profile setting "disconnect" is a probability per minute and must be below 1, got ${value}`);
        profile.disconnectPerMinute = p;
        break;
      }
      case 'legacy':
        if (value !== undefined && value !== 'true') throw new ProfileError(`profile setting "legacy" takes no value, got "${value}"`);
        profile.legacy = true;
        break;
      case 'seed': {
        const seed = Number(needValue());
        if (!Number.isSafeInteger(seed)) throw new ProfileError(`profile setting "seed" must be an integer, got "${value}"`);
        profile.seed = seed;
        break;
      }
      default:
        throw new ProfileError(`unknown profile setting "${key}"; expected ${profileSyntax}`);
    }
  }
  return profile;
}

/** The text form of a profile; `parseProfile(formatProfile(p))` gives back `p`. */
export function formatProfile(profile: Profile): string {
  const parts: string[] = [];
  const { delay } = profile;
  if (delay?.kind === 'fixed') parts.push(`delay=${delay.ms}`);
  if (delay?.kind === 'uniform') parts.push(`delay=${delay.minMs}-${delay.maxMs}`);
  if (delay?.kind === 'normal') parts.push(`delay=normal:${delay.meanMs}:${delay.sdMs}`);
  if (profile.drop !== undefined) parts.push(`drop=${profile.drop}`);
  if (profile.late) parts.push(`late=${profile.late.share}@${profile.late.ms}`);
  if (profile.malformed) parts.push(`malformed=${profile.malformed.share}@${profile.malformed.kinds.join('+')}`);
  if (profile.disconnectPerMinute !== undefined) parts.push(`disconnect=${profile.disconnectPerMinute}`);
  if (profile.legacy) parts.push('legacy');
  if (profile.seed !== undefined) parts.push(`seed=${profile.seed}`);
  return parts.join(',');
}

function parseDelay(value: string): DelaySpec {
  const normalMatch = /^normal:([^:]+):([^:]+)$/.exec(value);
  if (normalMatch) return { kind: 'normal', meanMs: parseMs('delay mean', normalMatch[1]!), sdMs: parseMs('delay sd', normalMatch[2]!) };
  const range = /^([^-]+)-([^-]+)$/.exec(value);
  if (range) {
    const minMs = parseMs('delay', range[1]!);
    const maxMs = parseMs('delay', range[2]!);
    if (minMs > maxMs) throw new ProfileError(`profile setting "delay=${value}": the minimum is above the maximum`);
    return { kind: 'uniform', minMs, maxMs };
  }
  if (/^[\d.]+(ms)?$/.test(value)) return { kind: 'fixed', ms: parseMs('delay', value) };
  throw new ProfileError(`profile setting "delay" must be MS, MIN-MAX or normal:MEAN:SD (milliseconds), got "${value}"`);
}

function parseMs(key: string, text: string): number {
  const ms = Number(text.trim().replace(/ms$/, ''));
  if (text.trim() === '' || !Number.isFinite(ms) || ms < 0) throw new ProfileError(`profile setting "${key}" needs milliseconds >= 0, got "${text}"`);
  return ms;
}

function parseShare(key: string, text: string): number {
  const percent = text.trim().endsWith('%');
  const share = Number(percent ? text.trim().slice(0, -1) : text.trim()) / (percent ? 100 : 1);
  if (text.trim() === '' || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new ProfileError(`profile setting "${key}" needs a share between 0 and 1 (or 0%..100%), got "${text}"`);
  }
  return share;
}

function parseKinds(text: string): MalformedKind[] {
  const kinds = text.split('+').map((kind) => kind.trim());
  for (const kind of kinds) {
    if (!(malformedKinds as readonly string[]).includes(kind)) {
      throw new ProfileError(`unknown malformed kind "${kind}"; expected some of ${malformedKinds.join(', ')} joined by "+"`);
    }
  }
  return kinds as MalformedKind[];
}

function example(key: string): string {
  const examples: Record<string, string> = { delay: 'delay=5-20', drop: 'drop=0.1', late: 'late=0.05@6000', malformed: 'malformed=0.05', disconnect: 'disconnect=0.01', seed: 'seed=42' };
  return examples[key] ?? `${key}=...`;
}

// ---------------------------------------------------------------------------------------------
// Decisions

/** What to do with one answer the board produced. */
export interface AnswerPlan {
  delayMs: number;
  topic: string;
  payload: Buffer;
  late: boolean;
  malformed?: MalformedKind;
}

export class Behaviour {
  private readonly dropRandom: Random;
  private readonly delayRandom: Random;
  private readonly lateRandom: Random;
  private readonly malformedRandom: Random;
  private readonly disconnectRandom: Random;

  constructor(
    readonly profile: Profile,
    private readonly deviceId: string,
    private readonly topicStyle: Transport = 'mqtt',
  ) {
    const seed = profile.seed ?? 0;
    const stream = (concern: string) => seededRandom(seedFrom(seed, deviceId, concern));
    this.dropRandom = stream('drop');
    this.delayRandom = stream('delay');
    this.lateRandom = stream('late');
    this.malformedRandom = stream('malformed');
    this.disconnectRandom = stream('disconnect');
  }

  /** False when this request is lost on its way in (the `drop` share). */
  admit(): boolean {
    const drop = this.profile.drop ?? 0;
    return drop === 0 || this.dropRandom() >= drop;
  }

  /** When and how to send a valid answer: delay, lateness, legacy form, deliberate breakage. */
  plan(answer: EncodedMessage & { command: string }): AnswerPlan {
    let delayMs = this.sampleDelay();
    const late = this.profile.late !== undefined && this.lateRandom() < this.profile.late.share;
    if (late) delayMs += this.profile.late!.ms;
    let { topic, payload } = answer;
    if (this.profile.legacy) payload = withoutCid(payload);
    const malformed = this.profile.malformed;
    if (malformed && malformed.kinds.length > 0 && this.malformedRandom() < malformed.share) {
      const kind = malformed.kinds[Math.floor(this.malformedRandom() * malformed.kinds.length)]!;
      ({ topic, payload } = this.break(kind, answer.command, topic, payload));
      return { delayMs, topic, payload, late, malformed: kind };
    }
    return { delayMs, topic, payload, late };
  }

  /** Ms until the next random disconnect, or undefined when the profile has none. */
  nextDisconnectInMs(): number | undefined {
    const p = this.profile.disconnectPerMinute ?? 0;
    if (p <= 0) return undefined;
    const perMinute = -Math.log(1 - p); // P(at least one event in a minute) = p
    return exponential(this.disconnectRandom, perMinute / 60_000);
  }

  private sampleDelay(): number {
    const delay = this.profile.delay;
    if (!delay) return 0;
    if (delay.kind === 'fixed') return delay.ms;
    if (delay.kind === 'uniform') return uniform(this.delayRandom, delay.minMs, delay.maxMs);
    return Math.max(0, normal(this.delayRandom, delay.meanMs, delay.sdMs));
  }

  private break(kind: MalformedKind, command: string, topic: string, payload: Buffer): { topic: string; payload: Buffer } {
    switch (kind) {
      case 'json':
        // Cut before the closing brace: what a firmware with a short buffer would send.
        return { topic, payload: payload.subarray(0, Math.max(1, payload.length - 1)) };
      case 'types':
        return { topic, payload: Buffer.from(JSON.stringify(mistyped(JSON.parse(payload.toString('utf8')) as Record<string, unknown>))) };
      case 'cid': {
        const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
        body.cid = `bogus${Math.floor(this.malformedRandom() * 0xffffffff).toString(36)}`;
        return { topic, payload: Buffer.from(JSON.stringify(body)) };
      }
      case 'topic': {
        // Answer as if it were another command: same device, wrong last level.
        const index = commandNames.indexOf(command as (typeof commandNames)[number]);
        const other = commandNames[(index + 1) % commandNames.length]!;
        return { topic: responseTopic(this.deviceId, other, this.topicStyle), payload };
      }
    }
  }
}

function withoutCid(payload: Buffer): Buffer {
  const { cid: _cid, ...rest } = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify(rest));
}

/** Every field but the cid turned into the wrong JSON type. */
function mistyped(body: Record<string, unknown>): Record<string, unknown> {
  const wrong: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'cid') wrong[key] = value;
    else if (typeof value === 'number') wrong[key] = String(value);
    else if (typeof value === 'string') wrong[key] = value.length;
    else wrong[key] = typeof value === 'object' && value !== null ? JSON.stringify(value) : 0;
  }
  return wrong;
}
