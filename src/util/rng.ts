/**
 * Small, fast, seeded pseudo-random numbers: every random choice in spladex (centroid sampling,
 * synthetic data, the tiny test model's weights, property tests) goes through this, so builds,
 * fixtures and benchmarks are reproducible from a seed.
 *
 * `Math.random` cannot be seeded, and the generator must write byte-identical files for the same
 * seed, so we carry our own PRNG. sfc32 (Chris Doty-Humphrey's "small fast counting" generator,
 * 128-bit state, passes PractRand to multiple TB) is chosen because it needs only 32-bit integer
 * operations, which V8 compiles to plain machine instructions — no BigInt, no allocation per draw.
 *
 * Every stream of randomness is derived from `(seed, stream, index)` by hashing, so document `i`
 * can be regenerated on its own (the query generator does this to rebuild a query's source
 * document) without replaying documents `0..i-1`.
 */

/** murmur3's 32-bit finaliser: a bijective avalanche mix, so nearby inputs give unrelated outputs. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes up to three 32-bit words into one (order-sensitive). */
export function hash3(a: number, b: number, c: number): number {
  // Golden-ratio multipliers keep (a, b, c) and permutations of it apart before the final avalanche.
  let h = mix32((a >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul((b >>> 0) + 0x7f4a7c15, 0x9e3779b1));
  h = mix32(h ^ Math.imul((c >>> 0) + 0x165667b1, 0x85ebca77));
  return h;
}

const TWO_POW_32 = 4294967296;

/**
 * sfc32 generator. Mutable on purpose: hot loops reseed one instance per document with
 * {@link Rng.reseed} instead of allocating a new object per document.
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  /** Second Box–Muller output, kept so that `normal()` costs one log/sqrt per two draws. */
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number, stream = 0, index = 0) {
    this.reseed(seed, stream, index);
  }

  /** Restarts the generator on the stream identified by `(seed, stream, index)`. */
  reseed(seed: number, stream = 0, index = 0): void {
    const h = hash3(seed, stream, index);
    this.a = h;
    this.b = mix32(h ^ 0x6a09e667);
    this.c = mix32(h ^ 0xbb67ae85);
    this.d = 1; // sfc32's counter word; 1 rather than 0 is the reference seeding.
    this.hasSpare = false;
    // The reference implementation discards the first 12 outputs so the state is well mixed.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution (ample for sampling, and twice as fast as 53). */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32. The tiny modulo bias of the multiply method is irrelevant here. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal deviate (Box–Muller). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // 1 - next() is in (0, 1], so the log is finite.
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** A generator for (seed, salt), e.g. one per posting list, independent of any other stream. */
export function rngFor(seed: number, salt: number): Rng {
  return new Rng(seed, salt);
}

/** Fills a new Float32Array of `length` with uniform values in [-scale, scale). */
export function uniformFloats(rng: Rng, length: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}
