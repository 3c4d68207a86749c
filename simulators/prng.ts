/**
 * A small seeded PRNG and the distributions the behaviour profiles draw from. Simulations must
 * be replayable: the same seed gives the same drops, delays and faults, run after run.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: 32 bits of state, one closure per stream. Statistically fine for simulation (it is
 * not for cryptography), and cheap enough to give every concern of every device its own stream.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A 32-bit seed from any text (e.g. profile seed + device id + concern), stable across runs:
 * FNV-1a over the UTF-16 code units, then murmur3's finaliser so that texts differing in their
 * last character (`drop`/`delay`) give unrelated seeds. Not a cryptographic hash, nor needs to
 * be; a SHA-256 per stream was ~1.5% of a fleet's CPU during its ramp (six streams a device).
 */
export function seedFrom(...parts: (string | number)[]): number {
  const text = parts.join('\u0000');
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

export function uniform(random: Random, min: number, max: number): number {
  return min + (max - min) * random();
}

/** Box-Muller; one draw pair per sample keeps the stream position independent of caching. */
export function normal(random: Random, mean: number, sd: number): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Waiting time until the next event of a Poisson process with `ratePerMs` events per ms. */
export function exponential(random: Random, ratePerMs: number): number {
  return -Math.log(1 - random()) / ratePerMs;
}
