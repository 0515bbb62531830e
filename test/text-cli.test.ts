/**
 * Text in, text out through the built CLI (dist/cli/main.js): `spladex index --input text` with
 * the tiny generated masked-LM (splade, inference-free) and without a model (lexical BM25),
 * `search` with inline text and text query files, `add --input text`, `eval` / `bench` / `info`
 * with text queries, FLOPS-budget pruning, and the errors for a changed model and for text on an
 * index built from vectors. SciFact (../shared) checks BM25 effectiveness end to end.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEncoder } from '../src/encode/encoder.js';
import { bm25IdfOf, csrFromVectors, pruneToFlopsBudget } from '../src/encode/flops.js';
import { writeTinyMaskedLm } from '../src/testing/tiny-model.js';
import { hasBuild, hasShared, runCli, SHARED } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-text-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DOCS = [
  { _id: 'd1', title: 'Brain development', text: 'White matter development in the human brain of patients.', metadata: { year: 2010 } },
  { _id: 'd2', text: 'Sparse retrieval with learned sparse vectors: a neural search model for document retrieval.' },
  { id: 3, title: 'Cancer', contents: 'Cancer cells and protein genes in cancer patients.' },
  { _id: 'd4', text: 'Sleep, memory and the heart: blood, water and energy.' },
  { _id: 'd5', title: 'Hello', text: 'Hello world! A fast red cafe.' },
  { _id: 'd6', text: 'Gene expression in human cells: a study of cell data.' },
  { _id: 'd7', text: 'The heart and the brain: blood flow, memory and sleep in human patients.' },
  { _id: 'd8', text: 'Cancer genes: protein expression data of tumour cells.' },
];
const QUERIES = [
  { _id: 'q1', text: 'sparse retrieval model' },
  { _id: 'q2', text: 'cancer genes' },
  { _id: 'q3', text: 'brain white matter' },
  { _id: 'q4', text: 'heart blood sleep' },
];

const corpusPath = join(dir, 'corpus.jsonl');
const queriesPath = join(dir, 'queries.jsonl');
writeFileSync(corpusPath, DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
writeFileSync(queriesPath, QUERIES.map((q) => JSON.stringify(q)).join('\n') + '\n');

interface Hit {
  id: string;
  score: number;
}
interface Result {
  id: string;
  hits: Hit[];
}
const results = (stdout: string): Result[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Result);
const readVectors = (path: string): Array<{ id: string; vector: Record<string, number> }> =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; vector: Record<string, number> });

/** Same ids in the same order, scores equal up to float32 rounding of query weights written to a file. */
function expectSameHits(actual: Result[], expected: Result[]): void {
  expect(actual.map((r) => r.id)).toEqual(expected.map((r) => r.id));
  actual.forEach((r, i) => {
    expect(r.hits.map((h) => h.id)).toEqual(expected[i].hits.map((h) => h.id));
    r.hits.forEach((h, j) => expect(h.score).toBeCloseTo(expected[i].hits[j].score, 5));
  });
}

const LOSSLESS = ['--pruning', 'none', '--summary-energy', '1', '--max-summary-terms', '0'];
const modelDir = join(dir, 'tiny');
beforeAll(async () => {
  await writeTinyMaskedLm(modelDir, { seed: 7 });
});

