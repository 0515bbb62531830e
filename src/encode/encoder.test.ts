import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { ENCODER_DEFAULTS, openEncoder, openEncoderFromSpec } from './encoder.js';
import { bm25Idf, idfTableToJson } from './idf.js';
import { writeTinyMaskedLm, type TinyMaskedLm } from '../testing/tiny-model.js';

const BERT_VOCAB = '../shared/data/vocab/bert-base-uncased.vocab.txt';

const CORPUS = [
  'The brain study of white matter development in human patients.',
  'Sparse retrieval with learned sparse vectors.',
  'Cancer cells and protein genes in cancer patients.',
  'Hello world!',
  'Sleep, memory and the brain.',
];

const dot = (a: Record<string, number>, b: Record<string, number>): number => Object.entries(a).reduce((s, [t, w]) => s + w * (b[t] ?? 0), 0);

/** Textbook BM25 over pre-split terms, for comparison. */
function bm25(queryTerms: string[], docs: string[][], k1: number, b: number): number[] {
  const N = docs.length;
  const avgdl = docs.reduce((s, d) => s + d.length, 0) / N;
  return docs.map((doc) => {
    let score = 0;
    for (const term of queryTerms) {
      const tf = doc.filter((t) => t === term).length;
      if (tf === 0) continue;
      const df = docs.filter((d) => d.includes(term)).length;
      const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
      score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * doc.length) / avgdl));
    }
    return score;
  });
}

let root: string;
let model: TinyMaskedLm;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'spladex-enc-'));
  model = await writeTinyMaskedLm(join(root, 'model'), { seed: 3, maxPositions: 32 });
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('lexical (BM25) encoder', () => {
  it('makes query · document equal the BM25 score (built-in English analyzer)', async () => {
    const encoder = await openEncoder({ kind: 'lexical' });
    expect(encoder.label).toBe('lexical (BM25), not a learned model');
    expect(encoder.needsCorpusStats).toBe(true);
    await expect(encoder.encodeDocuments(CORPUS)).rejects.toMatchObject({ code: 'E_OPTION' });
    encoder.addCorpusDocuments(CORPUS.slice(0, 2));
    encoder.addCorpusDocuments(CORPUS.slice(2));
    const stats = encoder.finishCorpusStats();
    expect(stats.documents).toBe(5);
    expect(encoder.needsCorpusStats).toBe(false);

    const docs = await encoder.encodeDocuments(CORPUS);
    const [query] = await encoder.encodeQueries(['cancer in the brains of patients']);
    // Analyzer terms: stop words gone, Porter stems.
    expect(Object.keys(query).sort()).toEqual(['brain', 'cancer', 'patient']);
    expect(Object.keys(docs[2]).sort()).toEqual(['cancer', 'cell', 'gene', 'patient', 'protein']);
    const terms = (text: string): string[] =>
      text
        .toLowerCase()
        .split(/[^a-z]+/)
        .filter((t) => t && !['the', 'of', 'in', 'with', 'and'].includes(t))
        .map((t) => t.replace(/s$/, ''));
    const expected = bm25(['cancer', 'brain', 'patient'], CORPUS.map(terms), 0.9, 0.4);
    docs.forEach((doc, i) => expect(dot(query, doc)).toBeCloseTo(expected[i], 10));
    expect(encoder.spec).toMatchObject({ kind: 'lexical', bm25: { k1: 0.9, b: 0.4 }, corpusStats: { documents: 5 }, query: { weighting: 'bm25-idf', countRepeats: true } });
    await encoder.dispose();
  });

  it('counts a repeated query term once per occurrence (as Anserini does)', async () => {
    const encoder = await openEncoder({ kind: 'lexical' });
    encoder.addCorpusDocuments(CORPUS);
    encoder.finishCorpusStats();
    const [once, twice] = await encoder.encodeQueries(['cancer', 'cancer cancer']);
    expect(twice.cancer).toBeCloseTo(2 * once.cancer, 12);
    expect(once.cancer).toBeCloseTo(bm25Idf(5, 1), 12);
    await encoder.dispose();
  });

  it('can use a model directory tokenizer (WordPiece terms) and reopens from its spec', async () => {
    const encoder = await openEncoder({ kind: 'lexical', model: model.dir, bm25K1: 1.2, bm25B: 0.75 });
    encoder.addCorpusDocuments(CORPUS);
    encoder.finishCorpusStats();
    const docs = await encoder.encodeDocuments(CORPUS);
    expect(Object.keys(docs[3]).sort()).toEqual(['!', 'hello', 'world']);
    const spec = JSON.parse(JSON.stringify(encoder.spec));
    const idf = idfTableToJson(encoder.idfTable()!);
    const [query] = await encoder.encodeQueries(['hello cancer']);
    await encoder.dispose();

    const reopened = await openEncoderFromSpec(spec, { idf });
    expect(reopened.needsCorpusStats).toBe(false);
    expect(await reopened.encodeQueries(['hello cancer'])).toEqual([query]);
    expect(await reopened.encodeDocuments([CORPUS[3]])).toEqual([docs[3]]);
    await reopened.dispose();
    await expect(openEncoderFromSpec(spec)).rejects.toMatchObject({ code: 'E_OPTION' });
  });

  it.skipIf(!existsSync(BERT_VOCAB))('uses a WordPiece vocab given by path', async () => {
    const encoder = await openEncoder({ kind: 'lexical', vocab: BERT_VOCAB });
    encoder.addCorpusDocuments(['Hello world', 'the world']);
    encoder.finishCorpusStats();
    const [doc] = await encoder.encodeDocuments(['Hello, world!']);
    expect(Object.keys(doc).sort()).toEqual(['!', ',', 'hello', 'world']);
    await encoder.dispose();
  });
});

