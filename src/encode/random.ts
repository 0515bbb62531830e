/**
 * A tiny seeded pseudo-random generator (mulberry32).
 *
 * Used wherever the encoder needs reproducible "random" numbers (the tiny test model's weights), so a
 * seed always yields bit-identical files on every platform: `Math.random` cannot be seeded.
 */

/** Returns a function yielding uniformly distributed floats in [0, 1), fully determined by `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a new Float32Array of `length` with uniform values in [-scale, scale). */
export function uniformFloats(random: () => number, length: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 2 - 1) * scale;
  return out;
}
