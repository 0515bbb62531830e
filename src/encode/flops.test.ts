import { describe, expect, it } from 'vitest';
import { bm25IdfOf, computeFlops, csrFromVectors, documentFrequencies, postingsPerDocument, pruneToFlopsBudget, type CsrMatrix } from './flops.js';
import { Rng } from '../util/rng.js';

/** A random CSR with distinct positive weights and Zipf-like term popularity. */
function randomCsr(seed: number, nRows: number, nTerms: number, maxPerRow: number): CsrMatrix {
  const rng = new Rng(seed);
  const random = (): number => rng.next();
  const rows: Array<Record<string, number>> = [];
  for (let r = 0; r < nRows; r++) {
    const row: Record<string, number> = {};
    const count = 1 + Math.floor(random() * maxPerRow);
    for (let i = 0; i < count; i++) {
      const term = Math.floor(nTerms * random() ** 2); // low ids are frequent
      row[String(term)] = 0.01 + random();
    }
    rows.push(row);
  }
  const ids = new Map<string, number>();
  for (let t = 0; t < nTerms; t++) ids.set(String(t), t);
  return csrFromVectors(rows, ids);
}

function rowsOf(m: CsrMatrix): Array<Map<number, number>> {
  const rows: Array<Map<number, number>> = [];
  for (let r = 0; r < m.nRows; r++) {
    const row = new Map<number, number>();
    for (let i = m.offsets[r]; i < m.offsets[r + 1]; i++) row.set(m.terms[i], m.values[i]);
    rows.push(row);
  }
  return rows;
}

/** FLOPS by its definition: mean number of shared terms over all (query, document) pairs. */
function pairwiseFlops(docs: CsrMatrix, queries: CsrMatrix): number {
  const d = rowsOf(docs);
  const q = rowsOf(queries);
  let shared = 0;
  for (const qr of q) for (const dr of d) for (const t of qr.keys()) if (dr.has(t)) shared++;
  return shared / (q.length * d.length);
}

/** The greedy definition: repeatedly drop the posting with the lowest weight·idf / marginal cost. */
function greedyPrune(m: CsrMatrix, idf: Float32Array, budget: number, queries?: CsrMatrix): Set<string> {
  const live = new Set<string>();
  const df = new Map<number, number>();
  for (let r = 0; r < m.nRows; r++)
    for (let i = m.offsets[r]; i < m.offsets[r + 1]; i++) {
      live.add(`${r}:${m.terms[i]}`);
      df.set(m.terms[i], (df.get(m.terms[i]) ?? 0) + 1);
    }
  const weight = new Map<string, number>();
  for (let r = 0; r < m.nRows; r++) for (let i = m.offsets[r]; i < m.offsets[r + 1]; i++) weight.set(`${r}:${m.terms[i]}`, m.values[i]);
  const n = m.nRows;
  const dfQ = queries === undefined ? null : documentFrequencies(queries);
  const flops = (): number => {
    let sum = 0;
    for (const [t, d] of df) sum += dfQ === null ? d * d : (dfQ[t] ?? 0) * d;
    return dfQ === null ? sum / (n * n) : sum / ((queries as CsrMatrix).nRows * n);
  };
  while (flops() > budget) {
    let worst = '';
    let worstRatio = Infinity;
    for (const key of live) {
      const t = Number(key.split(':')[1]);
      const d = df.get(t) as number;
      const cost = dfQ === null ? (2 * d - 1) / (n * n) : dfQ[t] / ((queries as CsrMatrix).nRows * n);
      if (cost === 0) continue;
      const ratio = ((weight.get(key) as number) * idf[t]) / cost;
      if (ratio < worstRatio) {
        worstRatio = ratio;
        worst = key;
      }
    }
    live.delete(worst);
    const t = Number(worst.split(':')[1]);
    df.set(t, (df.get(t) as number) - 1);
  }
  return live;
}

function keys(m: CsrMatrix): Set<string> {
  const out = new Set<string>();
  for (let r = 0; r < m.nRows; r++) for (let i = m.offsets[r]; i < m.offsets[r + 1]; i++) out.add(`${r}:${m.terms[i]}`);
  return out;
}

