/**
 * Text in, text out through the library: buildTextIndex (lexical, splade and inference-free with
 * the tiny generated model), the stored encoder and IDF table, searchText, addText, index-time
 * posting pruning against an independent pruneToFlopsBudget, FLOPS reports, save/overwrite/verify
 * of the stored records, and the query-only inference-free encoder.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEncoder } from '../encode/encoder.js';
import { bm25IdfOf, computeFlops, csrFromVectors, pruneToFlopsBudget, type CsrMatrix } from '../encode/flops.js';
import { writeTinyMaskedLm } from '../testing/tiny-model.js';
import { isSpladexError } from '../errors.js';
import { verifyIndex } from '../reader/verify.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import { openIndexEncoder } from '../reader/index-encoder.js';
import { buildTextIndex, type TextDocumentInput } from './text-index.js';
import type { DocumentInput, SparseVectorInput } from '../types.js';
import { bruteForceTopK, randomCorpus } from '../../test/helpers/random-corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-text-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DOCS: TextDocumentInput[] = [
  { _id: 'd1', title: 'Brain development', text: 'White matter development in the human brain of patients.', metadata: { year: 2010 } },
  { _id: 'd2', text: 'Sparse retrieval with learned sparse vectors: a neural search model for document retrieval.' },
  { id: 3, title: 'Cancer', contents: 'Cancer cells and protein genes in cancer patients.', metadata: { year: 2020, tags: ['onc'] } },
  { _id: 'd4', text: 'Sleep, memory and the heart: blood, water and energy.' },
  { _id: 'd5', title: 'Hello', text: 'Hello world! A fast red cafe.' },
  { _id: 'd6', text: 'Gene expression in human cells: a study of cell data.' },
];
const QUERIES = ['sparse retrieval model', 'cancer genes', 'brain white matter', 'human cells'];

const modelDir = join(dir, 'tiny');
beforeAll(async () => {
  await writeTinyMaskedLm(modelDir, { seed: 7 });
});

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(isSpladexError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return (error as Error).message;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('buildTextIndex + searchText', () => {
  it('lexical (default without a model): stores content, metadata, encoder and corpus IDF; searchText = search(encodeQueries)', async () => {
    const out = join(dir, 'lexical');
    const summary = await buildTextIndex(DOCS, out);
    expect(summary).toMatchObject({ documents: 6, skipped: 0 });
    expect(summary.encoder).toMatchObject({ kind: 'lexical', label: 'lexical (BM25), not a learned model', model: null, corpusStats: { documents: 6 } });
    expect(summary.encoder!.stats.documents).toBe(6);
    const index = SpladexIndex.open(out);
    try {
      // The title is indexed as part of the content and also kept as metadata (for --fields title).
      expect(index.getDocument('d1')).toEqual({ id: 'd1', content: 'Brain development White matter development in the human brain of patients.', metadata: { title: 'Brain development', year: 2010 } });
      expect(index.getDocument('3')).toMatchObject({ content: 'Cancer Cancer cells and protein genes in cancer patients.', metadata: { tags: ['onc'] } });
      const info = index.info();
      expect(info.encoder).toEqual({ kind: 'lexical', label: 'lexical (BM25), not a learned model' });
      expect(info.idf).toMatchObject({ source: 'corpus' });
      expect(index.encoderSpec()).toMatchObject({ kind: 'lexical', corpusStats: { documents: 6 } });
      // Query vectors of the stored encoder: the same hits.
      const byText = await index.searchText(QUERIES, { k: 6, mode: 'exhaustive' });
      const stored = await index.encoder();
      const vectors = await stored.encodeQueries(QUERIES);
      expect(byText).toEqual(index.searchBatch(vectors, { k: 6, mode: 'exhaustive' }));
      expect(byText[1][0].id).toBe('3');
      expect(await index.searchText('cancer genes', { k: 6, mode: 'exhaustive' })).toEqual(byText[1]);
      // The same encoder opened without loading segments (eval, bench).
      const light = await openIndexEncoder(out);
      expect(await light.encodeQueries(QUERIES)).toEqual(vectors);
      await light.dispose();
    } finally {
      index.close();
    }
    expect(verifyIndex(out).ok).toBe(true);
  });

  it('splade with the tiny model: query vectors through the model; a changed model is E_MODEL, a moved one is found with encoder.model', async () => {
    const model = join(dir, 'tiny-copy');
    cpSync(modelDir, model, { recursive: true });
    const out = join(dir, 'splade');
    const summary = await buildTextIndex(DOCS, out, { encoder: { model }, pruning: 'none', summaryEnergy: 1, maxSummaryTerms: 0 });
    expect(summary.encoder).toMatchObject({ kind: 'splade', model: { dir: model, file: 'model.onnx' } });
    expect(summary.encoder!.stats.modelMs).toBeGreaterThan(0);
    const encoder = await openEncoder({ model });
    const vectors = await encoder.encodeQueries(QUERIES);
    await encoder.dispose();
    let index = SpladexIndex.open(out);
    expect(await index.searchText(QUERIES, { k: 6, mode: 'exhaustive' })).toEqual(index.searchBatch(vectors, { k: 6, mode: 'exhaustive' }));
    index.close();

    // Moved: found through the override; the original path is gone.
    const moved = join(dir, 'tiny-moved');
    cpSync(model, moved, { recursive: true });
    rmSync(model, { recursive: true });
    index = SpladexIndex.open(out);
    await expectCode(index.searchText('cancer'), 'E_MODEL');
    index.close();
    index = SpladexIndex.open(out, { encoder: { model: moved } });
    expect(await index.searchText(QUERIES[0], { k: 6, mode: 'exhaustive' })).toEqual(index.search(vectors[0], { k: 6, mode: 'exhaustive' }));
    index.close();

    // Changed: another model written over the moved one.
    await writeTinyMaskedLm(moved, { seed: 8 });
    index = SpladexIndex.open(out, { encoder: { model: moved } });
    const message = await expectCode(index.searchText('cancer'), 'E_MODEL');
    expect(message).toContain('the model changed since the index was built');
    index.close();
  });

  it('inference-free with an idf.json: queries are distinct tokens × idf, served without the model', async () => {
    const idfFile = join(dir, 'tiny-idf.json');
    const idf = { cancer: 3, genes: 2.5, sparse: 2, retrieval: 1.5, model: 1, the: 0.1, brain: 2.2 };
    writeFileSync(idfFile, JSON.stringify(idf));
    const out = join(dir, 'inference-free');
    const model = join(dir, 'tiny-if');
    cpSync(modelDir, model, { recursive: true });
    const summary = await buildTextIndex(DOCS, out, { encoder: { model, kind: 'inference-free', idf: idfFile } });
    expect(summary.encoder).toMatchObject({ kind: 'inference-free', corpusStats: null });
    // A search deployment needs the tokenizer, not the model.
    rmSync(join(model, 'model.onnx'));
    const index = SpladexIndex.open(out);
    try {
      expect(index.info().idf).toEqual({ source: 'file', terms: 7 });
      const encoder = await index.encoder();
      const [q] = await encoder.encodeQueries(['cancer genes cancer and the unknownword']);
      expect(q).toEqual({ cancer: 3, genes: 2.5, the: 0.1 });
      const hits = await index.searchText('cancer genes', { k: 6, mode: 'exhaustive' });
      expect(hits).toEqual(index.search({ cancer: 3, genes: 2.5 }, { k: 6, mode: 'exhaustive' }));
    } finally {
      index.close();
    }
  });

  it('text queries on an index built from vectors are E_INPUT_VECTOR with what to do', async () => {
    const out = join(dir, 'vectors');
    await buildIndex([{ id: 'a', vector: { x: 1 } }], out);
    const index = SpladexIndex.open(out);
    const message = await expectCode(index.searchText('x'), 'E_INPUT_VECTOR');
    expect(message).toContain('--input text');
    expect(index.encoderSpec()).toBeNull();
    expect(index.info().encoder).toBeNull();
    index.close();
    await expectCode(openIndexEncoder(out), 'E_INPUT_VECTOR');
  });

  it('refuses a one-shot iterable for a two-pass encoder, and checks options before encoding', async () => {
    const oneShot = (function* () {
      yield* DOCS;
    })();
    await expectCode(buildTextIndex(oneShot, join(dir, 'one-shot')), 'E_OPTION');
    await expectCode(buildTextIndex(DOCS, join(dir, 'bad-option'), { flopsBudget: -1 }), 'E_OPTION');
    await expectCode(buildTextIndex(DOCS, join(dir, 'bad-idf'), { idf: { a: 1 } }), 'E_OPTION');
    await expectCode(buildTextIndex(DOCS, join(dir, 'lexical')), 'E_INDEX_EXISTS');
    // A function returning a fresh iterable is read once per pass.
    let calls = 0;
    const summary = await buildTextIndex(
      () => {
        calls++;
        return DOCS;
      },
      join(dir, 'function-source'),
    );
    expect(calls).toBe(2);
    expect(summary.documents).toBe(6);
    // Bad documents are skipped with skipInvalid and reported with their position.
    const skipped: number[] = [];
    const withBad = [...DOCS, { _id: 'x' } as TextDocumentInput, { _id: 'd1', text: 'duplicate id' }];
    const s = await buildTextIndex(withBad, join(dir, 'skip'), { skipInvalid: true, onSkip: (k) => skipped.push(k.line) });
    expect(s.skipped).toBe(2);
    expect(skipped.sort()).toEqual([7, 8]);
  });
});

describe('addText', () => {
  it('lexical: keeps N, avgdl and every IDF; new terms get an IDF from the original N', async () => {
    const out = join(dir, 'lexical-add');
    await buildTextIndex(DOCS, out);
    const writer = SpladexIndex.open(out, { readonly: false });
    const before = writer.storedIdf()!;
    const spec = writer.encoderSpec()!;
    const summary = await writer.addText([
      { _id: 'n1', text: 'Zebrafish zebrafish regeneration of the heart.' },
      { _id: 'd4', text: 'Sleep replaced: memory consolidation.' },
    ]);
    // New terms: zebrafish, regener, replac, consolid.
    expect(summary).toMatchObject({ documents: 2, replaced: 1, idfTermsAdded: 4 });
    const after = writer.storedIdf()!;
    for (const [term, idf] of before.table) expect(after.table.get(term)).toBe(idf);
    // zebrafish, regener, consolid: df 1 in the added documents, N = 6 as built.
    expect(after.table.get('zebrafish')).toBeCloseTo(Math.log(1 + (6 - 1 + 0.5) / 1.5), 12);
    expect(writer.encoderSpec()).toEqual(spec);
    writer.close();
    const index = SpladexIndex.open(out);
    const hits = await index.searchText('zebrafish heart', { k: 3, mode: 'exhaustive' });
    expect(hits[0].id).toBe('n1');
    expect(index.getDocument('d4')).toMatchObject({ content: 'Sleep replaced: memory consolidation.' });
    index.close();
    expect(verifyIndex(out).ok).toBe(true);
  });

  it('is refused on a reader and on an index built from vectors', async () => {
    const reader = SpladexIndex.open(join(dir, 'lexical'));
    // A reader cannot write at all: addText exists on IndexWriter only (a type error to call).
    // @ts-expect-error addText exists on IndexWriter only
    expect(reader.addText).toBeUndefined();
    reader.close();
    const writer = SpladexIndex.open(join(dir, 'vectors'), { readonly: false });
    await expectCode(writer.addText(DOCS), 'E_INPUT_VECTOR');
    writer.close();
  });
});

/** The corpus as a CSR over its own term ids, and the ids. */
function csrOf(documents: readonly DocumentInput[]): { matrix: CsrMatrix; termIds: Map<string, number> } {
  const termIds = new Map<string, number>();
  return { matrix: csrFromVectors(documents.map((d) => d.vector), termIds), termIds };
}

