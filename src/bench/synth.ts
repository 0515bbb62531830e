/**
 * Seeded synthetic SPLADE-like collections.
 *
 * Real learned sparse collections are large and licensed; benchmarks and tests need something with
 * the same *shape* that anyone can regenerate from a seed. The shape that matters to a
 * Seismic-style index is:
 *
 * - **Zipf-like term popularity** with a few very common terms (long posting lists) and a long tail.
 * - **Topical structure**: documents about the same subject share many terms, so blocks of a posting
 *   list cluster well and a query has a few strongly matching documents plus a long tail.
 * - **Realistic sizes and weights**: ≈120 non-zeros per document, ≈40 per query, weights mostly in
 *   0.01–3 with a heavy head.
 *
 * Model. K latent topics each own `topicTerms` terms (mostly mid/rare words) with a Zipf weight
 * inside the topic; topics themselves have Zipf popularity. Documents come in small *families*
 * (≈8 members, like the passages of one web page) that share a primary topic and ~48 salient terms
 * of their own. A document takes ~25% of its terms from its family, then `topicalFraction` of the
 * rest from its 1–3 topics and the remainder from the global Zipf "background" (where the very
 * common terms come from). A query picks a *source document*, takes some of its strongest terms,
 * expands with terms of the source's topics (SPLADE's query expansion) and a few background terms.
 * So each query has a few strongly matching documents (the source and its siblings), the rest of
 * its topic as a tail, and everything sharing common terms as noise.
 *
 * Weights. Inside one vector, every term gets an importance key (topic share, rank in the topic,
 * rarity, plus noise) and the terms are ranked by it; the i-th ranked term receives the weight at
 * quantile `1 - (i + u)/n` of the calibrated weight distribution (stratified sampling). This
 * reproduces the real marginal weight distribution exactly, gives a realistic per-vector weight
 * profile (a few weights ≈2–3, a long tail near 0), and needs one typed-array sort per vector.
 *
 * Determinism. Document `i` is generated from its own PRNG stream `(seed, DOC_STREAM, i)`, so the
 * query generator can rebuild any source document without replaying the collection, and the same
 * seed and options always give byte-identical output (only integer ops, `Math.log/exp/sqrt/cos/sin`
 * and `String(number)` are involved; all are deterministic within one Node.js version).
 *
 * Vocabulary. By default tokens are synthetic names `t0` … `t30521` (BERT-base-uncased has 30,522
 * entries), so nothing outside the repository is needed at run time. Pass `vocab` (e.g. the lines
 * of a `bert-base-uncased` `vocab.txt`, see {@link readVocabFile}) to emit real WordPiece tokens;
 * special entries such as `[PAD]`, `[CLS]`, `[unused17]` are skipped because SPLADE never
 * activates them. Popularity follows vocabulary order with seeded jitter: BERT's vocabulary is
 * roughly frequency-ordered, so with the real vocabulary common words are also the common terms.
 */

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { SpladexError, checkRange } from '../errors.js';
import type { DocumentInput, QueryInput } from '../types.js';
import { AliasTable, Rng, hash3, zipfWeights } from './prng.js';
import { pathExists } from '../util/fs.js';

// ---------------------------------------------------------------------------------------------
// Calibration constants.
//
// Derived once (throwaway script, data not committed) from the files in ../shared/data/vectors/:
//   - seismic-toy/documents.jsonl: 20 real SPLADE documents, 2,900 weights. Non-zeros per document:
//     mean 145 (152.6 over the 19 non-empty ones), sd 44 → coefficient of variation ≈ 0.30.
//     Weights: median 0.278, p90 1.08, p99 1.99, max 2.63; per-document max ≈ 2.25 on average.
//   - msmarco-dev-subset.splade-pp-ed.queries.jsonl: 6,980 SPLADE++ ED query vectors, 306,751
//     weights. That file stores weights ×10 relative to the model's output (its "brother" is 24.43
//     where seismic-toy/queries.jsonl has 2.443 for the same query), so the quantiles below are
//     divided by 10. Non-zeros per query: mean 43.9, sd 16.2 (cv 0.37), min 9, max 109.
//     Weights: median 0.268, p90 1.56, p99 2.87, max 3.57; per-query max ≈ 2.72 on average.
//   - scifact-test.splade-pp-ed.queries.jsonl (300 queries) agrees on weights (median 0.33, p99
//     2.19, max 3.33) but has longer queries (mean 79.5 non-zeros: long scientific claims), so the
//     MS MARCO numbers set the query defaults.
// The default ≈120 terms per document follows the Seismic paper's MS MARCO SPLADE statistics
// (≈119 non-zeros per document, ≈43 per query); the 20 toy documents are slightly longer.
// ---------------------------------------------------------------------------------------------