describe('computeFlops', () => {
  it('equals the mean number of shared terms over query-document pairs', () => {
    const docs = randomCsr(1, 40, 30, 8);
    const queries = randomCsr(2, 15, 30, 4);
    expect(computeFlops(docs, queries)).toBeCloseTo(pairwiseFlops(docs, queries), 12);
    expect(computeFlops(docs)).toBeCloseTo(pairwiseFlops(docs, docs), 12);
  });

  it('summarises postings per document', () => {
    const m = csrFromVectors([{ a: 1 }, { a: 1, b: 2, c: 3 }, {}, { b: 1, c: 1 }], new Map());
    expect(postingsPerDocument(m)).toEqual({ total: 6, mean: 1.5, min: 0, median: 2, p90: 3, max: 3 });
  });
});

describe('pruneToFlopsBudget', () => {
  const idfOf = (m: CsrMatrix): Float32Array => {
    const df = documentFrequencies(m);
    const idf = Float32Array.from(df, (d) => Math.log(1 + (m.nRows - d + 0.5) / (d + 0.5)));
    expect(bm25IdfOf(m)).toEqual(idf);
    return idf;
  };

  it('matches the greedy value-per-cost order (p_q = p_d)', () => {
    const m = randomCsr(3, 60, 25, 10);
    const idf = idfOf(m);
    const before = computeFlops(m);
    for (const fraction of [0.8, 0.5, 0.2]) {
      const budget = before * fraction;
      const result = pruneToFlopsBudget(m, idf, { flopsBudget: budget });
      expect(result.flopsBefore).toBeCloseTo(before, 12);
      expect(result.flopsAfter).toBeLessThanOrEqual(budget);
      expect(keys(result.matrix)).toEqual(greedyPrune(m, idf, budget));
    }
  });

  it('matches the greedy order with a query sample, and keeps terms no query uses', () => {
    const m = randomCsr(4, 50, 25, 10);
    const queries = randomCsr(5, 20, 12, 3); // queries only use terms < 12
    const idf = idfOf(m);
    const budget = computeFlops(m, queries) * 0.4;
    const result = pruneToFlopsBudget(m, idf, { flopsBudget: budget, queries });
    expect(result.flopsAfter).toBeLessThanOrEqual(budget);
    expect(keys(result.matrix)).toEqual(greedyPrune(m, idf, budget, queries));
    const df = documentFrequencies(result.matrix);
    const dfBefore = documentFrequencies(m);
    for (let t = 12; t < 25; t++) expect(df[t]).toBe(dfBefore[t]);
  });

  it('prunes frequent low-IDF terms before rare ones', () => {
    // Term 0 is in every document with a large weight; term 1 is rare with a small weight.
    const rows = Array.from({ length: 20 }, (_, r): Record<string, number> => (r < 2 ? { common: 2, rare: 0.5 } : { common: 2 }));
    const m = csrFromVectors(rows, new Map());
    const idf = idfOf(m);
    const result = pruneToFlopsBudget(m, idf, { flopsBudget: computeFlops(m) * 0.5 });
    const df = documentFrequencies(result.matrix);
    expect(df[1]).toBe(2);
    expect(df[0]).toBeLessThan(20);
  });

  it('applies minWeight and maxTermsPerDoc (by weight × idf) and leaves the input untouched', () => {
    const m = csrFromVectors([{ a: 0.1, b: 0.5, c: 0.9, d: 0.3 }, { a: 1, b: 0.05 }], new Map());
    const copy = m.values.slice();
    const idf = Float32Array.of(1, 1, 0.1, 1); // c has a large weight but a tiny idf
    const result = pruneToFlopsBudget(m, idf, { minWeight: 0.2, maxTermsPerDoc: 2 });
    expect(rowsOf(result.matrix).map((row) => [...row.keys()].sort())).toEqual([[1, 3], [0]]);
    expect(m.values).toEqual(copy);
    expect(result.postingsBefore).toBe(6);
    expect(result.postingsAfter).toBe(3);
  });

  it('reaches a zero budget by removing everything costly', () => {
    const m = randomCsr(6, 30, 10, 5);
    const result = pruneToFlopsBudget(m, idfOf(m), { flopsBudget: 0 });
    expect(result.flopsAfter).toBe(0);
    expect(result.postingsAfter).toBe(0);
  });
});