describe.skipIf(!hasBuild)('spladex index --input text (tiny masked-LM)', () => {
  it('splade: search "<text>" equals encoding the text with `encode --as queries` and searching the vector', () => {
    const out = join(dir, 'splade');
    const built = runCli(['index', corpusPath, '--out', out, '--input', 'text', '--model', modelDir, '--json', ...LOSSLESS]);
    expect(built.status, built.stderr).toBe(0);
    const summary = JSON.parse(built.stdout);
    expect(summary).toMatchObject({ documents: DOCS.length, skipped: 0, encoder: { kind: 'splade', model: { dir: modelDir, file: 'model.onnx' } } });
    expect(summary.encoder.stats.documentsPerSecond).toBeGreaterThan(0);
    expect(summary.encoder.stats.modelMs).toBeGreaterThan(0);

    // The reference: query vectors from `spladex encode --as queries`, searched as vectors.
    const qv = join(dir, 'splade.queries.jsonl');
    expect(runCli(['encode', queriesPath, '--as', 'queries', '--out', qv, '--model', modelDir, '--quiet']).status).toBe(0);
    const reference = runCli(['search', out, '--queries', qv, '--k', '8', '--format', 'json', '--exact']);
    expect(reference.status, reference.stderr).toBe(0);
    const expected = results(reference.stdout);
    expect(expected.every((r) => r.hits.length > 0)).toBe(true);

    // A text query file, and each query inline.
    const byFile = runCli(['search', out, '--queries', queriesPath, '--k', '8', '--format', 'json', '--exact']);
    expect(byFile.status, byFile.stderr).toBe(0);
    expectSameHits(results(byFile.stdout), expected);
    QUERIES.forEach((q, i) => {
      const inline = runCli(['search', out, q.text, '--k', '8', '--format', 'json', '--exact']);
      expect(inline.status, inline.stderr).toBe(0);
      expectSameHits(results(inline.stdout), [{ ...expected[i], id: 'query' }]);
    });
    // Approximate search on the lossless index returns the exact results too.
    expectSameHits(results(runCli(['search', out, '--queries', queriesPath, '--k', '8', '--format', 'json', '--query-cut', '0', '--heap-factor', '1']).stdout), expected);
    // A JSON object inline is still a vector.
    expect(runCli(['search', out, '{"cancer": 1}', '--format', 'json']).status).toBe(0);

    const info = JSON.parse(runCli(['info', out, '--json']).stdout);
    expect(info.encoder).toMatchObject({ kind: 'splade' });
    expect(info.flops).toMatchObject({ distribution: 'documents', documents: DOCS.length });
  });

  it('a changed model is E_MODEL; --model finds a moved one', async () => {
    const model = join(dir, 'tiny-changing');
    cpSync(modelDir, model, { recursive: true });
    const out = join(dir, 'splade-changing');
    expect(runCli(['index', corpusPath, '--out', out, '--input', 'text', '--model', model, '--quiet']).status).toBe(0);
    const moved = join(dir, 'tiny-moved');
    cpSync(model, moved, { recursive: true });
    await writeTinyMaskedLm(model, { seed: 99 });
    const changed = runCli(['search', out, 'cancer genes']);
    expect(changed.status).toBe(2);
    expect(changed.stderr).toContain('[E_MODEL]');
    expect(changed.stderr).toContain('the model changed since the index was built');
    expect(changed.stderr).toContain('--model');
    const relocated = runCli(['search', out, 'cancer genes', '--model', moved, '--format', 'json']);
    expect(relocated.status, relocated.stderr).toBe(0);
    expect(results(relocated.stdout)[0].hits.length).toBeGreaterThan(0);
    // eval, bench and info encode text queries the same way, and fail the same way.
    expect(runCli(['info', out, '--queries', queriesPath]).stderr).toContain('[E_MODEL]');
    expect(runCli(['info', out, '--queries', queriesPath, '--model', moved]).status).toBe(0);
  });

  it('inference-free with an idf.json: queries are tokenizer tokens × idf, the same as `encode --queries`', () => {
    const idfFile = join(dir, 'idf.json');
    writeFileSync(idfFile, JSON.stringify({ cancer: 3.1, genes: 2.4, sparse: 2.2, retrieval: 1.7, model: 1.1, brain: 2.5, white: 1.9, matter: 1.8, heart: 2.0, blood: 1.6, sleep: 2.1, the: 0.05 }));
    const out = join(dir, 'inference-free');
    const built = runCli(['index', corpusPath, '--out', out, '--input', 'text', '--model', modelDir, '--kind', 'inference-free', '--idf', idfFile, '--json', ...LOSSLESS]);
    expect(built.status, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout).encoder).toMatchObject({ kind: 'inference-free', corpusStats: null });

    const dv = join(dir, 'if.docs.jsonl');
    const qv = join(dir, 'if.queries.jsonl');
    const encoded = runCli(['encode', corpusPath, '--out', dv, '--model', modelDir, '--kind', 'inference-free', '--idf', idfFile, '--queries', queriesPath, '--queries-out', qv, '--quiet']);
    expect(encoded.status, encoded.stderr).toBe(0);
    expect(readVectors(qv)[1].vector).toEqual({ cancer: 3.1, genes: 2.4 });
    const reference = results(runCli(['search', out, '--queries', qv, '--k', '8', '--format', 'json', '--exact']).stdout);
    const byText = runCli(['search', out, '--queries', queriesPath, '--k', '8', '--format', 'json', '--exact']);
    expect(byText.status, byText.stderr).toBe(0);
    expectSameHits(results(byText.stdout), reference);
    expect(JSON.parse(runCli(['info', out, '--json']).stdout).idf).toEqual({ source: 'file', terms: 12 });
  });
});