/** Quantile levels at which the weight distributions below are tabulated. */
const QUANTILE_LEVELS = [
  0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95,
  0.97, 0.98, 0.99, 0.995, 0.999, 1,
];
/** Document weight quantiles (seismic-toy/documents.jsonl). */
const DOC_WEIGHT_QUANTILES = [
  0.000976, 0.00778, 0.0222, 0.0439, 0.0643, 0.0894, 0.111, 0.135, 0.169, 0.206, 0.239, 0.278, 0.328, 0.383, 0.456,
  0.534, 0.629, 0.752, 0.904, 1.08, 1.26, 1.4, 1.62, 1.71, 1.99, 2.16, 2.59, 2.63,
];
/** Query weight quantiles (msmarco-dev-subset SPLADE++ ED queries, divided by 10, see above). */
const QUERY_WEIGHT_QUANTILES = [
  0.001, 0.009, 0.02, 0.041, 0.062, 0.086, 0.111, 0.137, 0.165, 0.196, 0.23, 0.268, 0.311, 0.363, 0.425, 0.506, 0.617,
  0.792, 1.1, 1.56, 1.86, 2.1, 2.4, 2.59, 2.87, 3.05, 3.28, 3.57,
];
/** Lognormal σ of the number of non-zeros: √ln(1 + cv²) with cv 0.30 (documents) and 0.37 (queries). */
const DOC_LENGTH_SIGMA = 0.29;
const QUERY_LENGTH_SIGMA = 0.36;
/** Per-vector weight scale jitter (lognormal σ): real vectors differ in overall magnitude a little. */
const VECTOR_SCALE_SIGMA = 0.08;
/** Smallest weight written; keeps 4-significant-digit output strictly positive. */
const MIN_WEIGHT = 1e-4;

// Structural constants that are not worth a public option (documented here instead).
/** Zipf exponent of topic popularity: some subjects are much more common than others. */
const TOPIC_POPULARITY_EXPONENT = 0.7;
/** Zipf exponent of term importance inside a topic. */
const TOPIC_TERM_EXPONENT = 1.0;
/**
 * Topic words are drawn with weight ∝ 1/(rank + TOPIC_WORD_OFFSET)^TOPIC_WORD_EXPONENT over global
 * popularity ranks: the offset keeps the few hundred function-word-like terms mostly out of topics,
 * the small exponent spreads topics over the mid and rare vocabulary, like content words.
 */
const TOPIC_WORD_OFFSET = 300;
const TOPIC_WORD_EXPONENT = 0.5;
/** Offset of the Zipf–Mandelbrot background law: flattens the very top so no term is in ~100% of documents. */
const BACKGROUND_ZIPF_OFFSET = 2.7;
/** Probability that a document has 1, 2 or 3 topics (cumulative). */
const TOPIC_COUNT_CDF = [0.5, 0.85, 1];
/** Std. dev. of the Gaussian noise added to importance keys: how loosely weight follows importance. */
const KEY_NOISE = 0.8;
/** Fraction of a query's non-source terms that come from the source's topics (the rest: background). */
const QUERY_TOPICAL_SHARE = 0.8;
/** Hard cap on non-zeros per vector; also the index field width used when packing sort keys. */
const MAX_VECTOR_TERMS = 4095;
const KEY_PACK = 4096;
/** Importance keys are quantised to 1/1024 before packing with the term's slot (see `rankTerms`). */
const KEY_SCALE = 1024;
/** Popularity position of the first single character / "##" piece of a real vocabulary, and the step between them. */
const PIECE_POPULARITY_START = 2000;
const PIECE_POPULARITY_SPREAD = 4;
/** Upper bound of topics × topicTerms, i.e. 200 MB of topic table. */
const MAX_TOPIC_SLOTS = 50_000_000;

/**
 * Documents come in *families* of ≈FAMILY_SIZE (like the passages of one web page in MS MARCO):
 * a family has a primary topic and FAMILY_TERMS terms of its own — mostly top terms of its topic
 * plus some rare, entity-like terms — and each member draws FAMILY_FRACTION of its terms from them
 * with high importance. This gives each query a few strongly matching documents (the source's
 * siblings) before the topical tail. Membership is a hash of the document index, so families are
 * scattered over the id space rather than contiguous.
 */
const FAMILY_SIZE = 8;
const FAMILY_TOPIC_TERMS = 32;
const FAMILY_RARE_TERMS = 16;
const FAMILY_TERMS = FAMILY_TOPIC_TERMS + FAMILY_RARE_TERMS;
const FAMILY_FRACTION = 0.25;

const DOC_STREAM = 1;
const QUERY_STREAM = 2;
const TOPIC_STREAM = 3;
const VOCAB_STREAM = 4;
const FAMILY_STREAM = 5;
const FAMILY_ASSIGN_STREAM = 6;

/** The BERT-base-uncased vocabulary size, used for synthetic token names. */
export const BERT_VOCAB_SIZE = 30522;

