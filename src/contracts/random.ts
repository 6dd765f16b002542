// Deterministic random numbers: one seeded stream per key, shared by weight initialization and seeded sampling.
//
// The generator is xoshiro128** (Blackman and Vigna), seeded with SplitMix64 from a 64-bit FNV-1a
// hash of the seed and the UTF-8 name. Uniform numbers are bit-for-bit the same on every
// JavaScript engine. Normal numbers use the Box–Muller transform, whose Math.log, Math.cos and
// Math.sin are not pinned down by the language standard; engines in practice agree (V8 and
// SpiderMonkey both use fdlibm), but a cross-engine difference in the last bit is possible.

/** A deterministic stream of random numbers. */
export interface Rng {
  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number;
  /** A number drawn uniformly from [low, high), with 53 random bits. */
  uniform(low: number, high: number): number;
  /** A number drawn from the normal distribution N(mean, std²). */
  normal(mean: number, std: number): number;
}

/** The random stream for one key (a parameter's name, or `sampling`): it depends only on `seed` (an integer) and `key`. */
export function rngFor(seed: number, key: string): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`The seed must be an integer, but it is ${seed}.`);
  }
  const splitmix = splitMix64(fnv1a64(seed, key));
  const first = splitmix();
  const second = splitmix();
  const state = new Uint32Array([
    Number(first >> 32n),
    Number(first & 0xffffffffn),
    Number(second >> 32n),
    Number(second & 0xffffffffn),
  ]);
  // xoshiro's state must not be all zero; SplitMix64 makes that practically impossible, but be sure.
  if (state.every((word) => word === 0)) {
    state[0] = 0x9e3779b9;
  }
  return makeRng(xoshiro128StarStar(state));
}

function makeRng(nextUint32: () => number): Rng {
  // Box–Muller yields normal numbers in pairs; the second one is kept for the next call.
  let spare: number | undefined;

  function nextDouble(): number {
    // 53 random bits: the top 27 bits of one draw and the top 26 of the next.
    const high = nextUint32() >>> 5;
    const low = nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  function uniform(low: number, high: number): number {
    if (!(low < high)) {
      if (low === high) return low;
      throw new RangeError(`uniform(${low}, ${high}) needs low < high.`);
    }
    // Rounding can land exactly on `high` when the draw is close to 1; draw again then.
    for (;;) {
      const value = low + (high - low) * nextDouble();
      if (value < high) return value;
    }
  }

  function normal(mean: number, std: number): number {
    if (spare !== undefined) {
      const standard = spare;
      spare = undefined;
      return mean + std * standard;
    }
    const u1 = 1 - nextDouble(); // In (0, 1], so the logarithm is finite.
    const u2 = nextDouble();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    spare = radius * Math.sin(angle);
    return mean + std * radius * Math.cos(angle);
  }

  return { nextUint32, uniform, normal };
}

/** xoshiro128** 1.1 over a four-word state, returning unsigned 32-bit outputs. */
function xoshiro128StarStar(state: Uint32Array): () => number {
  let s0 = state[0]! | 0;
  let s1 = state[1]! | 0;
  let s2 = state[2]! | 0;
  let s3 = state[3]! | 0;
  return () => {
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotateLeft(s3, 11);
    return result >>> 0;
  };
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** SplitMix64 (Steele, Lea and Flood), used only to spread a hash into generator state. */
function splitMix64(seed: bigint): () => bigint {
  let state = seed;
  return () => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  };
}

/** 64-bit FNV-1a over the seed's eight little-endian bytes followed by the key's UTF-8 bytes. */
function fnv1a64(seed: number, key: string): bigint {
  const seedBytes = new Uint8Array(8);
  new DataView(seedBytes.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(seed)), true);
  let hash = 0xcbf29ce484222325n;
  for (const byte of [...seedBytes, ...new TextEncoder().encode(key)]) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  }
  return hash;
}
