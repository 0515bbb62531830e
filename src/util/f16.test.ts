import { describe, expect, it } from 'vitest';
import { HALF_TO_FLOAT, roundToHalf, toHalfBits } from './f16.js';

describe('half precision', () => {
  it('round-trips every finite half exactly', () => {
    for (let bits = 0; bits < 0x7c00; bits++) expect(toHalfBits(HALF_TO_FLOAT[bits])).toBe(bits);
  });

  it('rounds to the nearest half with small relative error', () => {
    for (const v of [0.1, 0.333, 1.5, 2.71828, 1234.5678, 6.1e-5, 65504]) {
      expect(Math.abs(roundToHalf(v) - v) / v).toBeLessThan(1e-3);
    }
    expect(roundToHalf(70000)).toBe(Infinity);
    expect(roundToHalf(0)).toBe(0);
  });
});
