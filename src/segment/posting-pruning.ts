/**
 * Index-time posting pruning: IDF-aware pruning of the documents' postings to a FLOPS budget, plus
 * the simpler per-document cuts (`maxTermsPerDoc`, `minWeight`), applied to a finished forward
 * index *before* static pruning and the inverted index are built. What is removed here is gone
 * from the index (exact search included): it trades effectiveness for a cheaper index.
 *
 * FLOPS (SPLADE's definition, Paria et al. 2020) is the expected number of multiply-adds of a
 * dot product over an inverted index between a random query and a random document,
 * `Σ_t p_q(t)·p_d(t)` with `p_d(t) = df(t)/N`. The budget is on the query-free estimate
 * `p_q = p_d` (`Σ_t df(t)²/N²`): the queries an index will serve are unknown at build time, and test
 * queries must not decide what is kept. The rule (`selectPostings` in src/encode/flops.ts) removes
 * the postings of lowest value per cost first, value = weight × idf(term), cost = the FLOPS the
 * posting adds, which grows with the term's document frequency.
 *
 * Everything runs on the forward index's CSR arrays, in place: a byte of mask per posting and a
 * float per posting of the per-term weight lists, no per-document objects.
 */
import { bm25Idf, type IdfTable } from '../encode/idf.js';
import { documentFrequencies, selectPostings, type CsrMatrix } from '../encode/flops.js';
import type { ForwardInput } from './ingest.js';
import { termIdArray } from './forward.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export interface PostingPruningOptions {
  /**
   * Prune the documents' postings until the index's FLOPS — expected multiply-adds per query with
   * p_q = p_d, `Σ_t df(t)²/N²` — is at most this. The least valuable postings go first: value =
   * weight × idf(term), cost grows with the term's document frequency, so postings of frequent,
   * low-IDF terms are removed before rare ones. Default 0: no budget. Range [0, 1e9].
   */
  flopsBudget?: number;
  /** Keep at most this many postings per document, highest weight × idf first. Default 0: no limit. Range [0, 1,000,000]. */
  maxTermsPerDoc?: number;
  /** Drop postings whose weight is below this. Default 0: keep every weight > 0. Range [0, 1e9]. */
  minWeight?: number;
}

export type ResolvedPostingPruning = Required<PostingPruningOptions>;

/** Index-time posting pruning (off by default): default, range, flag and help of each option (see src/util/options-table.ts). */
export const POSTING_PRUNING_OPTIONS: OptionsTable<ResolvedPostingPruning> = defineOptions<ResolvedPostingPruning>({
  flopsBudget: {
    type: 'number',
    min: 0,
    max: 1e9,
    default: 0,
    placeholder: 'F',
    help: 'prune postings until FLOPS (expected multiply-adds per query, p_q = p_d) ≤ F, least valuable first: value weight × idf, cost growing with df (0 = no budget)',
  },
  maxTermsPerDoc: { type: 'integer', min: 0, max: 1_000_000, default: 0, help: 'keep at most n postings per document, highest weight × idf first (0 = no limit)' },
  minWeight: { type: 'number', min: 0, max: 1e9, default: 0, placeholder: 'w', help: 'drop postings whose weight is below w (0 = keep every weight > 0)' },
});

export const POSTING_PRUNING_DEFAULTS: Readonly<ResolvedPostingPruning> = POSTING_PRUNING_OPTIONS.defaults;

export const POSTING_PRUNING_KEYS: ReadonlyArray<keyof PostingPruningOptions> = POSTING_PRUNING_OPTIONS.keys;

/** Fills defaults and checks ranges (`E_OPTION` naming the option). */
export function resolvePostingPruning(options: PostingPruningOptions = {}): ResolvedPostingPruning {
  return POSTING_PRUNING_OPTIONS.resolve(options);
}

/** Whether any posting pruning is asked for. */
export function postingPruningActive(o: ResolvedPostingPruning): boolean {
  return o.flopsBudget > 0 || o.maxTermsPerDoc > 0 || o.minWeight > 0;
}

/** What a build's posting pruning did (in the build summary). */
export interface PostingPruningReport {
  /** FLOPS (p_q = p_d) of the documents before and after. */
  flopsBefore: number;
  flopsAfter: number;
  postingsBefore: number;
  postingsAfter: number;
  /** Mean postings per document before and after. */
  postingsPerDocumentBefore: number;
  postingsPerDocumentAfter: number;
  /** The value-per-cost threshold that met the budget (0 when the budget was already met or not set). */
  threshold: number;
  /**
   * Where the IDF of the value came from: `file` (an idf.json: the model's or `--idf`), `corpus`
   * (BM25 IDF of the corpus: the lexical encoder's, or the documents' own document frequencies),
   * `table` (a table given through the library).
   */
  idf: 'file' | 'corpus' | 'table';
  seconds: number;
  options: ResolvedPostingPruning;
}

