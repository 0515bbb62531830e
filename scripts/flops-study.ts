/**
 * FLOPS study: FLOPS, postings per document and effectiveness (nDCG@10, R@100) before and after
 * IDF-aware FLOPS-budget pruning (pruneToFlopsBudget) on the shared collections, printed as the
 * Markdown table pasted into docs/ENCODING.md.
 *
 *   node dist/scripts/flops-study.js [--shared <dir>] [--collections scifact,cacm,vaswani] [--budgets 1,0.5,0.25,0.1] [--json]
 *
 * Setups per collection (<shared>/collections/<name>/{corpus,queries}.jsonl + qrels.txt):
 *  - lexical: `spladex encode`'s lexical kind (BM25 k1 0.9, b 0.4 over the built-in English
 *    analyzer). Documents carry the BM25 tf part, queries qtf × BM25 IDF, so the dot product is BM25.
 *    Pruning values a posting at weight × BM25 IDF.
 *  - wordpiece + os-idf: documents are BM25 tf weights over bert-base-uncased WordPiece tokens
 *    (<shared>/vocab/bert-base-uncased.vocab.txt); queries are inference-free style — each distinct
 *    token weighted by the OpenSearch inference-free IDF (<shared>/vocab/opensearch-inference-free.idf.json),
 *    which also values postings for pruning. It stands in for an inference-free index whose documents
 *    come from a learned model (none is shared), with the same query side.
 *
 * For each setup: the unpruned vectors, then pruneToFlopsBudget at each budget fraction of the
 * unpruned FLOPS, once IDF-aware (value = weight × idf) and once weight-only (idf ≡ 1) for comparison.
 * FLOPS is Σ_t p_q(t)·p_d(t); pruning uses p_q = p_d (no query sample: the test queries must not steer
 * what is kept); the table shows both that FLOPS and the one measured with the collection's queries.
 * Scores are exact (every posting of every query term); ties are broken by corpus order.
 *
 * Exits 0 with a note when the shared data is absent, so it can run anywhere.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectCorpusStats, encodeCorpus, readCorpusJsonl, openEncoder, type Encoder, type EncoderOptions, computeFlops, csrFromVectors, postingsPerDocument, pruneToFlopsBudget, type CsrMatrix, readIdfJson } from '../src/encode/index.js';
import { readQueries, type SparseVectorInput } from '../src/index.js';
import { evaluateRun, readQrels, type Qrels } from '../src/eval/index.js';



interface Args {
  shared: string;
  collections: string[];
  budgets: number[];
  json: boolean;
}

interface Row {
  collection: string;
  setup: string;
  pruning: 'none' | 'idf-aware' | 'weight-only';
  budget: number;
  flopsSelf: number;
  flopsQueries: number;
  postingsPerDoc: number;
  ndcg10: number;
  recall100: number;
  pruneSeconds: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    shared: process.env.SPLADEX_SHARED ?? fileURLToPath(new URL('../../../shared/data/', import.meta.url)),
    collections: ['scifact', 'cacm', 'vaswani'],
    budgets: [1, 0.5, 0.25, 0.1],
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--shared') args.shared = resolve(argv[++i]);
    else if (arg === '--collections') args.collections = argv[++i].split(',');
    else if (arg === '--budgets') args.budgets = argv[++i].split(',').map(Number);
    else if (arg === '--json') args.json = true;
    else {
      console.error('usage: flops-study [--shared <dir>] [--collections a,b] [--budgets 1,0.5,0.25,0.1] [--json]');
      process.exit(2);
    }
  }
  if (args.budgets.some((b) => !(b > 0 && b <= 1))) {
    console.error('budgets are fractions in (0, 1]');
    process.exit(2);
  }
  return args;
}

/** Encoded collection: document and query matrices over one term-id space, with per-term idf. */
interface Encoded {
  docIds: string[];
  docs: CsrMatrix;
  queryIds: string[];
  queries: CsrMatrix;
  /** Query-side idf per term id (what a posting is worth per query containing its term). */
  idf: Float32Array;
}

async function encodeCollection(dir: string, options: EncoderOptions, queryWeights?: ReadonlyMap<string, number>): Promise<Encoded> {
  const encoder: Encoder = await openEncoder(options);
  try {
    await collectCorpusStats(encoder, readCorpusJsonl(`${dir}/corpus.jsonl`));
    const docIds: string[] = [];
    const docVectors: SparseVectorInput[] = [];
    for await (const doc of encodeCorpus(encoder, readCorpusJsonl(`${dir}/corpus.jsonl`))) {
      docIds.push(doc.id);
      docVectors.push(doc.vector);
    }
    const queryIds: string[] = [];
    const texts: string[] = [];
    for await (const q of readQueries(`${dir}/queries.jsonl`)) {
      queryIds.push(q.id);
      texts.push(q.text ?? '');
    }
    let queryVectors = await encoder.encodeQueries(texts);
    if (queryWeights !== undefined) {
      // Inference-free queries: binary presence × the given IDF.
      queryVectors = queryVectors.map((v) => {
        const out: SparseVectorInput = {};
        for (const term of Object.keys(v)) {
          const w = queryWeights.get(term);
          if (w !== undefined && w > 0) out[term] = w;
        }
        return out;
      });
    }
    const termIds = new Map<string, number>();
    const docs = csrFromVectors(docVectors, termIds);
    const queries = csrFromVectors(queryVectors, termIds);
    const idfTable = queryWeights ?? (encoder.idfTable() as ReadonlyMap<string, number>);
    const idf = new Float32Array(termIds.size);
    for (const [term, id] of termIds) idf[id] = idfTable.get(term) ?? 0;
    return { docIds, docs: { ...docs, nTerms: termIds.size }, queryIds, queries, idf };
  } finally {
    await encoder.dispose();
  }
}

