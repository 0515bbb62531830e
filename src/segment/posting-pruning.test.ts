import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { DocumentInput } from '../types.js';
import { resolvePostingPruning } from './posting-pruning.js';
import { verifyIndex } from '../reader/verify.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-posting-pruning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('posting pruning options', () => {
  it('defaults to off and names a bad option', () => {
    expect(resolvePostingPruning()).toEqual({ flopsBudget: 0, maxTermsPerDoc: 0, minWeight: 0 });
    for (const bad of [{ flopsBudget: -1 }, { maxTermsPerDoc: 1.5 }, { minWeight: Number.NaN }]) {
      try {
        resolvePostingPruning(bad);
        throw new Error('accepted');
      } catch (error) {
        expect(isSpladexError(error, 'E_OPTION')).toBe(true);
        expect((error as Error).message).toContain(Object.keys(bad)[0]);
      }
    }
  });
});

describe('pruned forward index', () => {
  it('narrows 32-bit term ids to 16 bits when pruning shrinks the vocabulary below 65,536 terms', async () => {
    // 70,000 distinct terms (over 16 bits) spread over few documents keep the build cheap: what
    // matters is the vocabulary's size, not the number of documents. Terms u0 … u59999 survive
    // minWeight, the rest do not, which leaves 60,001 terms (with x): 16-bit ids again.
    const TERMS_PER_DOC = 70;
    const docs: DocumentInput[] = [];
    for (let i = 0; i < 1000; i++) {
      const vector: Record<string, number> = { x: 0.5 };
      for (let j = 0; j < TERMS_PER_DOC; j++) {
        const term = i * TERMS_PER_DOC + j;
        vector[`u${term}`] = term < 60_000 ? 1 : 0.01;
      }
      docs.push({ id: `d${i}`, vector });
    }
    const out = join(dir, 'narrow');
    const summary = await buildIndex(docs, out, { minWeight: 0.1, pruning: 'none', summaryEnergy: 1, maxSummaryTerms: 0, forwardValues: 'f32' });
    expect(summary.vocabularySize).toBe(60_001);
    expect(summary.postings).toBe(61_000);
    expect(summary.postingPruning).toMatchObject({ postingsBefore: 71_000, postingsAfter: 61_000 });
    const index = SpladexIndex.open(out);
    try {
      // u5 and u7 are in d0, u69999 (pruned) was in d999, u60000 … u60059 in d857.
      expect(index.search({ u5: 1 }, { mode: 'exhaustive' })).toEqual([{ id: 'd0', score: 1 }]);
      expect(index.search({ u65000: 1 }, { mode: 'exhaustive' })).toEqual([]);
      expect(index.search({ u69999: 1 }, { mode: 'exhaustive' })).toEqual([]);
      expect(index.search({ x: 2, u59999: 1 }, { k: 2, mode: 'exhaustive' })[0]).toEqual({ id: 'd857', score: 2 });
      expect(index.flops().postingsPerDocument).toMatchObject({ p50: 71, max: 71 });
      expect(index.info().bytes.parts['fwd.terms']).toBeLessThanOrEqual(61_000 * 2 + 8);
    } finally {
      index.close();
    }
    expect(verifyIndex(out).ok).toBe(true);
  });
});
