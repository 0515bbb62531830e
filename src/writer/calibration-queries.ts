/**
 * The queries a build calibrates on: the user's query log when given, else pseudo-queries drawn
 * from the collection itself.
 *
 * Why these pseudo-queries. Real queries of a collection sit between two ends: a *known-item*
 * query names one document (its strongest terms: the source document and its near duplicates are
 * the top 10, with a clear margin), and a *topical* query describes what many documents share (the
 * top 10 are a few of hundreds of similar documents with nearly equal scores — the flat score
 * distribution that makes block pruning hardest). How hard a query is for a pruned index depends
 * on where it sits between them, on its length (only its `queryCut` heaviest terms are traversed)
 * and on how far its weights follow the documents' (a query encoder weights terms its own way; a
 * query whose heaviest terms are the documents' heaviest is easy, because static pruning keeps
 * exactly those postings). We cannot know a user's queries, so we sample the range: each
 * pseudo-query picks a seed document, takes the centroid of its exact top-n neighbourhood (n = 1:
 * the document itself; n = 10; n = 100: its topic), or — the *background* stratum — the terms of
 * random postings (no topic in common, common terms by their document frequency), and keeps the
 * m heaviest terms. Its weights are only half the documents': each is the geometric mean of the
 * term's centroid weight and that of another kept term (a seeded permutation), so the query's
 * heaviest terms are often not the documents' heaviest. The strata are kept apart and the target
 * must hold in *each* of them, so the chosen setting holds for any mixture of such queries.
 * Short queries have a stratum of their own (4 terms of a neighbourhood of 10, as inference-free
 * encoders and keyword queries make them): such a query traverses all its few lists, so its recall
 * rests on the lists alone, and without them the sample held nothing shorter than 6 terms — the
 * pruning priced at the mass it needs then chose a 3.4 % index on which 5-term queries got 0.937
 * at a 0.95 target (docs/PERFORMANCE.md, "Pruning priced at the traversal it needs"). Topical
 * queries come at 24 terms as well as 64: on a flat collection (≈1,000 documents per topic, pure
 * topic queries) the 64-term stratum alone let a 10k collection get 0.931 at a 0.95 target.
 * Measured on 17 collection shapes (docs/BENCHMARKS.md, "Generalisation"): with the documents'
 * own weights the pseudo-queries were too easy (flat collections got 0.89 at a 0.95 target); with
 * fully random terms every collection fell back to exact search. Lexical and inference-free
 * queries weight a term by its IDF, as their query encoders do.
 */
import { SpladexError } from '../errors.js';
import type { MaxScoreSearcher } from '../query/maxscore.js';
import { prepareQuery } from '../query/query-vector.js';
import type { Segment } from '../segment/segment.js';
import type { SparseVectorInput } from '../types.js';
import { Rng } from '../util/rng.js';
import { TopK } from '../util/topk.js';

/** One stratum of pseudo-queries: the neighbourhood a query describes and its length. */
interface Stratum {
  name: string;
  /** Documents averaged into the query: 1 is the seed alone, 0 the background (random postings). */
  neighbours: number;
  /** Terms kept, before a ±25 % jitter. */
  terms: number;
}

/** The pseudo-query strata (see the file comment); the target must hold in each. */
const PSEUDO_STRATA: readonly Stratum[] = Object.freeze([
  { name: 'known item, 8 terms', neighbours: 1, terms: 8 },
  { name: 'known item, 32 terms', neighbours: 1, terms: 32 },
  { name: 'neighbourhood of 10, 4 terms', neighbours: 10, terms: 4 },
  { name: 'neighbourhood of 10, 16 terms', neighbours: 10, terms: 16 },
  { name: 'topic of 100, 24 terms', neighbours: 100, terms: 24 },
  { name: 'topic of 100, 64 terms', neighbours: 100, terms: 64 },
  { name: 'background, 8 terms', neighbours: 0, terms: 8 },
]);

/** Terms of the seed document that look for its neighbourhood (a long document would cost a full scan). */
const SEED_QUERY_TERMS = 32;
/** Seed draws per query before giving up on a collection of (nearly) empty documents. */
const SEED_ATTEMPTS = 64;
/** PRNG stream of calibration sampling (streams keep it apart from the build's other random choices). */
const CALIBRATION_STREAM = 0x63616c;

export interface CalibrationQuery {
  /** Index into `QuerySample.strata`. */
  stratum: number;
  vector: SparseVectorInput;
}

export interface QuerySample {
  source: 'pseudo' | 'given';
  strata: string[];
  queries: CalibrationQuery[];
}

/** Weight of a query term by token (lexical and inference-free encoders: its IDF), undefined: leave the term out. */
export type QueryTermWeight = (token: string) => number | undefined;

/**
 * `count` pseudo-queries over the documents of `segment` (`decoded`: its forward values as
 * floats), strata in turn, deterministic for `seed`. `exact` finds neighbourhoods (the segment's
 * exact MaxScore searcher).
 */
