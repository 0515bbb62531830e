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

import { SpladexError, checkRange } from '../errors.js';
import type { DocumentInput, QueryInput } from '../types.js';
import { AliasTable, Rng, hash3, zipfWeights } from './prng.js';
import {
  DOC_LENGTH_SIGMA,
  QUERY_LENGTH_SIGMA,
  VECTOR_SCALE_SIGMA,
  MIN_WEIGHT,
  TOPIC_POPULARITY_EXPONENT,
  TOPIC_TERM_EXPONENT,
  TOPIC_WORD_OFFSET,
  TOPIC_WORD_EXPONENT,
  BACKGROUND_ZIPF_OFFSET,
  TOPIC_COUNT_CDF,
  KEY_NOISE,
  QUERY_TOPICAL_SHARE,
  MAX_VECTOR_TERMS,
  KEY_PACK,
  KEY_SCALE,
  PIECE_POPULARITY_START,
  PIECE_POPULARITY_SPREAD,
  FAMILY_SIZE,
  FAMILY_TOPIC_TERMS,
  FAMILY_RARE_TERMS,
  FAMILY_TERMS,
  FAMILY_FRACTION,
  DOC_STREAM,
  QUERY_STREAM,
  TOPIC_STREAM,
  VOCAB_STREAM,
  FAMILY_STREAM,
  FAMILY_ASSIGN_STREAM,
  VectorScratch,
  DOC_QUANTILE_TABLE,
  QUERY_QUANTILE_TABLE,
  quantileAt,
  formatWeight,
  isSpecialToken,
  resolveSynthOptions,
  type SynthOptions,
  type SyntheticDocument,
  type SyntheticQuery,
} from './synth-model.js';

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
