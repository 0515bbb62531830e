/**
 * The calibrated model behind the synthetic collections of synth.ts: the constants measured on real
 * SPLADE vectors, the options and their defaults, the weight quantile tables and small helpers.
 * Separate from the generator so that each file reads as one thing.
 */
import { readFile } from 'node:fs/promises';
import { SpladexError } from '../errors.js';
import type { DocumentInput, QueryInput } from '../types.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

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
export const DOC_LENGTH_SIGMA = 0.29;
export const QUERY_LENGTH_SIGMA = 0.36;
/** Per-vector weight scale jitter (lognormal σ): real vectors differ in overall magnitude a little. */
export const VECTOR_SCALE_SIGMA = 0.08;
/** Smallest weight written; keeps 4-significant-digit output strictly positive. */
export const MIN_WEIGHT = 1e-4;

// Structural constants that are not worth a public option (documented here instead).
/** Zipf exponent of topic popularity: some subjects are much more common than others. */
export const TOPIC_POPULARITY_EXPONENT = 0.7;
/** Zipf exponent of term importance inside a topic. */
export const TOPIC_TERM_EXPONENT = 1.0;
/**
 * Topic words are drawn with weight ∝ 1/(rank + TOPIC_WORD_OFFSET)^TOPIC_WORD_EXPONENT over global
 * popularity ranks: the offset keeps the few hundred function-word-like terms mostly out of topics,
 * the small exponent spreads topics over the mid and rare vocabulary, like content words.
 */
export const TOPIC_WORD_OFFSET = 300;
export const TOPIC_WORD_EXPONENT = 0.5;
/** Offset of the Zipf–Mandelbrot background law: flattens the very top so no term is in ~100% of documents. */
export const BACKGROUND_ZIPF_OFFSET = 2.7;
/** Probability that a document has 1, 2 or 3 topics (cumulative). */
export const TOPIC_COUNT_CDF = [0.5, 0.85, 1];
/** Std. dev. of the Gaussian noise added to importance keys: how loosely weight follows importance. */
export const KEY_NOISE = 0.8;
/** Fraction of a query's non-source terms that come from the source's topics (the rest: background). */
export const QUERY_TOPICAL_SHARE = 0.8;
/** Hard cap on non-zeros per vector; also the index field width used when packing sort keys. */
export const MAX_VECTOR_TERMS = 4095;
export const KEY_PACK = 4096;
/** Importance keys are quantised to 1/1024 before packing with the term's slot (see `rankTerms`). */
export const KEY_SCALE = 1024;
/** Popularity position of the first single character / "##" piece of a real vocabulary, and the step between them. */
export const PIECE_POPULARITY_START = 2000;
export const PIECE_POPULARITY_SPREAD = 4;
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
export const FAMILY_SIZE = 8;
export const FAMILY_TOPIC_TERMS = 32;
export const FAMILY_RARE_TERMS = 16;
export const FAMILY_TERMS = FAMILY_TOPIC_TERMS + FAMILY_RARE_TERMS;
export const FAMILY_FRACTION = 0.25;

export const DOC_STREAM = 1;
export const QUERY_STREAM = 2;
export const TOPIC_STREAM = 3;
export const VOCAB_STREAM = 4;
export const FAMILY_STREAM = 5;
export const FAMILY_ASSIGN_STREAM = 6;

/** The BERT-base-uncased vocabulary size, used for synthetic token names. */
const BERT_VOCAB_SIZE = 30522;

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

/** Ids also go into qrels.txt, whose fields are whitespace-separated. */
const noWhitespace = (value: string): string | undefined => (/\s/.test(value) ? 'must be a string without whitespace' : undefined);