/** Options of the synthetic collection. */
export interface SynthOptions {
  /**
   * Number of documents. Default 10,000; range [1, 100,000,000]. Family membership depends on it,
   * so a 1,000-document collection is not a prefix of a 2,000-document one with the same seed.
   */
  docs: number;
  /** Number of queries. Default 100; range [0, 10,000,000]. */
  queries: number;
  /** PRNG seed; the same seed and options give byte-identical output. Default 42; integer in [0, 2^32 − 1]. */
  seed: number;
  /** Mean non-zeros per document (lognormal, cv 0.30). Default 120; range [1, 1000]. */
  avgDocTerms: number;
  /** Mean non-zeros per query (lognormal, cv 0.37). Default 40; range [1, 1000]. */
  avgQueryTerms: number;
  /**
   * Number of latent topics. More topics → smaller, sharper clusters. Default 1,000; range
   * [1, 1,000,000], with topics × topicTerms ≤ 50,000,000.
   */
  topics: number;
  /** Terms owned by each topic. Default 300; range [8, vocabulary size]. */
  topicTerms: number;
  /**
   * Exponent s of the background term popularity law 1/(rank + 2.7)^s. Larger → a heavier head
   * (more terms in a large fraction of documents). Default 1.0; range [0, 3].
   */
  zipfExponent: number;
  /**
   * Fraction of a document's non-family terms (≈75% of them) drawn from its topics; the rest come
   * from the background Zipf law. Default 0.7; range [0, 1].
   */
  topicalFraction: number;
  /**
   * Fraction of a query's terms taken from its source document (biased to the document's strongest
   * terms); the rest expand the source's topics. 0 gives pure topic-mixture queries. Default 0.5; range [0, 1].
   */
  queryDocFraction: number;
  /** Synthetic vocabulary size when `vocab` is not given (tokens `t0` … `t{n-1}`). Default 30,522; range [1,000, 10,000,000]. */
  vocabSize: number;
  /**
   * Real token strings in vocabulary order (e.g. from {@link readVocabFile}). Entries like `[PAD]`
   * or `[unused3]` are skipped. Default: none (synthetic names). Needs ≥ 1,000 usable tokens.
   */
  vocab?: readonly string[];
  /** Prefix of document ids (`d0`, `d1`, …); no whitespace. Default `'d'`. */
  docIdPrefix: string;
  /** Prefix of query ids (`q0`, `q1`, …); no whitespace. Default `'q'`. */
  queryIdPrefix: string;
}

/** Defaults of {@link SynthOptions}; the CLI uses the same object. */
export const SYNTH_DEFAULTS: Readonly<Omit<SynthOptions, 'vocab'>> = Object.freeze({
  docs: 10_000,
  queries: 100,
  seed: 42,
  avgDocTerms: 120,
  avgQueryTerms: 40,
  topics: 1000,
  topicTerms: 300,
  zipfExponent: 1.0,
  topicalFraction: 0.7,
  queryDocFraction: 0.5,
  vocabSize: BERT_VOCAB_SIZE,
  docIdPrefix: 'd',
  queryIdPrefix: 'q',
});

/** A generated document: a {@link DocumentInput} with a string id. */
export interface SyntheticDocument extends DocumentInput {
  id: string;
}

/** A generated query, with the id of the document it was derived from (its designated relevant document). */
export interface SyntheticQuery extends QueryInput {
  id: string;
  sourceId: string;
}

/** Scratch space for one vector; reused across vectors so generation allocates nothing per document. */
class VectorScratch {
  readonly terms: Int32Array;
  readonly weights: Float64Array;
  /** Importance key of each slot, before ranking. */
  readonly keys: Float64Array;
  /** Packed (key, slot) values to sort. */
  readonly packed: Float64Array;
  /** Terms in descending weight order after `rankAndWeigh` (`weights[r]` is the weight of `rankedTerms[r]`). */
  readonly rankedTerms: Int32Array;
  count = 0;
  topicIds = new Int32Array(3);
  topicMix = new Float64Array(3);
  topicCount = 0;

  constructor(capacity: number) {
    this.terms = new Int32Array(capacity);
    this.weights = new Float64Array(capacity);
    this.keys = new Float64Array(capacity);
    this.packed = new Float64Array(capacity);
    this.rankedTerms = new Int32Array(capacity);
  }
}

/** Builds a 1024-step inverse-CDF lookup table from tabulated quantiles (log-linear between knots). */
function buildQuantileTable(levels: readonly number[], values: readonly number[]): Float64Array {
  const steps = 1024;
  const table = new Float64Array(steps + 1);
  let k = 0;
  for (let i = 0; i <= steps; i++) {
    const u = i / steps;
    while (k < levels.length - 2 && u > levels[k + 1]) k++;
    const t = (u - levels[k]) / (levels[k + 1] - levels[k]);
    // Weights span three orders of magnitude; interpolating logs keeps the lower tail's shape.
    table[i] = Math.exp(Math.log(values[k]) * (1 - t) + Math.log(values[k + 1]) * t);
  }
  return table;
}

const DOC_QUANTILE_TABLE = buildQuantileTable(QUANTILE_LEVELS, DOC_WEIGHT_QUANTILES);
const QUERY_QUANTILE_TABLE = buildQuantileTable(QUANTILE_LEVELS, QUERY_WEIGHT_QUANTILES);

/** Linear interpolation in a quantile table at level u ∈ [0, 1]. */
function quantileAt(table: Float64Array, u: number): number {
  const x = u * (table.length - 1);
  const i = Math.min(Math.floor(x), table.length - 2);
  const t = x - i;
  return table[i] * (1 - t) + table[i + 1] * t;
}

/**
 * Formats a weight with 4 significant digits and no trailing zeros. `Math.round(x·10^q) / 10^q`
 * is the double nearest the decimal k·10^-q, and V8 prints the shortest string that round-trips,
 * i.e. that decimal: faster than `toPrecision` + trimming and byte-stable.
 */
export function formatWeight(x: number): string {
  if (x >= 1000) return String(Math.round(x));
  const scale = x >= 100 ? 10 : x >= 10 ? 100 : x >= 1 ? 1e3 : x >= 0.1 ? 1e4 : x >= 0.01 ? 1e5 : x >= 0.001 ? 1e6 : 1e7;
  return String(Math.round(x * scale) / scale);
}