describe('inference-free encoder', () => {
  it('encodes documents with the model and queries as IDF-weighted tokens from idf.json', async () => {
    const dir = join(root, 'with-idf');
    await writeTinyMaskedLm(dir, { seed: 3, maxPositions: 32 });
    await writeFile(join(dir, 'idf.json'), JSON.stringify({ hello: 2.5, world: 1.5, cancer: 4, '[CLS]': 1 }));
    const encoder = await openEncoder({ kind: 'inference-free', model: dir, threads: 1 });
    expect(encoder.needsCorpusStats).toBe(false);
    const [query] = await encoder.encodeQueries(['Hello hello world, unknownword']);
    // Binary presence × idf: repeats count once; tokens without an IDF are dropped.
    expect(query).toEqual({ hello: 2.5, world: 1.5 });
    const docs = await encoder.encodeDocuments(CORPUS);
    expect(Object.keys(docs[0]).length).toBeGreaterThan(0);
    expect(encoder.spec.query).toMatchObject({ weighting: 'idf', countRepeats: false, idfSource: { type: 'file' } });

    // Reopened from the spec, it finds idf.json again and encodes identically.
    const spec = JSON.parse(JSON.stringify(encoder.spec));
    await encoder.dispose();
    const reopened = await openEncoderFromSpec(spec, { threads: 1 });
    expect(await reopened.encodeQueries(['Hello hello world, unknownword'])).toEqual([query]);
    // Documents still go through the (lazily loaded) model.
    const again = await reopened.encodeDocuments(CORPUS.slice(0, 1));
    expect(Object.keys(again[0]).sort()).toEqual(Object.keys(docs[0]).sort());
    expect(reopened.spec).toEqual(spec);
    await reopened.dispose();
    // Queries need no model at all: a search deployment can ship without model.onnx.
    await rm(join(dir, 'model.onnx'));
    const modelFree = await openEncoderFromSpec(spec, { threads: 1 });
    expect(await modelFree.encodeQueries(['Hello hello world, unknownword'])).toEqual([query]);
    expect(modelFree.spec).toEqual(spec);
    await expect(modelFree.encodeDocuments(['hello'])).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('model.onnx') });
    await modelFree.dispose();
    // A changed idf.json is detected.
    await writeFile(join(dir, 'idf.json'), JSON.stringify({ hello: 3 }));
    await expect(openEncoderFromSpec(spec, { threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('idf.json changed') });
  });

  it('computes BM25 IDF from the corpus when the model has no idf.json', async () => {
    const encoder = await openEncoder({ kind: 'inference-free', model: model.dir, threads: 1 });
    expect(encoder.needsCorpusStats).toBe(true);
    await expect(encoder.encodeQueries(['hello'])).rejects.toMatchObject({ code: 'E_OPTION' });
    encoder.addCorpusDocuments(CORPUS);
    encoder.finishCorpusStats();
    const [query] = await encoder.encodeQueries(['hello cancer cancer']);
    expect(query.hello).toBeCloseTo(bm25Idf(5, 1), 12);
    expect(query.cancer).toBeCloseTo(bm25Idf(5, 1), 12);
    expect(encoder.spec.query.idfSource).toEqual({ type: 'corpus', formula: 'bm25' });
    await encoder.dispose();
  });
});

