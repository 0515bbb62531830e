/**
 * `spladex encode` end to end through the built CLI (dist/cli/main.js): the tiny generated masked-LM
 * (splade and inference-free kinds), the lexical (BM25) kind with the built-in analyzer, typed
 * errors naming file and line, atomic output, and the whole text → vectors → index → search path.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_VOCABULARY, writeTinyMaskedLm } from '../src/testing/tiny-model.js';
import { hasBuild, hasShared, runCli, SHARED } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-encode-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DOCS = [
  { _id: 'd1', title: 'Brain development', text: 'White matter development in the human brain of patients.' },
  { _id: 'd2', text: 'Sparse retrieval with learned sparse vectors: a neural search model for document retrieval.' },
  { id: 3, title: 'Cancer', contents: 'Cancer cells and protein genes in cancer patients.' },
  { _id: 'd4', text: 'Sleep, memory and the heart: blood, water and energy.' },
  { _id: 'd5', title: 'Hello', text: 'Hello world! A fast red cafe.' },
  { _id: 'd6', text: 'Gene expression in human cells: a study of cell data.' },
];
const QUERIES = [
  { _id: 'q1', text: 'sparse retrieval model' },
  { _id: 'q2', text: 'cancer genes' },
  { _id: 'q3', text: 'brain white matter' },
];

const corpusPath = join(dir, 'corpus.jsonl');
const queriesPath = join(dir, 'queries.jsonl');
writeFileSync(corpusPath, DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
writeFileSync(queriesPath, QUERIES.map((q) => JSON.stringify(q)).join('\n') + '\n');

interface Line {
  id: string;
  vector: Record<string, number>;
  content?: string;
}
const readLines = (path: string): Line[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

const modelDir = join(dir, 'tiny');
beforeAll(async () => {
  await writeTinyMaskedLm(modelDir, { seed: 7 });
});

describe.skipIf(!hasBuild)('spladex encode (tiny masked-LM)', () => {
  it('encodes a corpus into {id, vector, content} lines over the model vocabulary, deterministically', () => {
    const out = join(dir, 'splade.jsonl');
    const result = runCli(['encode', corpusPath, '--out', out, '--model', modelDir, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ kind: 'splade', vectors: DOCS.length, emptyVectors: 0, as: 'documents' });
    expect(summary.label).toContain('SPLADE learned sparse');
    expect(summary.encoder.documents).toBe(DOCS.length);
    expect(summary.encoder.documentsPerSecond).toBeGreaterThan(0);
    for (const key of ['tokenizeMs', 'modelMs', 'poolMs']) expect(summary.encoder[key]).toBeGreaterThanOrEqual(0);
    expect(summary.encoder.modelMs).toBeGreaterThan(0);

    const lines = readLines(out);
    expect(lines.map((l) => l.id)).toEqual(['d1', 'd2', '3', 'd4', 'd5', 'd6']);
    const vocabulary = new Set(TINY_VOCABULARY);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['id', 'vector', 'content']);
      const entries = Object.entries(line.vector);
      expect(entries.length).toBeGreaterThan(0);
      for (const [token, weight] of entries) {
        expect(vocabulary.has(token), token).toBe(true);
        expect(['[PAD]', '[CLS]', '[SEP]', '[MASK]', '[UNK]']).not.toContain(token);
        expect(weight).toBeGreaterThan(0);
        expect(Number.isFinite(weight)).toBe(true);
      }
    }
    expect(lines[0].content).toBe('Brain development White matter development in the human brain of patients.');
    expect(lines[2].content).toBe('Cancer Cancer cells and protein genes in cancer patients.');
    expect(summary.postings).toBe(lines.reduce((s, l) => s + Object.keys(l.vector).length, 0));

    // Same input and options, same bytes; no temporary files left behind.
    const again = join(dir, 'splade-again.jsonl');
    expect(runCli(['encode', corpusPath, '--out', again, '--model', modelDir, '--quiet']).status).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Another batch size changes the padded shapes onnxruntime sees, so only the last float32 bits may move.
    const batched = join(dir, 'splade-batch2.jsonl');
    expect(runCli(['encode', corpusPath, '--out', batched, '--model', modelDir, '--quiet', '--batch-size', '2']).status).toBe(0);
    readLines(batched).forEach((line, i) => {
      expect(line.id).toBe(lines[i].id);
      for (const token of new Set([...Object.keys(line.vector), ...Object.keys(lines[i].vector)])) {
        expect(line.vector[token] ?? 0).toBeCloseTo(lines[i].vector[token] ?? 0, 5);
      }
    });
  });

  it("names the flag, not the library's option, in an error found once the model is loaded", () => {
    const result = runCli(['encode', corpusPath, '--out', join(dir, 'overlap.jsonl'), '--model', modelDir, '--long-documents', 'window', '--window-overlap', '5000']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^spladex: error \[E_OPTION\]: --window-overlap must be smaller than maxLength/m);
  });

  it('applies --top-k / --min-weight and --no-content, reads stdin, and refuses to overwrite', () => {
    const out = join(dir, 'pruned.jsonl');
    const input = readFileSync(corpusPath, 'utf8');
    const result = runCli(['encode', '-', '--out', out, '--model', modelDir, '--top-k', '5', '--min-weight', '0.01', '--no-content', '--quiet'], input);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('encoded 6 documents');
    expect(result.stdout).toMatch(/documents\/s in the encoder/);
    expect(result.stdout).toMatch(/tokenize .*model .*pool /);
    const full = readLines(join(dir, 'splade.jsonl'));
    readLines(out).forEach((line, i) => {
      expect(Object.keys(line)).toEqual(['id', 'vector']);
      const entries = Object.entries(line.vector);
      expect(entries.length).toBeLessThanOrEqual(5);
      // The kept terms are the 5 heaviest of the unpruned vector.
      const top = Object.entries(full[i].vector).sort((a, b) => b[1] - a[1]).slice(0, 5).filter(([, w]) => w >= 0.01);
      expect(Object.fromEntries(entries)).toEqual(Object.fromEntries(top));
    });
    const again = runCli(['encode', corpusPath, '--out', out, '--model', modelDir]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`[E_IO]: ${out}: output file already exists`);
    expect(runCli(['encode', corpusPath, '--out', out, '--model', modelDir, '--overwrite', '--quiet']).status).toBe(0);
  });

  it('encodes the corpus, indexes it and searches it with encoded query text (text → vectors → index → search)', () => {
    const docs = join(dir, 'e2e.jsonl');
    const queries = join(dir, 'e2e.queries.jsonl');
    expect(runCli(['encode', corpusPath, '--out', docs, '--model', modelDir, '--quiet']).status).toBe(0);
    const encodedQueries = runCli(['encode', queriesPath, '--as', 'queries', '--out', queries, '--model', modelDir, '--json']);
    expect(encodedQueries.status, encodedQueries.stderr).toBe(0);
    expect(JSON.parse(encodedQueries.stdout)).toMatchObject({ as: 'queries', vectors: 3 });
    const queryLines = readLines(queries);
    expect(queryLines.map((q) => q.id)).toEqual(['q1', 'q2', 'q3']);
    for (const q of queryLines) expect(Object.keys(q.vector).length).toBeGreaterThan(0);

    const index = join(dir, 'e2e-index');
    const built = runCli(['index', docs, '--out', index, '--json']);
    expect(built.status, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ documents: DOCS.length });
    const searched = runCli(['search', index, '--queries', queries, '--k', String(DOCS.length), '--format', 'json', '--exact']);
    expect(searched.status, searched.stderr).toBe(0);
    const results = searched.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; hits: { id: string; score: number }[] });
    expect(results.map((r) => r.id)).toEqual(['q1', 'q2', 'q3']);
    // Scores are the dot products of the encoded vectors (up to the index's f16 storage).
    const docVectors = new Map(readLines(docs).map((d) => [d.id, d.vector]));
    results.forEach((result, i) => {
      expect(result.hits.length).toBeGreaterThan(0);
      for (const hit of result.hits) {
        const expected = Object.entries(queryLines[i].vector).reduce((s, [t, w]) => s + w * (docVectors.get(hit.id)?.[t] ?? 0), 0);
        expect(hit.score).toBeCloseTo(expected, 2);
      }
    });
  });

  it('inference-free: documents through the model, queries by tokenizer + corpus IDF in the same run', () => {
    const out = join(dir, 'if.jsonl');
    const qout = join(dir, 'if.queries.jsonl');
    const result = runCli(['encode', corpusPath, '--out', out, '--model', modelDir, '--kind', 'inference-free', '--queries', queriesPath, '--queries-out', qout, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.kind).toBe('inference-free');
    expect(summary.corpusStats).toMatchObject({ documents: DOCS.length });
    expect(summary.queries).toMatchObject({ vectors: 3 });
    // Document vectors equal the splade kind's (same model); a query is its distinct tokens × idf.
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(dir, 'splade.jsonl'), 'utf8'));
    const q1 = readLines(qout)[0];
    expect(Object.keys(q1.vector).sort()).toEqual(['model', 'retrieval', 'sparse']);
    // Without idf.json the kind reads the corpus twice, so stdin is refused, as is --as queries.
    const stdin = runCli(['encode', '-', '--out', join(dir, 'if-stdin.jsonl'), '--model', modelDir, '--kind', 'inference-free'], readFileSync(corpusPath, 'utf8'));
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toContain('cannot read stdin');
    expect(existsSync(join(dir, 'if-stdin.jsonl'))).toBe(false);
  });
});

describe.skipIf(!hasBuild)('spladex encode (lexical, no model)', () => {
  it('defaults to lexical (BM25) without --model and makes query · document the BM25 score', () => {
    const out = join(dir, 'bm25.jsonl');
    const qout = join(dir, 'bm25.queries.jsonl');
    const result = runCli(['encode', corpusPath, '--out', out, '--queries', queriesPath, '--queries-out', qout]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('lexical (BM25), not a learned model');
    expect(result.stdout).toContain('corpus statistics');
    const lines = readLines(out);
    expect(lines.map((l) => l.id)).toEqual(['d1', 'd2', '3', 'd4', 'd5', 'd6']);
    // Porter-stemmed, stop words removed.
    expect(Object.keys(lines[0].vector)).toEqual(expect.arrayContaining(['brain', 'develop', 'white', 'matter', 'human', 'patient']));
    expect(lines[0].vector).not.toHaveProperty('the');
    for (const line of lines) for (const w of Object.values(line.vector)) expect(w).toBeGreaterThan(0);

    // Textbook BM25 (k1 0.9, b 0.4) for q2 = "cancer genes" → terms cancer, gene.
    const q2 = readLines(qout)[1];
    expect(Object.keys(q2.vector).sort()).toEqual(['cancer', 'gene']);
    const lengths = lines.map((l) => l.id).map((id) => analyzedLength(id));
    const avgdl = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    const n = lines.length;
    const idf = (df: number): number => Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const tfOf = (i: number, term: string): number => ({ cancer: [0, 0, 3, 0, 0, 0], gene: [0, 0, 1, 0, 0, 1] })[term]![i];
    lines.forEach((line, i) => {
      let expected = 0;
      for (const term of ['cancer', 'gene']) {
        const tf = tfOf(i, term);
        const df = [0, 1, 2, 3, 4, 5].filter((j) => tfOf(j, term) > 0).length;
        if (tf > 0) expected += (idf(df) * tf * 1.9) / (tf + 0.9 * (1 - 0.4 + (0.4 * lengths[i]) / avgdl));
      }
      const got = Object.entries(q2.vector).reduce((s, [t, w]) => s + w * (line.vector[t] ?? 0), 0);
      expect(got).toBeCloseTo(expected, 5);
    });
  });

  it('refuses stdin for the two-pass lexical kind, and --as queries without corpus statistics', () => {
    const stdin = runCli(['encode', '-', '--out', join(dir, 'never.jsonl')], readFileSync(corpusPath, 'utf8'));
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toContain('[E_OPTION]');
    expect(stdin.stderr).toContain('cannot read stdin');
    const asQueries = runCli(['encode', queriesPath, '--as', 'queries', '--out', join(dir, 'never.jsonl')]);
    expect(asQueries.status).toBe(2);
    expect(asQueries.stderr).toContain('--queries-out');
    expect(existsSync(join(dir, 'never.jsonl'))).toBe(false);
  });

  it('names the file and line of a bad corpus line, exits 2 and leaves no output', () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"_id": "a", "text": "fine"}\n\n{"_id": "b", "text": 42}\n');
    const out = join(dir, 'bad.vectors.jsonl');
    for (const args of [[], ['--model', modelDir]]) {
      const result = runCli(['encode', bad, '--out', out, ...args]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`[E_INPUT_JSON]: ${bad}:3:`);
      expect(existsSync(out)).toBe(false);
    }
    writeFileSync(bad, '{"_id": "a", "text": "fine"}\n{"text": "no id"}\n');
    const noId = runCli(['encode', bad, '--out', out, '--model', modelDir]);
    expect(noId.status).toBe(2);
    expect(noId.stderr).toContain(`[E_INPUT_ID]: ${bad}:2:`);
    writeFileSync(bad, '{"_id": "a", "text": "fine"}\n{"_id": "b", "text": "broken"\n');
    expect(runCli(['encode', bad, '--out', out]).stderr).toContain(`[E_INPUT_JSON]: ${bad}:2:`);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reports option errors clearly', () => {
    expect(runCli(['encode', corpusPath, '--out', join(dir, 'x.jsonl'), '--kind', 'splade']).stderr).toContain('needs a model directory');
    expect(runCli(['encode', corpusPath, '--out', join(dir, 'x.jsonl'), '--kind', 'magic']).stderr).toContain('expected one of splade, inference-free, lexical');
    expect(runCli(['encode', corpusPath, '--out', join(dir, 'x.jsonl'), '--model', modelDir, '--batch-size', '0']).stderr).toContain('--batch-size must be an integer in [1, 4096], got 0');
    expect(runCli(['encode', corpusPath, '--out', join(dir, 'x.jsonl'), '--queries', queriesPath]).stderr).toContain('--queries-out');
    expect(runCli(['encode', corpusPath, '--out', corpusPath, '--overwrite']).stderr).toContain('also an input');
    expect(runCli(['encode', join(dir, 'missing.jsonl'), '--out', join(dir, 'x.jsonl')]).stderr).toContain('[E_IO]');
    const help = runCli(['encode', '--help']).stdout;
    expect(help).toContain('lexical (BM25), not a learned model');
    expect(help).toContain('(default: 32)');
  });
});

describe.skipIf(!hasBuild || !hasShared)('spladex encode on SciFact (../shared)', () => {
  it('encodes the 5,183-document corpus with the lexical kind; indexed and searched it is BM25 (nDCG@10 ≈ 0.68)', async () => {
    const scifact = join(SHARED, 'collections/scifact');
    const out = join(dir, 'scifact.jsonl');
    const qout = join(dir, 'scifact.queries.jsonl');
    const result = runCli(['encode', join(scifact, 'corpus.jsonl'), '--out', out, '--queries', join(scifact, 'queries.jsonl'), '--queries-out', qout, '--json', '--no-content']);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ kind: 'lexical', label: 'lexical (BM25), not a learned model', vectors: 5183, emptyVectors: 0, corpusStats: { documents: 5183 } });
    expect(summary.queries).toMatchObject({ vectors: 300 });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5183);

    const index = join(dir, 'scifact-index');
    expect(runCli(['index', out, '--out', index, '--quiet']).status).toBe(0);
    const run = runCli(['search', index, '--queries', qout, '--k', '10', '--format', 'trec', '--exact']);
    expect(run.status, run.stderr).toBe(0);
    const { parseRun, rankingFromRun, readQrels } = await import('../src/eval/trec.js');
    const { evaluateRun } = await import('../src/eval/metrics.js');
    const { mean } = evaluateRun(rankingFromRun(parseRun(run.stdout)), await readQrels(join(scifact, 'qrels.txt')));
    // Pyserini's BM25 flat baseline on SciFact: 0.679.
    expect(mean.ndcgAt10).toBeGreaterThan(0.66);
    expect(mean.ndcgAt10).toBeLessThan(0.70);
  });
});

/** Number of analyzed terms (stop words removed) of the test documents, counted by hand. */
function analyzedLength(id: string): number {
  // d1: brain develop white matter develop human brain patient (title + text; "in", "the", "of" are stop words)
  // d2: spars retriev learn spars vector neural search model document retriev ("with", "a", "for" stop words)
  // 3: cancer cancer cell protein gene cancer patient ("and", "in" stop words)
  // d4: sleep memori heart blood water energi ("and", "the" stop words)
  // d5: hello hello world fast red cafe ("a" stop word)
  // d6: gene express human cell studi cell data ("in", "a", "of" stop words)
  return { d1: 8, d2: 10, '3': 7, d4: 6, d5: 6, d6: 7 }[id]!;
}