describe.skipIf(!hasBuild)('spladex index --input text (lexical BM25, no model)', () => {
  const out = join(dir, 'lexical');

  it('builds a BM25 index labelled as such; text search equals searching `encode --queries` vectors', () => {
    const built = runCli(['index', corpusPath, '--out', out, '--input', 'text', ...LOSSLESS]);
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain('lexical (BM25), not a learned model');
    expect(built.stdout).toMatch(/documents\/s in the encoder/);
    expect(built.stdout).toMatch(/time split tokenize .*model .*pool /);
    expect(built.stdout).toContain('first pass');

    const dv = join(dir, 'bm25.docs.jsonl');
    const qv = join(dir, 'bm25.queries.jsonl');
    expect(runCli(['encode', corpusPath, '--out', dv, '--queries', queriesPath, '--queries-out', qv, '--quiet']).status).toBe(0);
    const vectorIndex = join(dir, 'lexical-from-vectors');
    expect(runCli(['index', dv, '--out', vectorIndex, ...LOSSLESS]).status).toBe(0);
    const reference = results(runCli(['search', vectorIndex, '--queries', qv, '--k', '8', '--format', 'json', '--exact']).stdout);
    const byText = runCli(['search', out, '--queries', queriesPath, '--k', '8', '--format', 'json', '--exact']);
    expect(byText.status, byText.stderr).toBe(0);
    expectSameHits(results(byText.stdout), reference);
    expect(results(byText.stdout)[1].hits[0].id).toBe('3');

    const info = runCli(['info', out]);
    expect(info.stdout).toContain('encoder      lexical (BM25), not a learned model');
    expect(info.stdout).toMatch(/FLOPS +\d/);
    expect(info.stdout).toMatch(/per document mean [\d.]+, p50 \d+, p99 \d+/);
  });

  it('eval and bench take text query files; info takes them as the FLOPS query sample', () => {
    const qrels = join(dir, 'qrels.txt');
    writeFileSync(qrels, 'q1 0 d2 1\nq2 0 3 1\nq2 0 d8 1\nq3 0 d1 1\nq4 0 d7 1\n');
    const evaluated = runCli(['eval', out, '--queries', queriesPath, '--qrels', qrels, '--json', '--exact']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const report = JSON.parse(evaluated.stdout);
    expect(report).toMatchObject({ queries: 4, evaluated: 4 });
    expect(report.ndcg_at_10).toBeGreaterThan(0.8);
    const bench = runCli(['bench', out, '--queries', queriesPath, '--threads', '1', '--warmup', '0', '--json', '--quiet']);
    expect(bench.status, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout)).toMatchObject({ queries: 4 });
    const info = JSON.parse(runCli(['info', out, '--queries', queriesPath, '--json']).stdout);
    expect(info.flops).toMatchObject({ distribution: 'queries', queries: 4 });
    expect(info.flops.flops).toBeLessThan(info.flops.documentFlops);
  });

  it('add --input text encodes with the stored encoder (original BM25 statistics)', () => {
    const copy = join(dir, 'lexical-add');
    cpSync(out, copy, { recursive: true });
    const extra = join(dir, 'extra.jsonl');
    writeFileSync(extra, JSON.stringify({ _id: 'n1', text: 'Zebrafish heart regeneration.', metadata: { new: true } }) + '\n');
    const added = runCli(['add', copy, extra, '--input', 'text', '--json']);
    expect(added.status, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ documents: 1, idfTermsAdded: 2, encoder: { kind: 'lexical' } });
    const hits = results(runCli(['search', copy, 'zebrafish', '--format', 'json']).stdout)[0].hits;
    expect(hits.map((h) => h.id)).toEqual(['n1']);
    expect(runCli(['verify', copy]).status).toBe(0);
    const refused = runCli(['add', copy, extra, '--model', modelDir]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--model applies to --input text');
  });

  it('--flops-budget lowers FLOPS (build summary and info) and exact search equals brute force over the pruned vectors', () => {
    const pruned = join(dir, 'lexical-pruned');
    const before = JSON.parse(runCli(['info', out, '--json']).stdout).flops.flops as number;
    const budget = before / 3;
    const built = runCli(['index', corpusPath, '--out', pruned, '--input', 'text', '--flops-budget', String(budget), '--forward-values', 'f32', '--json', ...LOSSLESS]);
    expect(built.status, built.stderr).toBe(0);
    const summary = JSON.parse(built.stdout);
    expect(summary.postingPruning.flopsBefore).toBeCloseTo(before, 10);
    expect(summary.postingPruning.flopsAfter).toBeLessThanOrEqual(budget);
    expect(summary.postingPruning.postingsAfter).toBeLessThan(summary.postingPruning.postingsBefore);
    const text = runCli(['index', corpusPath, '--out', join(dir, 'lexical-pruned-text'), '--input', 'text', '--flops-budget', String(budget), '--quiet']);
    expect(text.stdout).toMatch(/FLOPS +[\d.]+ → [\d.]+ expected multiply-adds per query/);
    const info = JSON.parse(runCli(['info', pruned, '--json']).stdout);
    expect(info.flops.flops).toBeCloseTo(summary.postingPruning.flopsAfter, 10);
    expect(info.flops.flops).toBeLessThan(before);
    expect(info.postingPruning).toEqual({ flopsBudget: budget, maxTermsPerDoc: 0, minWeight: 0 });

    // Independently: the BM25 vectors of `spladex encode`, pruned by pruneToFlopsBudget with their own BM25 IDF.
    const docs = readVectors(join(dir, 'bm25.docs.jsonl'));
    const termIds = new Map<string, number>();
    const matrix = csrFromVectors(docs.map((d) => d.vector), termIds);
    const kept = pruneToFlopsBudget(matrix, bm25IdfOf(matrix), { flopsBudget: budget }).matrix;
    const tokens = [...termIds.keys()];
    const prunedDocs = docs.map((d, r) => {
      const vector: Record<string, number> = {};
      for (let i = kept.offsets[r]; i < kept.offsets[r + 1]; i++) vector[tokens[kept.terms[i]]] = kept.values[i];
      return { id: d.id, vector };
    });
    const queries = readVectors(join(dir, 'bm25.queries.jsonl'));
    const searched = results(runCli(['search', pruned, '--queries', queriesPath, '--k', '8', '--format', 'json', '--exact']).stdout);
    searched.forEach((r, i) => {
      const truth = prunedDocs
        .map((d, order) => ({ id: d.id, order, score: Object.entries(queries[i].vector).reduce((s, [t, w]) => s + w * (d.vector[t] ?? 0), 0) }))
        .filter((h) => h.score > 0)
        .sort((a, b) => b.score - a.score || a.order - b.order);
      expect(r.hits.map((h) => h.id)).toEqual(truth.map((h) => h.id));
      r.hits.forEach((h, j) => expect(h.score).toBeCloseTo(truth[j].score, 4));
    });
  });

  it('errors: text on an index built from vectors, encoder flags with --input vectors, lexical --idf, stdin for two passes', () => {
    const vectors = join(dir, 'from-vectors');
    expect(runCli(['index', join(dir, 'bm25.docs.jsonl'), '--out', vectors, '--quiet']).status).toBe(0);
    const inline = runCli(['search', vectors, 'cancer genes']);
    expect(inline.status).toBe(2);
    expect(inline.stderr).toContain('[E_INPUT_VECTOR]');
    expect(inline.stderr).toContain('--input text');
    const file = runCli(['search', vectors, '--queries', queriesPath]);
    expect(file.stderr).toContain(`[E_INPUT_VECTOR]: ${queriesPath}:1:`);
    expect(runCli(['eval', vectors, '--queries', queriesPath, '--qrels', join(dir, 'qrels.txt')]).stderr).toContain(`[E_INPUT_VECTOR]: ${queriesPath}:1:`);

    const withModel = runCli(['index', join(dir, 'bm25.docs.jsonl'), '--out', join(dir, 'never'), '--model', modelDir]);
    expect(withModel.status).toBe(2);
    expect(withModel.stderr).toContain('--model is an encoder option: it applies to --input text');
    expect(runCli(['index', corpusPath, '--out', join(dir, 'never'), '--input', 'text', '--idf', join(dir, 'idf.json')]).stderr).toContain('--idf does not apply to the lexical kind');
    const stdin = runCli(['index', '-', '--out', join(dir, 'never'), '--input', 'text'], readFileSync(corpusPath, 'utf8'));
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toContain('reads the corpus twice');
    // One-pass kinds read stdin.
    const piped = runCli(['index', '-', '--out', join(dir, 'stdin-splade'), '--input', 'text', '--model', modelDir, '--quiet'], readFileSync(corpusPath, 'utf8'));
    expect(piped.status, piped.stderr).toBe(0);
    // Bad lines: named, or skipped once with --skip-invalid (two passes meet them twice).
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"_id": "a", "text": "fine words"}\n{"_id": "b", "text": 42}\n{"_id": "a", "text": "again"}\n');
    expect(runCli(['index', bad, '--out', join(dir, 'never'), '--input', 'text']).stderr).toContain(`[E_INPUT_JSON]: ${bad}:2:`);
    const skipped = runCli(['index', bad, '--out', join(dir, 'skipped'), '--input', 'text', '--skip-invalid', '--json']);
    expect(skipped.status, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ documents: 1, skipped: 2, skippedLines: [{ line: 2 }, { line: 3, code: 'E_INPUT_DUPLICATE_ID' }] });
    const help = runCli(['index', '--help']).stdout;
    for (const flag of ['--input <kind>', '--flops-budget', '--max-terms-per-doc', '--min-weight', '--model', '--kind', '--vocab', '--idf', '--batch-size', '--max-length', '--long-documents', '--special-tokens', '--k1', 'lexical (BM25), not a learned model']) {
      expect(help).toContain(flag);
    }
  });
});

