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
    const docs: DocumentInput[] = [];
    for (let i = 0; i < 70_000; i++) docs.push({ id: `d${i}`, vector: { [`u${i}`]: i < 60_000 ? 1 : 0.01, x: 0.5 } });
    const out = join(dir, 'narrow');
    const summary = await buildIndex(docs, out, { minWeight: 0.1, pruning: 'none', summaryEnergy: 1, maxSummaryTerms: 0, forwardValues: 'f32' });
    expect(summary.vocabularySize).toBe(60_001);
    expect(summary.postings).toBe(130_000);
    expect(summary.postingPruning).toMatchObject({ postingsBefore: 140_000, postingsAfter: 130_000 });
    const index = SpladexIndex.open(out);
    try {
      expect(index.search({ u5: 1 }, { mode: 'exhaustive' })).toEqual([{ id: 'd5', score: 1 }]);
      expect(index.search({ u65000: 1 }, { mode: 'exhaustive' })).toEqual([]);
      expect(index.search({ x: 2, u7: 1 }, { k: 2, mode: 'exhaustive' })[0]).toEqual({ id: 'd7', score: 2 });
      expect(index.flops().postingsPerDocument).toMatchObject({ p50: 2, max: 2 });
      expect(index.info().bytes.parts['fwd.terms']).toBeLessThanOrEqual(130_000 * 2 + 8);
    } finally {
      index.close();
    }
    expect(verifyIndex(out).ok).toBe(true);
  });
});