function vectorsOf(matrix: CsrMatrix, termIds: Map<string, number>): SparseVectorInput[] {
  const tokens = [...termIds.keys()];
  const out: SparseVectorInput[] = [];
  for (let r = 0; r < matrix.nRows; r++) {
    const v: SparseVectorInput = {};
    for (let i = matrix.offsets[r]; i < matrix.offsets[r + 1]; i++) v[tokens[matrix.terms[i]]] = matrix.values[i];
    out.push(v);
  }
  return out;
}

describe('index-time posting pruning', () => {
  const corpus = randomCorpus({ docs: 800, queries: 15, vocabulary: 300, seed: 5 });
  const lossless = { pruning: 'none', summaryEnergy: 1, maxSummaryTerms: 0, forwardValues: 'f32' } as const;

  it('keeps exactly the postings pruneToFlopsBudget keeps (corpus BM25 IDF), meets the budget, and exact search equals brute force over them', async () => {
    const { matrix, termIds } = csrOf(corpus.documents);
    const unpruned = computeFlops(matrix);
    const budget = unpruned / 4;
    const expected = pruneToFlopsBudget(matrix, bm25IdfOf(matrix), { flopsBudget: budget });
    const prunedDocs = vectorsOf(expected.matrix, termIds).map((vector, i) => ({ ...corpus.documents[i], vector }));

    const out = join(dir, 'pruned');
    const summary = await buildIndex(corpus.documents, out, { ...lossless, flopsBudget: budget });
    expect(summary.postingPruning).toMatchObject({ idf: 'corpus', postingsBefore: expected.postingsBefore, postingsAfter: expected.postingsAfter });
    expect(summary.postingPruning!.flopsBefore).toBeCloseTo(unpruned, 10);
    expect(summary.postingPruning!.flopsAfter).toBeLessThanOrEqual(budget);
    expect(summary.postings).toBe(expected.postingsAfter);

    const index = SpladexIndex.open(out);
    try {
      const flops = index.flops();
      expect(flops.distribution).toBe('documents');
      expect(flops.flops).toBeCloseTo(expected.flopsAfter, 10);
      expect(flops.postingsPerDocument.mean).toBeCloseTo(expected.postingsAfter / 800, 10);
      expect(index.info().postingPruning).toEqual({ flopsBudget: budget, maxTermsPerDoc: 0, minWeight: 0 });
      expect(index.info().idf).toMatchObject({ source: 'corpus' });
      for (const query of corpus.queries) {
        const hits = index.search(query, { k: 10, mode: 'exhaustive' });
        const truth = bruteForceTopK(prunedDocs, query, 10);
        expect(hits.map((h) => h.id)).toEqual(truth.map((h) => h.id));
        hits.forEach((h, i) => expect(h.score).toBeCloseTo(truth[i].score, 4));
      }
      // With a query sample, p_q comes from the queries.
      const sampled = index.flops({ queries: corpus.queries });
      expect(sampled.distribution).toBe('queries');
      expect(sampled.flops).toBeCloseTo(computeFlops(expected.matrix, csrFromVectors(corpus.queries, new Map(termIds))), 10);
    } finally {
      index.close();
    }
    expect(verifyIndex(out).ok).toBe(true);
  });

  it('maxTermsPerDoc and minWeight with a given IDF table (terms missing from it count as 0); add applies the same cuts', async () => {
    const idf: Record<string, number> = {};
    for (let t = 0; t < 300; t += 2) idf[`tok${t}`] = 1 + (t % 7);
    const out = join(dir, 'cut');
    const summary = await buildIndex(corpus.documents.slice(0, 600), out, { ...lossless, maxTermsPerDoc: 8, minWeight: 0.05, idf });
    expect(summary.postingPruning).toMatchObject({ idf: 'table' });
    const { matrix, termIds } = csrOf(corpus.documents.slice(0, 600));
    const table = new Float32Array(matrix.nTerms);
    for (const [token, id] of termIds) table[id] = idf[token] ?? 0;
    const expected = pruneToFlopsBudget(matrix, table, { maxTermsPerDoc: 8, minWeight: 0.05 });
    expect(summary.postings).toBe(expected.postingsAfter);

    const writer = SpladexIndex.open(out, { readonly: false });
    const added = await writer.add(corpus.documents.slice(600), { smallSegmentDocs: 0 });
    expect(added.postingPruning).toBeDefined();
    expect(added.idfTermsAdded).toBeUndefined();
    const flops = writer.flops();
    expect(flops.postingsPerDocument.max).toBeLessThanOrEqual(8);
    writer.close();
  });

  it('save() copies the stored encoder and IDF; an overwrite from vectors drops them; a swapped record is E_CORRUPT', async () => {
    const source = SpladexIndex.open(join(dir, 'lexical'));
    const copy = join(dir, 'lexical-saved');
    source.save(copy);
    source.close();
    const saved = SpladexIndex.open(copy);
    expect((await saved.searchText('cancer genes', { k: 1 }))[0].id).toBe('3');
    saved.close();
    expect(verifyIndex(copy).ok).toBe(true);

    // An IDF record rewritten with a valid row checksum: caught by the manifest binding.
    const db = new Database(join(copy, 'spladex.db'));
    const row = db.prepare("SELECT value FROM meta WHERE key = 'idf'").get() as { value: string };
    const extended = JSON.parse(row.value) as { terms: string[]; idf: number[] };
    extended.terms.push('zzz');
    extended.idf.push(1);
    const { crc32 } = await import('node:zlib');
    const text = JSON.stringify(extended);
    db.prepare("UPDATE meta SET value = ?, crc = ? WHERE key = 'idf'").run(text, crc32(text));
    db.close();
    const report = verifyIndex(copy);
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ code: 'E_CORRUPT', location: 'table meta, key "idf"' });
    const damaged = SpladexIndex.open(copy);
    await expectCode(damaged.searchText('cancer'), 'E_CORRUPT');
    damaged.close();

    await buildIndex([{ id: 'v', vector: { cancer: 1 } }], copy, { overwrite: true });
    const replaced = SpladexIndex.open(copy);
    expect(replaced.info()).toMatchObject({ encoder: null, idf: null, postingPruning: null });
    await expectCode(replaced.searchText('cancer'), 'E_INPUT_VECTOR');
    replaced.close();
    expect(existsSync(copy)).toBe(true);
  });
});

describe('query-only inference-free encoder', () => {
  it('encodes queries with a tokenizer and an IDF table, no model; documents need the model', async () => {
    const encoder = await openEncoder({ kind: 'inference-free', vocab: join(modelDir, 'vocab.txt'), idf: { cancer: 2, genes: 1 } });
    expect(encoder.label).toContain('queries only');
    expect(await encoder.encodeQueries(['Cancer genes cancer'])).toEqual([{ cancer: 2, genes: 1 }]);
    await expectCode(encoder.encodeDocuments(['x']), 'E_OPTION');
    await encoder.dispose();
    await expectCode(openEncoder({ kind: 'inference-free', vocab: join(modelDir, 'vocab.txt') }), 'E_OPTION');
  });
});
