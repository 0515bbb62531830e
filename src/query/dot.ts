/**
 * Dot products of a dense query with forward-index documents: the innermost loop of every search
 * mode. Each value storage type has its own monomorphic kernel so V8 compiles a tight loop.
 *
 * Half floats are decoded arithmetically — (mantissa + implicit bit) × 2^(exponent − 25) from two
 * 32-entry tables — instead of through a 64K-entry table: the big table costs 256 KiB of cache that
 * the dense query array (120 KiB for BERT) needs more. The result is exactly the half's value, so
 * every mode (approximate, exhaustive, MaxScore) computes bit-identical scores.
 */
import type { ForwardIndex, TermIdArray } from '../index/forward.js';

/** 2^(e − 25) for normal exponents, 2^−24 for subnormals (e = 0). */
const HALF_SCALE = new Float64Array(32);
/** The implicit leading 1 (1024 in mantissa units) of normal halves; 0 for subnormals. */
const HALF_IMPLICIT = new Float64Array(32);
for (let e = 0; e < 32; e++) {
  HALF_SCALE[e] = e === 0 ? 2 ** -24 : 2 ** (e - 25);
  HALF_IMPLICIT[e] = e === 0 ? 0 : 1024;
}

/**
 * The common signature of the kernels, so a searcher picks one per segment and calls it through a
 * variable: in a process that uses one value type the call site stays monomorphic and V8 inlines
 * it, which measured ~10% faster than choosing among three calls per candidate.
 */
export type DotKernel = (dense: Float32Array, terms: TermIdArray, values: ForwardIndex['values'], codebook: Float32Array, start: number, end: number) => number;

/** f16 values (non-negative: spladex rejects negative weights, so the sign bit is never set). */
export function dotHalf(dense: Float32Array, terms: TermIdArray, values: Uint16Array, _codebook: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) {
    const bits = values[j];
    const exponent = bits >>> 10;
    score += dense[terms[j]] * (HALF_SCALE[exponent] * ((bits & 1023) + HALF_IMPLICIT[exponent]));
  }
  return score;
}

/** u8 codebook indices. */
export function dotCodebook(dense: Float32Array, terms: TermIdArray, values: Uint8Array, codebook: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) score += dense[terms[j]] * codebook[values[j]];
  return score;
}

/** Raw float32 values. */
export function dotFloat(dense: Float32Array, terms: TermIdArray, values: Float32Array, _codebook: Float32Array, start: number, end: number): number {
  let score = 0;
  for (let j = start; j < end; j++) score += dense[terms[j]] * values[j];
  return score;
}

/** The kernel of a forward index's value storage. */
export function kernelFor(forward: ForwardIndex): DotKernel {
  return (forward.valueType === 'f16' ? dotHalf : forward.valueType === 'u8' ? dotCodebook : dotFloat) as DotKernel;
}