/** A CSR view of a forward input (decoded values). */
export function forwardMatrix(input: ForwardInput): CsrMatrix {
  const { forward, decoded, vocabulary } = input;
  return { nRows: forward.nDocs, nTerms: vocabulary.length, offsets: forward.offsets, terms: forward.terms, values: decoded };
}

/**
 * IDF of every vocabulary term: from `table` when given (terms it lacks get `missing`), else BM25
 * IDF of the document frequencies in `input`.
 */
export function idfForVocabulary(input: ForwardInput, table: IdfTable | null, missing = 0): Float32Array {
  const { vocabulary } = input;
  const idf = new Float32Array(vocabulary.length);
  const source = table ?? corpusIdfTable(input);
  for (let t = 0; t < vocabulary.length; t++) idf[t] = source.get(vocabulary[t]) ?? missing;
  return idf;
}

/** BM25 IDF of every vocabulary term from the document frequencies of `input` (terms with df 0 are left out). */
export function corpusIdfTable(input: ForwardInput): Map<string, number> {
  const df = documentFrequencies(forwardMatrix(input));
  const n = input.forward.nDocs;
  const table = new Map<string, number>();
  for (let t = 0; t < df.length; t++) if (df[t] > 0) table.set(input.vocabulary[t], bm25Idf(n, df[t]));
  return table;
}

/**
 * Prunes `input` in place (its arrays are compacted, unused terms leave the vocabulary) and returns
 * the pruned input with a report. Stored value codes are kept as they are, so the scores of the
 * surviving postings do not move.
 */
export function pruneForwardInput(input: ForwardInput, idf: Float32Array, options: ResolvedPostingPruning, idfSource: PostingPruningReport['idf']): { input: ForwardInput; report: PostingPruningReport } {
  const started = performance.now();
  const matrix = forwardMatrix(input);
  const selection = selectPostings(matrix, idf, {
    ...(options.flopsBudget > 0 ? { flopsBudget: options.flopsBudget } : {}),
    ...(options.maxTermsPerDoc > 0 ? { maxTermsPerDoc: options.maxTermsPerDoc } : {}),
    minWeight: options.minWeight,
  });
  const pruned = compactForward(input, selection.keep);
  const n = Math.max(1, input.forward.nDocs);
  return {
    input: pruned,
    report: {
      flopsBefore: selection.flopsBefore,
      flopsAfter: selection.flopsAfter,
      postingsBefore: selection.postingsBefore,
      postingsAfter: selection.postingsAfter,
      postingsPerDocumentBefore: selection.postingsBefore / n,
      postingsPerDocumentAfter: selection.postingsAfter / n,
      threshold: selection.threshold,
      idf: idfSource,
      seconds: (performance.now() - started) / 1000,
      options,
    },
  };
}

/** Compacts the forward arrays to the kept postings (in place) and drops terms no document uses any more. */
function compactForward(input: ForwardInput, keep: Uint8Array): ForwardInput {
  const { forward, decoded, vocabulary, docIds } = input;
  const { offsets, terms, values } = forward;
  const nDocs = forward.nDocs;
  // Term ids of the surviving vocabulary, in the old order.
  const remap = new Int32Array(vocabulary.length).fill(-1);
  for (let i = 0; i < keep.length; i++) if (keep[i] === 1) remap[terms[i]] = 0;
  const kept: string[] = [];
  for (let t = 0; t < vocabulary.length; t++) if (remap[t] === 0) remap[t] = kept.push(vocabulary[t]) - 1;
  // Write position never passes read position, so compaction in place is safe.
  let k = 0;
  let start = offsets[0];
  for (let d = 0; d < nDocs; d++) {
    const end = offsets[d + 1];
    for (let i = start; i < end; i++) {
      if (keep[i] === 0) continue;
      terms[k] = remap[terms[i]];
      values[k] = values[i];
      decoded[k] = decoded[i];
      k++;
    }
    start = end;
    offsets[d + 1] = k;
  }
  // The views share the original (SharedArrayBuffer) storage, as build workers need.
  let outTerms = terms.subarray(0, k);
  // The forward format uses 16-bit term ids whenever the vocabulary fits: narrow them if it now does.
  if (outTerms instanceof Uint32Array && kept.length <= 65536) {
    const narrow = termIdArray(k, kept.length, true);
    narrow.set(outTerms);
    outTerms = narrow;
  }
  return {
    forward: { ...forward, terms: outTerms, values: values.subarray(0, k) },
    decoded: decoded.subarray(0, k),
    vocabulary: kept,
    docIds,
  };
}