/** Exact top-k of every query by term-at-a-time accumulation over inverted lists built from `docs`. */
function searchAll(docs: CsrMatrix, queries: CsrMatrix, k: number): number[][] {
  const { nRows, nTerms, offsets, terms, values } = docs;
  const start = new Uint32Array(nTerms + 1);
  for (let i = 0; i < offsets[nRows]; i++) start[terms[i] + 1]++;
  for (let t = 0; t < nTerms; t++) start[t + 1] += start[t];
  const fill = start.slice(0, nTerms);
  const listDocs = new Uint32Array(offsets[nRows]);
  const listWeights = new Float32Array(offsets[nRows]);
  for (let r = 0; r < nRows; r++) {
    for (let i = offsets[r]; i < offsets[r + 1]; i++) {
      const slot = fill[terms[i]]++;
      listDocs[slot] = r;
      listWeights[slot] = values[i];
    }
  }
  const scores = new Float64Array(nRows);
  const touched: number[] = [];
  const results: number[][] = [];
  for (let q = 0; q < queries.nRows; q++) {
    for (let i = queries.offsets[q]; i < queries.offsets[q + 1]; i++) {
      const t = queries.terms[i];
      if (t >= nTerms) continue;
      const w = queries.values[i];
      for (let j = start[t]; j < start[t + 1]; j++) {
        const d = listDocs[j];
        if (scores[d] === 0) touched.push(d);
        scores[d] += w * listWeights[j];
      }
    }
    touched.sort((a, b) => scores[b] - scores[a] || a - b);
    results.push(touched.slice(0, k));
    for (const d of touched) scores[d] = 0;
    touched.length = 0;
  }
  return results;
}

function evaluate(enc: Encoded, docs: CsrMatrix, qrels: Qrels): { ndcg10: number; recall100: number } {
  const hits = searchAll(docs, enc.queries, 100);
  const ranking = new Map<string, string[]>();
  hits.forEach((list, q) => ranking.set(enc.queryIds[q], list.map((d) => enc.docIds[d])));
  const { mean } = evaluateRun(ranking, qrels);
  return { ndcg10: mean.ndcgAt10, recall100: mean.recallAt100 };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const collections = `${args.shared}/collections`;
  const bertVocab = `${args.shared}/vocab/bert-base-uncased.vocab.txt`;
  const osIdf = `${args.shared}/vocab/opensearch-inference-free.idf.json`;
  if (!existsSync(collections)) {
    console.log(`flops-study: skipped, no shared collections at ${collections} (pass --shared <dir> or set SPLADEX_SHARED)`);
    return;
  }
  const osIdfTable = existsSync(osIdf) ? (await readIdfJson(osIdf)).table : null;
  const rows: Row[] = [];
  for (const name of args.collections) {
    const dir = `${collections}/${name}`;
    if (!existsSync(`${dir}/corpus.jsonl`)) {
      console.error(`flops-study: skipping ${name}: no ${dir}/corpus.jsonl`);
      continue;
    }
    const qrels = await readQrels(`${dir}/qrels.txt`);
    const setups: Array<{ setup: string; encode: () => Promise<Encoded> }> = [{ setup: 'lexical (BM25)', encode: () => encodeCollection(dir, { kind: 'lexical' }) }];
    if (osIdfTable !== null && existsSync(bertVocab)) {
      setups.push({ setup: 'wordpiece BM25 docs + os-idf queries', encode: () => encodeCollection(dir, { kind: 'lexical', vocab: bertVocab }, osIdfTable) });
    }
    for (const { setup, encode } of setups) {
      const enc = await encode();
      const base = computeFlops(enc.docs);
      const ones = new Float32Array(enc.idf.length).fill(1);
      for (const fraction of args.budgets) {
        const variants: Array<{ pruning: Row['pruning']; idf: Float32Array | null }> =
          fraction >= 1 ? [{ pruning: 'none', idf: null }] : [{ pruning: 'idf-aware', idf: enc.idf }, { pruning: 'weight-only', idf: ones }];
        for (const { pruning, idf } of variants) {
          const t = performance.now();
          const docs = idf === null ? enc.docs : pruneToFlopsBudget(enc.docs, idf, { flopsBudget: base * fraction }).matrix;
          const pruneSeconds = (performance.now() - t) / 1000;
          const { ndcg10, recall100 } = evaluate(enc, docs, qrels);
          rows.push({
            collection: name,
            setup,
            pruning,
            budget: fraction,
            flopsSelf: computeFlops(docs),
            flopsQueries: computeFlops(docs, enc.queries),
            postingsPerDoc: postingsPerDocument(docs).mean,
            ndcg10,
            recall100,
            pruneSeconds,
          });
        }
      }
    }
  }
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log('| collection | documents → queries | pruning | budget | FLOPS (p_q = p_d) | FLOPS (queries) | postings/doc | nDCG@10 | R@100 |');
  console.log('|---|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const budget = r.pruning === 'none' ? '100%' : `${Math.round(r.budget * 100)}%`;
    console.log(
      `| ${r.collection} | ${r.setup} | ${r.pruning} | ${budget} | ${r.flopsSelf.toFixed(3)} | ${r.flopsQueries.toFixed(3)} | ${r.postingsPerDoc.toFixed(1)} | ${r.ndcg10.toFixed(4)} | ${r.recall100.toFixed(4)} |`,
    );
  }
}

await main();