describe('splade encoder spec', () => {
  it('reopens from its spec and encodes queries identically; a changed model is refused', async () => {
    const dir = join(root, 'spec-model');
    await writeTinyMaskedLm(dir, { seed: 11, maxPositions: 32 });
    const encoder = await openEncoder({ model: dir, maxLength: 16, threads: 1 });
    const spec = JSON.parse(JSON.stringify(encoder.spec));
    expect(spec).toMatchObject({ kind: 'splade', maxLength: 16, model: { file: 'model.onnx', output: 'token-logits', outputName: 'logits' } });
    expect(spec.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    const [query] = await encoder.encodeQueries(['sparse retrieval of cells']);
    await encoder.dispose();

    const reopened = await openEncoderFromSpec(spec, { threads: 1 });
    expect(await reopened.encodeQueries(['sparse retrieval of cells'])).toEqual([query]);
    expect(reopened.spec.maxLength).toBe(16);
    await reopened.dispose();

    // Relocated model directory: tokenizer follows.
    const moved = join(root, 'spec-model-moved');
    await writeTinyMaskedLm(moved, { seed: 11, maxPositions: 32 });
    const relocated = await openEncoderFromSpec(spec, { model: moved, threads: 1 });
    expect(await relocated.encodeQueries(['sparse retrieval of cells'])).toEqual([query]);
    await relocated.dispose();

    await writeTinyMaskedLm(dir, { seed: 12, maxPositions: 32 });
    const error = await openEncoderFromSpec(spec, { threads: 1 }).catch((e: unknown) => e);
    expect(isSpladexError(error, 'E_MODEL')).toBe(true);
    expect((error as Error).message).toContain('the model changed since the index was built');
    // The check can be skipped deliberately.
    const unchecked = await openEncoderFromSpec(spec, { threads: 1, verifyChecksum: false });
    await unchecked.dispose();
    await appendFile(join(dir, 'tokenizer.json'), ' ');
    await expect(openEncoderFromSpec(spec, { threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('tokenizer file changed') });
  });

  it('rejects invalid and future specs', async () => {
    await expect(openEncoderFromSpec({ format: 'nope' })).rejects.toMatchObject({ code: 'E_CORRUPT' });
    await expect(openEncoderFromSpec({ format: 'spladex-encoder', version: 99 })).rejects.toMatchObject({ code: 'E_FORMAT_VERSION' });
  });
});

describe('options', () => {
  it('keeps every default in ENCODER_DEFAULTS', () => {
    expect(ENCODER_DEFAULTS).toMatchObject({ kind: 'splade', batchSize: 32, longDocuments: 'truncate', bm25K1: 0.9, bm25B: 0.4, activation: 'log1p-relu' });
  });

  it('rejects out-of-range values with E_OPTION', async () => {
    const bad = [
      { kind: 'dense' },
      { kind: 'splade' },
      { model: model.dir, batchSize: 0 },
      { model: model.dir, maxLength: 2 },
      { model: model.dir, maxLength: 33 },
      { model: model.dir, longDocuments: 'window', windowOverlap: 30 },
      { model: model.dir, activation: 'softplus' },
      { kind: 'lexical', bm25B: 1.5 },
      { model: model.dir, idf: 'idf.json' },
    ];
    for (const options of bad) {
      await expect(openEncoder(options as never), JSON.stringify(options)).rejects.toMatchObject({ code: 'E_OPTION' });
    }
  });

  it('takes pooling settings and max length from the model directory\'s spladex.json', async () => {
    const dir = join(root, 'configured');
    await writeTinyMaskedLm(dir, { seed: 3, maxPositions: 32 });
    await writeFile(join(dir, 'spladex.json'), JSON.stringify({ activation: 'log1p-log1p-relu', specialTokenPositions: 'include', maxLength: 24 }));
    const encoder = await openEncoder({ model: dir, threads: 1 });
    expect(encoder.spec).toMatchObject({ maxLength: 24, pooling: { activation: 'log1p-log1p-relu', specialTokenPositions: 'include' } });
    await encoder.dispose();
    const overridden = await openEncoder({ model: dir, threads: 1, activation: 'log1p-relu', maxLength: 16 });
    expect(overridden.spec).toMatchObject({ maxLength: 16, pooling: { activation: 'log1p-relu' } });
    await overridden.dispose();
  });

  it('serialises concurrent calls and refuses work after dispose', async () => {
    const encoder = await openEncoder({ model: model.dir, batchSize: 2, threads: 1 });
    const [a, b] = await Promise.all([encoder.encodeDocuments(CORPUS), encoder.encodeDocuments(CORPUS.slice().reverse())]);
    // Same vectors up to float noise: onnxruntime's matmul blocking depends on the batch shape.
    b.slice()
      .reverse()
      .forEach((vector, i) => {
        expect(Object.keys(vector).sort()).toEqual(Object.keys(a[i]).sort());
        for (const [token, weight] of Object.entries(vector)) expect(weight).toBeCloseTo(a[i][token], 6);
      });
    expect(encoder.stats.documents).toBe(10);
    expect(encoder.stats.documentsPerSecond).toBeGreaterThan(0);
    await encoder.dispose();
    await expect(encoder.encodeDocuments(['x'])).rejects.toMatchObject({ code: 'E_CLOSED' });
  });
});
