/** Seeded random sparse corpora for differential tests (small, skewed, with ties and empties). */
import { Rng } from '../../src/util/rng.js';
import type { DocumentInput, SparseVectorInput } from '../../src/types.js';

export interface RandomCorpusOptions {
  docs: number;
  queries: number;
  vocabulary: number;
  seed: number;
  /** Round weights to this many decimals, which creates exact score ties. */
  decimals?: number;
}

function randomVector(rng: Rng, vocabulary: number, minTerms: number, maxTerms: number, decimals: number): SparseVectorInput {
  const n = minTerms + rng.int(maxTerms - minTerms + 1);
  const vector: SparseVectorInput = {};
  for (let i = 0; i < n; i++) {
    // Squaring a uniform draw skews popularity towards low term ids, like Zipf-distributed vocabularies.
    const term = Math.floor(rng.next() ** 2 * vocabulary);
    const weight = Number((0.01 + -Math.log(1 - rng.next()) * 0.8).toFixed(decimals));
    vector[`tok${term}`] = weight;
  }
  return vector;
}

/** A generated document: its id is always a string (`d<n>`). */
export type RandomDocument = DocumentInput & { id: string };

export function randomCorpus(options: RandomCorpusOptions): { documents: RandomDocument[]; queries: SparseVectorInput[] } {
  const rng = new Rng(options.seed);
  const decimals = options.decimals ?? 3;
  const documents: RandomDocument[] = [];
  for (let i = 0; i < options.docs; i++) {
    const vector = i % 97 === 5 ? {} : randomVector(rng, options.vocabulary, 3, 60, decimals);
    documents.push({ id: `d${i}`, vector, content: `document ${i}`, metadata: { n: i, even: i % 2 === 0 } });
  }
  const queries: SparseVectorInput[] = [];
  for (let i = 0; i < options.queries; i++) queries.push(randomVector(rng, options.vocabulary, 1, 25, decimals));
  return { documents, queries };
}

/** Independent brute-force top-k in float64 (no index code involved). */
export function bruteForceTopK(documents: DocumentInput[], query: SparseVectorInput, k: number): Array<{ id: string; score: number }> {
  const scored: Array<{ id: string; score: number; order: number }> = [];
  documents.forEach((doc, order) => {
    let score = 0;
    for (const token in query) if (token in doc.vector) score += query[token] * doc.vector[token];
    if (score > 0) scored.push({ id: String(doc.id), score, order });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, k).map(({ id, score }) => ({ id, score }));
}
