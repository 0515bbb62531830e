/**
 * Small, fast, seeded pseudo-random numbers for the synthetic data generator and benchmarks.
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
export function mix32(x: number): number {
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

/**
 * Walker/Vose alias table: O(1) sampling from a fixed discrete distribution. Used for Zipf term
 * popularity, where a CDF binary search (15 steps over 30k terms) would be the generator's hot spot.
 */
export class AliasTable {
  readonly size: number;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  /** `weights` need not be normalised; they must be finite, ≥ 0, with a positive sum. */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error('AliasTable needs at least one weight');
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`AliasTable weight ${i} is not a finite non-negative number`);
      sum += w;
    }
    if (!(sum > 0)) throw new Error('AliasTable weights sum to zero');
    this.size = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / sum;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    // Leftovers are 1 up to rounding error.
    while (nl > 0) {
      const l = large[--nl];
      this.prob[l] = 1;
      this.alias[l] = l;
    }
    while (ns > 0) {
      const s = small[--ns];
      this.prob[s] = 1;
      this.alias[s] = s;
    }
  }

  /** Draws an index in [0, size) with probability proportional to its weight. */
  sample(rng: Rng): number {
    const x = rng.next() * this.size;
    const i = Math.floor(x);
    return x - i < this.prob[i] ? i : this.alias[i];
  }
}

/** Zipf–Mandelbrot weights `1 / (rank + 1 + offset)^exponent` for ranks 0..n-1. */
export function zipfWeights(n: number, exponent: number, offset = 0): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = 1 / Math.pow(r + 1 + offset, exponent);
  return w;
}