describe.skipIf(!hasBuild || !hasShared)('text in, text out on the shared collections (../shared)', () => {
  it('SciFact: lexical `index --input text` + `eval` on the text queries gives BM25 effectiveness (nDCG@10 ≥ 0.65)', () => {
    const scifact = join(SHARED, 'collections/scifact');
    const out = join(dir, 'scifact');
    const built = runCli(['index', join(scifact, 'corpus.jsonl'), '--out', out, '--input', 'text', '--quiet', '--json']);
    expect(built.status, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ documents: 5183, encoder: { kind: 'lexical', corpusStats: { documents: 5183 } } });
    const evaluated = runCli(['eval', out, '--queries', join(scifact, 'queries.jsonl'), '--qrels', join(scifact, 'qrels.txt'), '--json']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const report = JSON.parse(evaluated.stdout);
    expect(report.queries).toBe(300);
    // Pyserini's BM25 flat baseline: 0.679; this index: 0.6775.
    expect(report.ndcg_at_10).toBeGreaterThanOrEqual(0.65);
    expect(report.ndcg_at_10).toBeLessThan(0.7);
  });

  it('inference-free queries over the BERT vocabulary carry the OpenSearch IDF weights', async () => {
    const idfPath = join(SHARED, 'vocab/opensearch-inference-free.idf.json');
    const idf = JSON.parse(readFileSync(idfPath, 'utf8')) as Record<string, number>;
    const encoder = await openEncoder({ kind: 'inference-free', vocab: join(SHARED, 'vocab/bert-base-uncased.vocab.txt'), idf: idfPath });
    try {
      const lines = readFileSync(join(SHARED, 'collections/scifact/queries.jsonl'), 'utf8').trim().split('\n').slice(0, 20);
      const texts = lines.map((l) => (JSON.parse(l) as { text: string }).text);
      const vectors = await encoder.encodeQueries(texts);
      vectors.forEach((vector) => {
        expect(Object.keys(vector).length).toBeGreaterThan(0);
        for (const [token, weight] of Object.entries(vector)) expect(weight).toBe(idf[token]);
      });
      // WordPiece pieces, lower-cased: "0-dimensional biomaterials show inductive properties."
      const [first] = await encoder.encodeQueries(['0-dimensional biomaterials show inductive properties.']);
      expect(Object.keys(first)).toEqual(expect.arrayContaining(['dimensional', 'bio', '##mate', 'show', 'properties']));
    } finally {
      await encoder.dispose();
    }
  });
});