/** Reads a WordPiece `vocab.txt` (one token per line, line number = token id). */
export async function readVocabFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot read the vocabulary file; check the path (one token per line, like BERT's vocab.txt)`, { file: path, cause });
  }
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const seen = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) {
    const prev = seen.get(tokens[i]);
    if (prev !== undefined) {
      throw new SpladexError('E_INPUT_DUPLICATE_ID', `token ${JSON.stringify(tokens[i])} already appears on line ${prev + 1}; a vocabulary needs unique tokens`, { file: path, line: i + 1 });
    }
    seen.set(tokens[i], i);
  }
  return tokens;
}

/** True for BERT special entries (`[PAD]`, `[CLS]`, `[unused42]`, …), which SPLADE never activates. */
function isSpecialToken(token: string): boolean {
  return token.length >= 2 && token.startsWith('[') && token.endsWith(']');
}

/** Validates options and fills defaults. Throws `E_OPTION` naming the bad option. */
export function resolveSynthOptions(options: Partial<SynthOptions> = {}): SynthOptions {
  const o: SynthOptions = { ...SYNTH_DEFAULTS, ...stripUndefined(options) };
  checkRange('docs', o.docs, 1, 100_000_000, true);
  checkRange('queries', o.queries, 0, 10_000_000, true);
  checkRange('seed', o.seed, 0, 0xffffffff, true);
  checkRange('avgDocTerms', o.avgDocTerms, 1, 1000);
  checkRange('avgQueryTerms', o.avgQueryTerms, 1, 1000);
  checkRange('topics', o.topics, 1, 1_000_000, true);
  checkRange('zipfExponent', o.zipfExponent, 0, 3);
  checkRange('topicalFraction', o.topicalFraction, 0, 1);
  checkRange('queryDocFraction', o.queryDocFraction, 0, 1);
  checkRange('vocabSize', o.vocabSize, 1000, 10_000_000, true);
  const usable = o.vocab ? o.vocab.filter((t) => !isSpecialToken(t)).length : o.vocabSize;
  if (o.vocab && usable < 1000) {
    throw new SpladexError('E_OPTION', `option vocab has ${usable} usable tokens; at least 1000 are needed (special tokens like [PAD] are skipped)`);
  }
  checkRange('topicTerms', o.topicTerms, 8, usable, true);
  if (o.topics * o.topicTerms > MAX_TOPIC_SLOTS) {
    // The topic table is an Int32Array of topics × topicTerms entries.
    throw new SpladexError('E_OPTION', `options topics × topicTerms = ${o.topics * o.topicTerms} exceeds ${MAX_TOPIC_SLOTS} (${(MAX_TOPIC_SLOTS * 4) / 1e6} MB of topic table); lower one of them`);
  }
  for (const name of ['docIdPrefix', 'queryIdPrefix'] as const) {
    // Ids also go into qrels.txt, whose fields are whitespace-separated.
    if (typeof o[name] !== 'string' || /\s/.test(o[name])) throw new SpladexError('E_OPTION', `option ${name} must be a string without whitespace`);
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * A synthetic collection: random access to document `i` and query `j`, each generated on demand in
 * O(terms) time from its own PRNG stream. Holds only the model (vocabulary, topics: a few MB), never
 * the documents. One instance is not re-entrant (it reuses scratch buffers) but is cheap to create.
 */
export class SyntheticCollection {
  readonly options: Readonly<SynthOptions>;
  /** Token string of each term id (usable tokens only, in vocabulary order). */
  readonly tokens: readonly string[];

  /** `"token":` for each term id, JSON-escaped once so line building is plain concatenation. */
  private readonly tokenKeys: string[];
  /** Term id of each global popularity rank (rank 0 = most popular). */
  private readonly termByRank: Int32Array;
  private readonly background: AliasTable;
  private readonly topicPopularity: AliasTable;
  private readonly topicTermRank: AliasTable;
  /** topicTermIds[k * topicTerms + r] = r-th most important term of topic k. */
  private readonly topicTermIds: Int32Array;
  private readonly logVocab: number;

  private readonly docRng: Rng;
  private readonly queryRng: Rng;
  private readonly docScratch: VectorScratch;
  private readonly queryScratch: VectorScratch;
  /** `stamp[t] === currentStamp` marks term t as taken in the vector being built: O(1) reset per vector. */
  private readonly stamp: Int32Array;
  private currentStamp = 0;
  private readonly maxDocTerms: number;
  private readonly maxQueryTerms: number;
  private readonly familyCount: number;
  private readonly familyRng: Rng;
  /** Terms and importance keys of the family being used (rebuilt per document: 48 draws). */
  private readonly familyTerms = new Int32Array(FAMILY_TERMS);
  private readonly familyKeys = new Float64Array(FAMILY_TERMS);
  private familySize = 0;
  private familyTopic = 0;

  constructor(options: Partial<SynthOptions> = {}) {
    const o = resolveSynthOptions(options);
    this.options = Object.freeze(o);
    this.tokens = o.vocab ? o.vocab.filter((t) => !isSpecialToken(t)) : Array.from({ length: o.vocabSize }, (_, i) => `t${i}`);
    const V = this.tokens.length;
    this.tokenKeys = this.tokens.map((t) => JSON.stringify(t) + ':');
    this.logVocab = Math.log(V);

    // Popularity ranks: vocabulary order with multiplicative jitter (σ = 0.5 in log-rank), so order
    // is kept at large scale (BERT's vocab is roughly frequency-sorted) but neighbours mix.
    // BERT lists its ~1,000 single characters before the words and mixes in "##" pieces, while
    // SPLADE's most common terms are words ("is", "the", "was"): with a real vocabulary, words keep
    // their relative order at the front and the others are spread thinly behind the first 2,000.
    const rng = new Rng(o.seed, VOCAB_STREAM, 0);
    const packed = new Float64Array(V);
    let words = 0;
    let pieces = 0;
    for (let t = 0; t < V; t++) {
      const tok = this.tokens[t];
      const piece = o.vocab !== undefined && (tok.length === 1 || tok.startsWith('##'));
      const position = piece ? PIECE_POPULARITY_START + PIECE_POPULARITY_SPREAD * pieces++ : words++;
      packed[t] = Math.log(position + 1) + 0.5 * rng.normal();
    }
    const order = Array.from({ length: V }, (_, t) => t).sort((a, b) => packed[a] - packed[b] || a - b);
    this.termByRank = Int32Array.from(order);
    this.background = new AliasTable(zipfWeights(V, o.zipfExponent, BACKGROUND_ZIPF_OFFSET - 1));

    // Topics: each draws `topicTerms` distinct terms, favouring mid/rare popularity ranks.
    const T = o.topicTerms;
    const topicWordLaw = new AliasTable(zipfWeights(V, TOPIC_WORD_EXPONENT, TOPIC_WORD_OFFSET));
    this.topicTermIds = new Int32Array(o.topics * T);
    this.stamp = new Int32Array(V);
    const trng = new Rng(o.seed, TOPIC_STREAM, 0);
    for (let k = 0; k < o.topics; k++) {
      const s = this.nextStamp();
      let n = 0;
      // Rejection of duplicates; when T approaches V this slows, so fall back to a linear scan.
      for (let attempts = 0; n < T && attempts < 50 * T; attempts++) {
        const term = this.termByRank[topicWordLaw.sample(trng)];
        if (this.stamp[term] === s) continue;
        this.stamp[term] = s;
        this.topicTermIds[k * T + n++] = term;
      }
      for (let term = 0; n < T && term < V; term++) {
        if (this.stamp[term] === s) continue;
        this.stamp[term] = s;
        this.topicTermIds[k * T + n++] = term;
      }
    }
    this.topicPopularity = new AliasTable(zipfWeights(o.topics, TOPIC_POPULARITY_EXPONENT));
    this.topicTermRank = new AliasTable(zipfWeights(T, TOPIC_TERM_EXPONENT));

    // Cap lengths at 4× the mean (real: max/mean ≈ 1.5–2.5), the packing width and half the vocabulary.
    this.maxDocTerms = Math.max(1, Math.min(MAX_VECTOR_TERMS, Math.floor(V / 2), Math.ceil(4 * o.avgDocTerms)));
    this.maxQueryTerms = Math.max(1, Math.min(MAX_VECTOR_TERMS, Math.floor(V / 2), Math.ceil(4 * o.avgQueryTerms)));
    this.familyCount = Math.max(1, Math.round(o.docs / FAMILY_SIZE));
    this.familyRng = new Rng(o.seed, FAMILY_STREAM, 0);
    this.docRng = new Rng(o.seed, DOC_STREAM, 0);
    this.queryRng = new Rng(o.seed, QUERY_STREAM, 0);
    this.docScratch = new VectorScratch(this.maxDocTerms);
    // A query's source document is rebuilt in docScratch, so the query scratch only holds the query.
    this.queryScratch = new VectorScratch(this.maxQueryTerms);
  }

  /** Vocabulary size actually used (usable tokens). */
  get vocabularySize(): number {
    return this.tokens.length;
  }

  documentId(i: number): string {
    return this.options.docIdPrefix + i;
  }

  queryId(j: number): string {
    return this.options.queryIdPrefix + j;
  }

  /** Index of the document query `j` was derived from. */
  querySource(j: number): number {
    this.queryRng.reseed(this.options.seed, QUERY_STREAM, j);
    return this.queryRng.int(this.options.docs);
  }

  /**
   * Document `i` (0 ≤ i < docs) as an object. Keys are inserted by descending weight (JS objects
   * list integer-like keys such as "277" first regardless). Weights are rounded like the JSONL line.
   */
  document(i: number): SyntheticDocument {
    this.checkIndex('document', i, this.options.docs);
    const s = this.docScratch;
    this.buildDocument(i, s);
    return { id: this.documentId(i), vector: this.toObject(s) };
  }

  /** Query `j` (0 ≤ j < queries) as an object, with its source document's id. */
  query(j: number): SyntheticQuery {
    this.checkIndex('query', j, this.options.queries);
    const src = this.buildQuery(j);
    return { id: this.queryId(j), vector: this.toObject(this.queryScratch), sourceId: this.documentId(src) };
  }

  /** Document `i` as one JSONL line `{"id":"d7","vector":{...}}` (no newline), built without `JSON.stringify`. */
  documentLine(i: number): string {
    this.checkIndex('document', i, this.options.docs);
    this.buildDocument(i, this.docScratch);
    return this.toLine(this.documentId(i), this.docScratch);
  }

  /** Query `j` as one JSONL line (no newline). */
  queryLine(j: number): string {
    this.checkIndex('query', j, this.options.queries);
    this.buildQuery(j);
    return this.toLine(this.queryId(j), this.queryScratch);
  }

  private checkIndex(what: string, i: number, n: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${what} index ${i} is outside [0, ${n})`);
  }

  private nextStamp(): number {
    this.currentStamp++;
    if (this.currentStamp === 0x7fffffff) {
      this.stamp.fill(0);
      this.currentStamp = 1;
    }
    return this.currentStamp;
  }

  private toObject(s: VectorScratch): Record<string, number> {
    const v: Record<string, number> = {};
    // Round like the JSONL writer so the object and line forms carry identical values.
    for (let i = 0; i < s.count; i++) {
      const token = this.tokens[s.rankedTerms[i]];
      const w = Number(formatWeight(s.weights[i]));
      // A plain assignment to "__proto__" would replace the prototype instead of adding a key.
      if (token === '__proto__') Object.defineProperty(v, token, { value: w, enumerable: true, writable: true, configurable: true });
      else v[token] = w;
    }
    return v;
  }

  private toLine(id: string, s: VectorScratch): string {
    // Ids are prefix + integer; JSON.stringify still escapes a user-supplied prefix correctly.
    let line = '{"id":' + JSON.stringify(id) + ',"vector":{';
    const keys = this.tokenKeys;
    for (let i = 0; i < s.count; i++) {
      if (i > 0) line += ',';
      line += keys[s.rankedTerms[i]] + formatWeight(s.weights[i]);
    }
    return line + '}}';
  }

  /** Log-normally distributed vector length with the given mean. */
  private drawLength(rng: Rng, mean: number, sigma: number, max: number): number {
    const n = Math.round(mean * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2));
    return n < 1 ? 1 : n > max ? max : n;
  }

  /** Importance key of a background term: common terms rank low, rarer ones somewhat higher. */
  private backgroundKey(rank: number, rng: Rng): number {
    return -2.5 + (1.5 * Math.log(rank + 1)) / this.logVocab + KEY_NOISE * rng.normal();
  }

  /** Fills `s` with document `i`: topics, terms, and weights in descending order. */
  private buildDocument(i: number, s: VectorScratch): void {
    const o = this.options;
    const rng = this.docRng;
    rng.reseed(o.seed, DOC_STREAM, i);
    const n = this.drawLength(rng, o.avgDocTerms, DOC_LENGTH_SIGMA, this.maxDocTerms);
    this.buildFamily(hash3(o.seed, FAMILY_ASSIGN_STREAM, i) % this.familyCount);

    // 1–3 topics, the first being the family's; it dominates, the others get 25–75% of its share.
    const u = rng.next();
    const nt = u < TOPIC_COUNT_CDF[0] ? 1 : u < TOPIC_COUNT_CDF[1] ? 2 : 3;
    let mixSum = 0;
    for (let t = 0; t < nt; t++) {
      s.topicIds[t] = t === 0 ? this.familyTopic : this.topicPopularity.sample(rng);
      s.topicMix[t] = t === 0 ? 1 : 0.25 + 0.5 * rng.next();
      mixSum += s.topicMix[t];
    }
    for (let t = 0; t < nt; t++) s.topicMix[t] /= mixSum;
    s.topicCount = nt;

    const stampValue = this.nextStamp();
    const stamp = this.stamp;
    let count = 0;
    // Family terms first: a uniform subset of the family's list, keeping the family's saliences.
    const nFamily = Math.min(Math.round(n * FAMILY_FRACTION), this.familySize);
    for (let attempts = 0; count < nFamily && attempts < 20 * nFamily; attempts++) {
      const r = rng.int(this.familySize);
      const term = this.familyTerms[r];
      if (stamp[term] === stampValue) continue;
      stamp[term] = stampValue;
      s.terms[count] = term;
      s.keys[count] = this.familyKeys[r] + KEY_NOISE * rng.normal();
      count++;
    }
    const nTopical = count + Math.round((n - count) * o.topicalFraction);
    count = this.addTopical(rng, s, count, nTopical, stampValue, 0);
    count = this.addBackground(rng, s, count, n, stampValue);
    s.count = count;
    this.rankAndWeigh(rng, s, DOC_QUANTILE_TABLE);
  }

  /** Loads family `f` into `familyTerms`/`familyKeys`/`familyTopic`. */
  private buildFamily(f: number): void {
    const rng = this.familyRng;
    rng.reseed(this.options.seed, FAMILY_STREAM, f);
    const T = this.options.topicTerms;
    const V = this.tokens.length;
    const k = this.topicPopularity.sample(rng);
    this.familyTopic = k;
    const stampValue = this.nextStamp();
    const stamp = this.stamp;
    let n = 0;
    for (let attempts = 0; n < FAMILY_TOPIC_TERMS && attempts < 20 * FAMILY_TOPIC_TERMS; attempts++) {
      const term = this.topicTermIds[k * T + this.topicTermRank.sample(rng)];
      if (stamp[term] === stampValue) continue;
      stamp[term] = stampValue;
      this.familyTerms[n] = term;
      // A family-wide salience: the same terms stand out in every member.
      this.familyKeys[n] = 0.3 + 0.5 * rng.normal();
      n++;
    }
    // Rare, entity-like terms (names, numbers) from the least popular three quarters of the vocabulary.
    const lo = Math.floor(V / 4);
    for (let attempts = 0; n < FAMILY_TERMS && attempts < 20 * FAMILY_RARE_TERMS; attempts++) {
      const term = this.termByRank[lo + rng.int(V - lo)];
      if (stamp[term] === stampValue) continue;
      stamp[term] = stampValue;
      this.familyTerms[n] = term;
      this.familyKeys[n] = 0.3 + 0.5 * rng.normal();
      n++;
    }
    this.familySize = n;
  }

  /**
   * Adds topic terms of `s.topicIds` until `s.count` reaches `target`. Returns the new count.
   * Rejection sampling: gives up after 20 tries per wanted term (small topics can run dry).
   */
  private addTopical(rng: Rng, s: VectorScratch, count: number, target: number, stampValue: number, keyOffset: number): number {
    const T = this.options.topicTerms;
    const stamp = this.stamp;
    const maxAttempts = 20 * (target - count) + 20;
    for (let attempts = 0; count < target && attempts < maxAttempts; attempts++) {
      // Pick a topic by its mixture share.
      let x = rng.next();
      let t = 0;
      while (t < s.topicCount - 1 && x >= s.topicMix[t]) x -= s.topicMix[t++];
      const rank = this.topicTermRank.sample(rng);
      const term = this.topicTermIds[s.topicIds[t] * T + rank];
      if (stamp[term] === stampValue) continue;
      stamp[term] = stampValue;
      s.terms[count] = term;
      s.keys[count] = keyOffset + Math.log(s.topicMix[t]) - 0.6 * Math.log(1 + rank) + KEY_NOISE * rng.normal();
      count++;
    }
    return count;
  }

  /** Adds background (global Zipf) terms until `count` reaches `target`. Returns the new count. */
  private addBackground(rng: Rng, s: VectorScratch, count: number, target: number, stampValue: number): number {
    const stamp = this.stamp;
    const maxAttempts = 20 * (target - count) + 20;
    for (let attempts = 0; count < target && attempts < maxAttempts; attempts++) {
      const rank = this.background.sample(rng);
      const term = this.termByRank[rank];
      if (stamp[term] === stampValue) continue;
      stamp[term] = stampValue;
      s.terms[count] = term;
      s.keys[count] = this.backgroundKey(rank, rng);
      count++;
    }
    return count;
  }

  /**
   * Ranks the terms by key (descending) into `rankedTerms` and gives the i-th one the weight at
   * quantile 1 − (i + u)/n. Keys and slots are packed into one float (⌊key·1024⌋·4096 + slot) so a
   * native `Float64Array.sort` does the work — no comparator callback, no index array.
   */
  private rankAndWeigh(rng: Rng, s: VectorScratch, table: Float64Array): void {
    const n = s.count;
    const packed = s.packed.subarray(0, n);
    for (let i = 0; i < n; i++) packed[i] = Math.floor(s.keys[i] * KEY_SCALE) * KEY_PACK + i;
    packed.sort();
    const scale = Math.exp(VECTOR_SCALE_SIGMA * rng.normal());
    for (let r = 0; r < n; r++) {
      const p = packed[n - 1 - r];
      const slot = p - Math.floor(p / KEY_PACK) * KEY_PACK;
      s.rankedTerms[r] = s.terms[slot];
      const w = quantileAt(table, 1 - (r + rng.next()) / n) * scale;
      s.weights[r] = w < MIN_WEIGHT ? MIN_WEIGHT : w;
    }
  }

  /** Fills `queryScratch` with query `j`; returns its source document index. */
  private buildQuery(j: number): number {
    const o = this.options;
    const rng = this.queryRng;
    rng.reseed(o.seed, QUERY_STREAM, j);
    const src = rng.int(o.docs);
    // Rebuild the source document in the document scratch (its own PRNG stream, so identical to the
    // document written to documents.jsonl), then copy what the query needs before reusing buffers.
    const d = this.docScratch;
    this.buildDocument(src, d);
    const q = this.queryScratch;
    q.topicCount = d.topicCount;
    q.topicIds.set(d.topicIds);
    q.topicMix.set(d.topicMix);

    const n = this.drawLength(rng, o.avgQueryTerms, QUERY_LENGTH_SIGMA, this.maxQueryTerms);
    const stampValue = this.nextStamp();
    const stamp = this.stamp;
    let count = 0;
    const nFromDoc = Math.min(Math.round(n * o.queryDocFraction), d.count);
    // Source terms, biased to the document's strongest (index ∝ u², as d is sorted by weight).
    for (let attempts = 0; count < nFromDoc && attempts < 20 * nFromDoc; attempts++) {
      const x = rng.next();
      const idx = Math.floor(x * x * d.count);
      const term = d.rankedTerms[idx];
      if (stamp[term] === stampValue) continue;
      stamp[term] = stampValue;
      q.terms[count] = term;
      // A term strong in the source is strong in the query (SPLADE keeps salient terms salient).
      q.keys[count] = 1 + 0.7 * Math.log(d.weights[idx]) + 0.6 * rng.normal();
      count++;
    }
    const nTopical = count + Math.round((n - count) * QUERY_TOPICAL_SHARE);
    count = this.addTopical(rng, q, count, nTopical, stampValue, -0.5);
    count = this.addBackground(rng, q, count, n, stampValue);
    q.count = count;
    this.rankAndWeigh(rng, q, QUERY_QUANTILE_TABLE);
    return src;
  }
}

/** Yields documents 0 … docs−1 one at a time (nothing is kept between yields). */
export function* synthDocuments(options: Partial<SynthOptions> = {}): Generator<SyntheticDocument, void, undefined> {
  const c = new SyntheticCollection(options);
  for (let i = 0; i < c.options.docs; i++) yield c.document(i);
}

/** Yields queries 0 … queries−1 one at a time, each with the id of its source document. */
export function* synthQueries(options: Partial<SynthOptions> = {}): Generator<SyntheticQuery, void, undefined> {
  const c = new SyntheticCollection(options);
  for (let j = 0; j < c.options.queries; j++) yield c.query(j);
}

/** Options of {@link writeSynthetic}: the collection options plus where and how to write. */
export interface WriteSyntheticOptions extends Partial<SynthOptions> {
  /** Output directory (created if missing). Required. */
  outDir: string;
  /** Also write `qrels.txt` (`qid 0 docid 1`, the source document of each query). Default true. */
  qrels?: boolean;
  /** Overwrite existing output files. Default false (an existing file is an `E_IO` error). */
  overwrite?: boolean;
  /**
   * Called after every batch with the number of vectors written so far (documents then queries)
   * and the total. Default: none.
   */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link writeSynthetic} wrote. */
export interface WriteSyntheticResult {
  documentsPath: string;
  queriesPath: string;
  /** Absent when `qrels` was false. */
  qrelsPath?: string;
  docs: number;
  queries: number;
  /** Bytes written to documents.jsonl and queries.jsonl. */
  bytes: number;
  /** Wall-clock milliseconds. */
  elapsedMs: number;
}

/** Lines are gathered into ~1 MB strings before a write: fewer syscalls, bounded memory. */
const WRITE_BATCH_CHARS = 1 << 20;

/**
 * Writes `documents.jsonl`, `queries.jsonl` and (by default) `qrels.txt` into `outDir`, streaming
 * with backpressure: memory stays flat however many documents are asked for.
 */
export async function writeSynthetic(options: WriteSyntheticOptions): Promise<WriteSyntheticResult> {
  const { outDir, qrels = true, overwrite = false, onProgress, ...synth } = options;
  if (typeof outDir !== 'string' || outDir === '') throw new SpladexError('E_OPTION', 'option outDir must be a directory path');
  const collection = new SyntheticCollection(synth);
  const o = collection.options;
  const started = performance.now();
  const documentsPath = join(outDir, 'documents.jsonl');
  const queriesPath = join(outDir, 'queries.jsonl');
  const qrelsPath = qrels ? join(outDir, 'qrels.txt') : undefined;
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw new SpladexError('E_IO', 'cannot create the output directory; check the path and permissions', { file: outDir, cause });
  }
  if (!overwrite) {
    for (const p of [documentsPath, queriesPath, qrelsPath]) {
      if (p !== undefined && (await pathExists(p))) throw new SpladexError('E_IO', 'output file already exists; choose another directory or pass overwrite (--overwrite) to replace it', { file: p });
    }
  }
  const total = o.docs + o.queries;
  let bytes = 0;
  bytes += await writeLines(documentsPath, o.docs, (i) => collection.documentLine(i), (done) => onProgress?.(done, total));
  bytes += await writeLines(queriesPath, o.queries, (j) => collection.queryLine(j), (done) => onProgress?.(o.docs + done, total));
  if (qrelsPath !== undefined) {
    await writeLines(qrelsPath, o.queries, (j) => `${collection.queryId(j)} 0 ${collection.documentId(collection.querySource(j))} 1`, () => {});
  }
  const result: WriteSyntheticResult = { documentsPath, queriesPath, docs: o.docs, queries: o.queries, bytes, elapsedMs: performance.now() - started };
  if (qrelsPath !== undefined) result.qrelsPath = qrelsPath;
  return result;
}


/** Writes `count` lines produced by `line(i)`, honouring the stream's backpressure. Returns bytes written. */
async function writeLines(path: string, count: number, line: (i: number) => string, progress: (done: number) => void): Promise<number> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  let failure: unknown;
  out.on('error', (e) => {
    failure = e;
  });
  let bytes = 0;
  try {
    let batch = '';
    for (let i = 0; i < count; i++) {
      batch += line(i) + '\n';
      if (batch.length >= WRITE_BATCH_CHARS || i === count - 1) {
        bytes += Buffer.byteLength(batch);
        await writeChunk(out, batch, () => failure);
        batch = '';
        progress(i + 1);
      }
    }
    await new Promise<void>((resolve, reject) => {
      out.end((e?: Error | null) => (e ? reject(e) : resolve()));
    });
  } catch (cause) {
    out.destroy();
    throw new SpladexError('E_IO', 'cannot write the output file; check free disk space and permissions', { file: path, cause });
  }
  if (failure !== undefined) throw new SpladexError('E_IO', 'cannot write the output file; check free disk space and permissions', { file: path, cause: failure });
  return bytes;
}

function writeChunk(out: WriteStream, chunk: string, failed: () => unknown): Promise<void> {
  const f = failed();
  if (f !== undefined) return Promise.reject(f);
  if (out.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      out.off('error', onError);
      resolve();
    };
    const onError = (e: Error): void => {
      out.off('drain', onDrain);
      reject(e);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}
