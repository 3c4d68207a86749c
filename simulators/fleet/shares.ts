/**
 * Behaviour profiles per share of a fleet: `70%:delay=1-5` gives 70% of the devices that
 * profile; shares may sum to less than 100%, the rest behave well (the default profile).
 *
 * Devices get their group from their index, interleaved rather than in blocks, so a fleet that
 * is still ramping up (or stopped early) already has every behaviour in the right proportion,
 * and the same index always gets the same profile (a saved fleet replays the same way).
 */
import { formatProfile, parseProfile, type Profile } from '../profiles.ts';

export interface ProfileShare {
  /** 0 < share <= 1. */
  share: number;
  profile: Profile;
  /** The text it came from, for reports: `20%:drop=0.1`. */
  label: string;
}

/** A group of the fleet: one of the given shares, or the default remainder. */
export interface ProfileGroup {
  label: string;
  profile: Profile;
  /** Devices in this group for the fleet size given to `planProfiles`. */
  devices: number;
}

export interface ProfilePlan {
  groups: ProfileGroup[];
  /** Group index of each device, by device index. */
  groupOf: Uint8Array;
}

export class ProfileShareError extends Error {
  override name = 'ProfileShareError';
}

export const profileShareSyntax = 'PERCENT%:SETTINGS, e.g. "20%:drop=0.1" or "10%:malformed=0.2,legacy"';

/** Parse one `--profile` value. */
export function parseProfileShare(text: string): ProfileShare {
  const colon = text.indexOf(':');
  const shareText = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!/^\d+(\.\d+)?%$/.test(shareText)) {
    throw new ProfileShareError(`profile "${text}" needs a share of the fleet first: ${profileShareSyntax}`);
  }
  const share = Number(shareText.slice(0, -1)) / 100;
  if (!(share > 0 && share <= 1)) throw new ProfileShareError(`profile "${text}": the share must be above 0% and at most 100%`);
  let profile: Profile;
  try {
    profile = parseProfile(text.slice(colon + 1));
  } catch (error) {
    throw new ProfileShareError(`profile "${text}": ${(error as Error).message}`);
  }
  return { share, profile, label: `${shareText}:${formatProfile(profile) || 'none'}` };
}

/** Parse every `--profile` value and check that the shares fit in the fleet. */
export function parseProfileShares(texts: readonly string[]): ProfileShare[] {
  return checkShareTotal(texts.map(parseProfileShare));
}

/** Shares must fit in the fleet: at most 100% together. */
export function checkShareTotal(shares: ProfileShare[]): ProfileShare[] {
  const total = shares.reduce((sum, entry) => sum + entry.share, 0);
  // Rounded: 33.3% + 66.7% must not fail on floating point.
  if (Math.round(total * 1e6) > 1e6) {
    throw new ProfileShareError(`profile shares add up to ${+(total * 100).toFixed(4)}%, more than 100% (${shares.map((entry) => entry.label).join(' + ')})`);
  }
  return shares;
}

/**
 * Which device gets which profile. Counts follow the largest-remainder method (they add up to
 * exactly `count`); order interleaves the groups: device i goes to the group furthest behind its
 * quota, so any prefix of the fleet is close to the requested mix.
 */
export function planProfiles(count: number, shares: readonly ProfileShare[]): ProfilePlan {
  if (shares.length > 254) throw new ProfileShareError('at most 254 profiles per fleet');
  const defaultShare = Math.max(0, 1 - shares.reduce((sum, entry) => sum + entry.share, 0));
  const wanted = [...shares.map((entry) => entry.share), defaultShare];
  const quotas = apportion(count, wanted);
  const groups: ProfileGroup[] = [
    ...shares.map((entry, index) => ({ label: entry.label, profile: entry.profile, devices: quotas[index]! })),
    { label: 'default', profile: {}, devices: quotas[shares.length]! },
  ];
  const groupOf = new Uint8Array(count);
  const assigned = new Array<number>(groups.length).fill(0);
  for (let device = 0; device < count; device++) {
    let best = 0;
    let bestDeficit = Number.NEGATIVE_INFINITY;
    for (let group = 0; group < groups.length; group++) {
      const deficit = (quotas[group]! * (device + 1)) / count - assigned[group]!;
      if (deficit > bestDeficit + 1e-9) {
        best = group;
        bestDeficit = deficit;
      }
    }
    groupOf[device] = best;
    assigned[best]!++;
  }
  return { groups: groups.filter((group) => group.devices > 0 || group.label !== 'default'), groupOf };
}

/** Whole numbers proportional to `weights` that add up to `total` (largest remainder). */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const exact = weights.map((weight) => (weight / sum) * total);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left-- <= 0) break;
    counts[index]!++;
  }
  return counts;
}