export function pseudoQueries(segment: Segment, decoded: Float32Array, exact: MaxScoreSearcher, count: number, seed: number, weight?: QueryTermWeight): QuerySample {
  const { forward, vocabulary } = segment;
  const { offsets, terms } = forward;
  const nDocs = forward.nDocs;
  const rng = new Rng(seed, CALIBRATION_STREAM, 1);
  const centroid = new Float64Array(vocabulary.length);
  const touched: number[] = [];
  const queries: CalibrationQuery[] = [];
  const heaps = new Map<number, TopK>();
  for (let i = 0; i < count && nDocs > 0; i++) {
    const stratumIndex = i % PSEUDO_STRATA.length;
    const stratum = PSEUDO_STRATA[stratumIndex];
    let seedDoc = -1;
    for (let attempt = 0; attempt < SEED_ATTEMPTS && seedDoc < 0; attempt++) {
      const d = rng.int(nDocs);
      if (offsets[d + 1] > offsets[d]) seedDoc = d;
    }
    if (seedDoc < 0) break;
    const members = stratum.neighbours === 0 ? [] : stratum.neighbours === 1 ? [seedDoc] : neighbourhood(segment, decoded, exact, seedDoc, stratum.neighbours, heaps);
    touched.length = 0;
    // Background: the terms of random postings, so common terms come by their document frequency.
    for (let k = 0; members.length === 0 && k < 2 * stratum.terms; k++) {
      const j = rng.int(terms.length);
      if (centroid[terms[j]] === 0) touched.push(terms[j]);
      centroid[terms[j]] += decoded[j];
    }
    for (const d of members) {
      for (let j = offsets[d]; j < offsets[d + 1]; j++) {
        const t = terms[j];
        if (centroid[t] === 0) touched.push(t);
        centroid[t] += decoded[j] / members.length;
      }
    }
    // Heaviest first; ties by term id, so the sample does not depend on the members' order.
    touched.sort((a, b) => centroid[b] - centroid[a] || a - b);
    const length = Math.max(1, Math.round(stratum.terms * (0.75 + 0.5 * rng.next())));
    const tokens: string[] = [];
    const weights: number[] = [];
    for (let r = 0; r < touched.length && tokens.length < length; r++) {
      const token = vocabulary[touched[r]];
      const w = weight === undefined ? centroid[touched[r]] : weight(token);
      if (w === undefined || !(w > 0) || !Number.isFinite(w)) continue;
      tokens.push(token);
      weights.push(w);
    }
    for (const t of touched) centroid[t] = 0;
    if (tokens.length > 0) queries.push({ stratum: stratumIndex, vector: halfAligned(tokens, weights, weight === undefined, rng) });
  }
  return { source: 'pseudo', strata: PSEUDO_STRATA.map((s) => s.name), queries };
}

/** The query vector; centroid weights become the geometric mean with a permuted partner's (see the file comment). */
function halfAligned(tokens: readonly string[], weights: readonly number[], blend: boolean, rng: Rng): SparseVectorInput {
  const partner = weights.slice();
  for (let i = partner.length - 1; blend && i > 0; i--) {
    const j = rng.int(i + 1);
    [partner[i], partner[j]] = [partner[j], partner[i]];
  }
  const vector: SparseVectorInput = {};
  tokens.forEach((token, i) => (vector[token] = blend ? Math.sqrt(weights[i] * partner[i]) : weights[i]));
  return vector;
}

/** Local ids of the exact top `n` of the seed document's heaviest terms (the seed comes first). */
function neighbourhood(segment: Segment, decoded: Float32Array, exact: MaxScoreSearcher, seedDoc: number, n: number, heaps: Map<number, TopK>): number[] {
  const { offsets, terms } = segment.forward;
  const entries: Array<[number, number]> = [];
  for (let j = offsets[seedDoc]; j < offsets[seedDoc + 1]; j++) entries.push([terms[j], decoded[j]]);
  entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const query: SparseVectorInput = {};
  for (const [t, w] of entries.slice(0, SEED_QUERY_TERMS)) query[segment.vocabulary[t]] = w;
  let heap = heaps.get(n);
  if (heap === undefined) heaps.set(n, (heap = new TopK(n)));
  heap.reset();
  exact.search(prepareQuery(query, segment.termIds), heap, 0);
  const members = heap.sorted().map((hit) => hit.key);
  return members.includes(seedDoc) ? members : [seedDoc, ...members.slice(0, n - 1)];
}

/** A seeded sample of at most `count` queries of a query log (all of it when it is smaller). */
export function givenQueries(vectors: readonly SparseVectorInput[], count: number, seed: number): QuerySample {
  if (vectors.length === 0) throw new SpladexError('E_OPTION', 'the calibration query log is empty; give queries or leave calibrationQueries out to use pseudo-queries');
  const order = Array.from(vectors.keys());
  const rng = new Rng(seed, CALIBRATION_STREAM, 2);
  const n = Math.min(count, order.length);
  // Partial Fisher–Yates: the first n positions are a uniform sample without replacement.
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(order.length - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { source: 'given', strata: ['query log'], queries: order.slice(0, n).sort((a, b) => a - b).map((i) => ({ stratum: 0, vector: vectors[i] })) };
}
