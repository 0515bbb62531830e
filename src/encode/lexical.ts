/**
 * Term counting, corpus statistics and BM25 weights for the model-free encoders.
 *
 * The lexical encoder makes the dot product of a query vector and a document vector equal to the
 * BM25 score:
 *
 *   document weight  w_d(t) = tf·(k1 + 1) / (tf + k1·(1 − b + b·dl/avgdl))
 *   query weight     w_q(t) = qtf · ln(1 + (N − df + 0.5) / (df + 0.5))
 *
 * with tf the term's count in the document, dl the document length in terms, avgdl the mean length,
 * N the number of documents and df the documents containing t. qtf (the term's count in the query)
 * matches Anserini, which boosts a repeated query term by its count. Defaults k1 = 0.9, b = 0.4 are
 * Anserini's (tuned on MS MARCO and used for the BEIR "flat" baselines).
 */

import type { SparseVectorInput } from '../types.js';
import type { EnglishAnalyzer } from './english-analyzer.js';
import { bm25Idf } from './idf.js';
import { setWeight } from './pooling.js';
import type { TextTokenizer, TokenizerSpec } from './tokenizer.js';

/** Distinct terms of one text with their counts. */
export interface TermCounts {
  terms: string[];
  counts: number[];
  /** Total number of terms (the document length dl). */
  length: number;
}

/** Turns text into term counts; the terms are the strings stored in vectors. */
export interface TermCounter {
  readonly spec: TokenizerSpec;
  count(text: string): TermCounts;
}

/** Terms are the tokenizer's tokens (e.g. WordPiece pieces); special tokens ([UNK], ...) are skipped. */
export function tokenizerTermCounter(tokenizer: TextTokenizer): TermCounter {
  const counts = new Uint32Array(tokenizer.vocabSize);
  return {
    spec: tokenizer.spec,
    count(text) {
      const ids = tokenizer.encode(text);
      const distinct: number[] = [];
      let length = 0;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (tokenizer.isSpecial[id] === 1 || tokenizer.vocabulary[id] === '') continue;
        if (counts[id]++ === 0) distinct.push(id);
        length++;
      }
      const terms = distinct.map((id) => tokenizer.vocabulary[id]);
      const termCounts = distinct.map((id) => counts[id]);
      for (const id of distinct) counts[id] = 0;
      return { terms, counts: termCounts, length };
    },
  };
}

/** Terms are the analyzer's (stemmed) words. */
export function analyzerTermCounter(analyzer: EnglishAnalyzer): TermCounter {
  return {
    spec: { type: 'english-analyzer', version: 1, stemmer: analyzer.stemmer, stopwords: analyzer.stopwords },
    count(text) {
      const all = analyzer.terms(text);
      const counts = new Map<string, number>();
      for (const term of all) counts.set(term, (counts.get(term) ?? 0) + 1);
      return { terms: [...counts.keys()], counts: [...counts.values()], length: all.length };
    },
  };
}

/** Corpus statistics the BM25 weights need (stored in the encoder spec). */
export interface CorpusStats {
  /** N: number of documents. */
  documents: number;
  /** Sum of document lengths, in terms. */
  totalLength: number;
  /** avgdl = totalLength / documents (1 for an empty corpus, so weights stay finite). */
  averageLength: number;
}

/** First pass over a corpus: counts documents, lengths and document frequencies. */
export class CorpusStatsBuilder {
  private documents = 0;
  private totalLength = 0;
  private readonly df = new Map<string, number>();

  add(counts: TermCounts): void {
    this.documents++;
    this.totalLength += counts.length;
    for (const term of counts.terms) this.df.set(term, (this.df.get(term) ?? 0) + 1);
  }

  stats(): CorpusStats {
    return { documents: this.documents, totalLength: this.totalLength, averageLength: this.documents > 0 && this.totalLength > 0 ? this.totalLength / this.documents : 1 };
  }

  /** BM25 IDF of every term seen. */
  idfTable(): Map<string, number> {
    const table = new Map<string, number>();
    for (const [term, df] of this.df) table.set(term, bm25Idf(this.documents, df));
    return table;
  }
}

export interface Bm25Parameters {
  /** Term-frequency saturation. */
  k1: number;
  /** Length normalisation strength. */
  b: number;
}

/** BM25 document weights (the tf part of BM25). */
export function bm25DocumentVector(counts: TermCounts, params: Bm25Parameters, averageLength: number): SparseVectorInput {
  const norm = params.k1 * (1 - params.b + (params.b * counts.length) / averageLength);
  const vector: SparseVectorInput = {};
  for (let i = 0; i < counts.terms.length; i++) {
    const tf = counts.counts[i];
    setWeight(vector, counts.terms[i], (tf * (params.k1 + 1)) / (tf + norm));
  }
  return vector;
}

/**
 * IDF query weights: idf(t) × qtf when `countRepeats`, else idf(t) once per distinct term. Terms
 * missing from the table (never seen in the corpus, so they match nothing) are left out.
 */
export function idfQueryVector(counts: TermCounts, idf: ReadonlyMap<string, number>, countRepeats: boolean): SparseVectorInput {
  const vector: SparseVectorInput = {};
  for (let i = 0; i < counts.terms.length; i++) {
    const weight = idf.get(counts.terms[i]);
    if (weight === undefined || weight <= 0) continue;
    setWeight(vector, counts.terms[i], countRepeats ? weight * counts.counts[i] : weight);
  }
  return vector;
}