/** The options of the synthetic collection (all but `vocab`, a token list): default, range, flag and help of each. */
export const SYNTH_OPTIONS: OptionsTable<Omit<SynthOptions, 'vocab'>> = defineOptions<Omit<SynthOptions, 'vocab'>>({
  docs: { type: 'integer', min: 1, max: 100_000_000, default: 10_000, help: 'number of documents' },
  queries: { type: 'integer', min: 0, max: 10_000_000, default: 100, help: 'number of queries' },
  seed: { type: 'integer', min: 0, max: 0xffffffff, default: 42, help: 'PRNG seed' },
  avgDocTerms: { type: 'number', min: 1, max: 1000, default: 120, placeholder: 'n', help: 'mean non-zeros per document' },
  avgQueryTerms: { type: 'number', min: 1, max: 1000, default: 40, placeholder: 'n', help: 'mean non-zeros per query' },
  topics: { type: 'integer', min: 1, max: 1_000_000, default: 1000, help: 'number of latent topics' },
  // The upper bound is the number of usable tokens, known once the vocabulary is.
  topicTerms: { type: 'integer', min: 8, rangeText: '[8, vocabulary size]', default: 300, help: 'terms per topic' },
  zipfExponent: { type: 'number', min: 0, max: 3, default: 1.0, placeholder: 's', help: 'background term popularity exponent (larger: more very common terms)' },
  topicalFraction: { type: 'number', min: 0, max: 1, default: 0.7, placeholder: 'f', help: 'share of non-family document terms drawn from its topics' },
  queryDocFraction: { type: 'number', min: 0, max: 1, default: 0.5, placeholder: 'f', help: 'share of query terms taken from its source document (0: pure topic queries)' },
  vocabSize: { type: 'integer', min: 1000, max: 10_000_000, default: BERT_VOCAB_SIZE, flag: false, help: 'synthetic vocabulary size without a vocabulary' },
  docIdPrefix: { type: 'string', default: 'd', check: noWhitespace, flag: false, help: 'prefix of document ids' },
  queryIdPrefix: { type: 'string', default: 'q', check: noWhitespace, flag: false, help: 'prefix of query ids' },
});

/** Defaults of {@link SynthOptions}. */
export const SYNTH_DEFAULTS: Readonly<Omit<SynthOptions, 'vocab'>> = SYNTH_OPTIONS.defaults;

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
export class VectorScratch {
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

export const DOC_QUANTILE_TABLE = buildQuantileTable(QUANTILE_LEVELS, DOC_WEIGHT_QUANTILES);
export const QUERY_QUANTILE_TABLE = buildQuantileTable(QUANTILE_LEVELS, QUERY_WEIGHT_QUANTILES);

/** Linear interpolation in a quantile table at level u ∈ [0, 1]. */
export function quantileAt(table: Float64Array, u: number): number {
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
export function isSpecialToken(token: string): boolean {
  return token.length >= 2 && token.startsWith('[') && token.endsWith(']');
}

/** Validates options and fills defaults. Throws `E_OPTION` naming the bad option. */
export function resolveSynthOptions(options: Partial<SynthOptions> = {}): SynthOptions {
  const o: SynthOptions = SYNTH_OPTIONS.resolve(options);
  if (options.vocab !== undefined) o.vocab = options.vocab;
  const usable = o.vocab ? o.vocab.filter((t) => !isSpecialToken(t)).length : o.vocabSize;
  if (o.vocab && usable < 1000) {
    throw new SpladexError('E_OPTION', `vocab has ${usable} usable tokens; at least 1000 are needed (special tokens like [PAD] are skipped)`);
  }
  SYNTH_OPTIONS.check('topicTerms', o.topicTerms, { bounds: { max: usable } });
  if (o.topics * o.topicTerms > MAX_TOPIC_SLOTS) {
    // The topic table is an Int32Array of topics × topicTerms entries.
    throw new SpladexError('E_OPTION', `topics × topicTerms = ${o.topics * o.topicTerms} exceeds ${MAX_TOPIC_SLOTS} (${(MAX_TOPIC_SLOTS * 4) / 1e6} MB of topic table); lower one of them`);
  }
  return o;
}
