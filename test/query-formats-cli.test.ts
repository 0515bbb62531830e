/**
 * The query formats users already have, through `search --queries`, `eval` and `bench`: TREC/Anserini
 * topic TSV (text, encoded by the index's encoder), Anserini/Pyserini pretokenized impact topics,
 * and {"indices", "values"} vectors (fastembed, Qdrant, Milvus) mapped to tokens by `--vocab` or by
 * the index's stored tokenizer — each answering exactly what the equivalent JSONL query answers.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratchDirectory } from './helpers/scratch.js';
import { runCli } from './helpers/cli.js';

const { dir, file } = scratchDirectory('spladex-query-formats-');

/** A WordPiece vocabulary of whole words (ids 5…) after BERT's special tokens. */
const WORDS = ['sleep', 'loss', 'adults', 'coffee', 'heart', 'memory', 'brain', 'cells', 'protein', 'children'];
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS];
const idOf = (word: string): number => VOCAB.indexOf(word);

function corpus(): string {
  const lines: string[] = [];
  for (let d = 0; d < 30; d++) lines.push(JSON.stringify({ _id: `d${d}`, text: Array.from({ length: 5 }, (_, i) => WORDS[(d * 3 + i * 7) % WORDS.length]).join(' ') }));
  return lines.join('\n') + '\n';
}

/** `search --format trec` output of a query file, as "qid docid" pairs with scores. */
function trec(args: string[]): string[] {
  const result = runCli(['search', ...args, '--format', 'trec', '--k', '5']);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim().split('\n');
}

describe('query formats', () => {
  let lexical: string;
  let vocabTxt: string;
  beforeAll(() => {
    vocabTxt = file('vocab.txt', VOCAB.join('\n') + '\n');
    lexical = join(dir, 'lexical-wordpiece');
    // Lexical BM25 over a WordPiece vocabulary: a stored tokenizer whose ids users' vectors use.
    const built = runCli(['index', file('corpus.jsonl', corpus()), '--out', lexical, '--input', 'text', '--vocab', vocabTxt, '--quiet', '--calibration-sample', '0']);
    expect(built.status, built.stderr).toBe(0);
  });

  it('records the vocabulary\'s term space for an index built over it', () => {
    expect(JSON.parse(runCli(['info', lexical, '--json']).stdout).termSpace).toMatch(/^wordpiece:vocab-[0-9a-f]{12}$/);
  });

  it('reads TREC/Anserini topic TSV as text queries, answering what BEIR JSONL text lines answer', () => {
    const tsv = file('topics.tsv', '101\tsleep loss in adults\n102\tcoffee and the heart\n');
    const jsonl = file('topics.jsonl', '{"_id": "101", "text": "sleep loss in adults"}\n{"_id": "102", "text": "coffee and the heart"}\n');
    const expected = trec([lexical, '--queries', jsonl]);
    expect(expected.length).toBe(10);
    expect(trec([lexical, '--queries', tsv])).toEqual(expected);
    // A .txt file of TSV lines: detected by content, or forced with --query-format tsv.
    const txt = file('topics.txt', '101\tsleep loss in adults\n102\tcoffee and the heart\n');
    expect(trec([lexical, '--queries', txt, '--query-format', 'tsv'])).toEqual(expected);
    expect(trec([lexical, '--queries', txt])).toEqual(expected);
  });

  it('maps {"indices", "values"} through the index\'s stored tokenizer by default, and through --vocab', () => {
    const ids = file('ids.jsonl', [
      JSON.stringify({ id: 'a', indices: [idOf('sleep'), idOf('loss')], values: [1.5, 0.5] }),
      JSON.stringify({ id: 'b', vector: { indices: [idOf('brain')], values: [2] } }),
    ].join('\n') + '\n');
    const tokens = file('tokens.jsonl', [JSON.stringify({ id: 'a', vector: { sleep: 1.5, loss: 0.5 } }), JSON.stringify({ id: 'b', vector: { brain: 2 } })].join('\n') + '\n');
    const expected = trec([lexical, '--queries', tokens]);
    expect(expected.length).toBe(10);
    expect(trec([lexical, '--queries', ids])).toEqual(expected);
    expect(trec([lexical, '--queries', ids, '--vocab', vocabTxt])).toEqual(expected);
    // A tokenizer.json with the same tokens is the same vocabulary (and term space).
    const tokenizerJson = file('tokenizer.json', JSON.stringify({ model: { type: 'WordPiece', vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) } }));
    expect(trec([lexical, '--queries', ids, '--vocab', tokenizerJson])).toEqual(expected);
  });

  it('calibrates a vector build on a query log of {"indices", "values"} lines mapped by --vocab: the same queries as their token form', () => {
    const documents = file('vectors.jsonl', Array.from({ length: 40 }, (_, d) => JSON.stringify({ id: `v${d}`, vector: { [WORDS[d % 10]]: 1 + (d % 3), [WORDS[(d * 7) % 10]]: 0.5 } })).join('\n') + '\n');
    const ids = file('log-ids.jsonl', [JSON.stringify({ id: 'a', indices: [idOf('sleep'), idOf('loss')], values: [1.5, 0.5] }), JSON.stringify({ id: 'b', indices: [idOf('brain')], values: [2] })].join('\n') + '\n');
    const tokens = file('log-tokens.jsonl', [JSON.stringify({ id: 'a', vector: { sleep: 1.5, loss: 0.5 } }), JSON.stringify({ id: 'b', vector: { brain: 2 } })].join('\n') + '\n');
    const calibration = (log: string, extra: string[]): { source: string; queries: number; queriesCrc: number } => {
      const built = runCli(['index', documents, '--out', join(dir, `log-${extra.length}`), '--overwrite', '--calibration-queries', log, ...extra, '--json', '--quiet']);
      expect(built.status, built.stderr).toBe(0);
      return JSON.parse(built.stdout).calibration;
    };
    const fromIds = calibration(ids, ['--vocab', vocabTxt]);
    expect(fromIds).toMatchObject({ source: 'given', queries: 2 });
    expect(fromIds.queriesCrc).toBe(calibration(tokens, []).queriesCrc);
    // Without the vocabulary the ids cannot be read: the error says which flag gives it.
    const refused = runCli(['index', documents, '--out', join(dir, 'log-none'), '--calibration-queries', ids, '--quiet']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--vocab');
  });

  it('refuses ids mapped through another model\'s vocabulary (its term space differs), unless allowed', () => {
    const other = file('other-vocab.txt', [...VOCAB, 'extra'].join('\n') + '\n');
    const ids = file('ids-other.jsonl', JSON.stringify({ id: 'a', indices: [idOf('sleep')], values: [1] }) + '\n');
    const refused = runCli(['search', lexical, '--queries', ids, '--vocab', other]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/E_TERM_SPACE.*wordpiece:vocab-/);
    expect(runCli(['search', lexical, '--queries', ids, '--vocab', other, '--allow-term-space-mismatch']).status).toBe(0);
  });

  it('names the file and line of a bad query line (exit 2)', () => {
    const bad = file('bad.jsonl', `${JSON.stringify({ id: 'a', indices: [1, 2], values: [1] })}\n`);
    const result = runCli(['search', lexical, '--queries', bad]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`${bad}:1:`);
    expect(result.stderr).toContain('E_INPUT_VECTOR');
    const outside = file('outside.jsonl', `{"id": "a", "vector": {"sleep": 1}}\n${JSON.stringify({ id: 'b', indices: [999], values: [1] })}\n`);
    const second = runCli(['search', lexical, '--queries', outside]);
    expect(second.status).toBe(2);
    expect(second.stderr).toContain(`${outside}:2:`);
  });

  it('reads pretokenized impact topics (a repeated token adds 1) in search, eval and bench', () => {
    const impact = file('impact.tsv', 'a\tsleep sleep sleep loss\nb\tbrain brain\n');
    const equivalent = file('impact.jsonl', '{"id": "a", "vector": {"sleep": 3, "loss": 1}}\n{"id": "b", "vector": {"brain": 2}}\n');
    expect(trec([lexical, '--queries', impact, '--query-format', 'pretokenized'])).toEqual(trec([lexical, '--queries', equivalent]));
    const qrels = file('qrels.txt', 'a 0 d0 1\nb 0 d1 1\n101 0 d2 1\n');
    const fromImpact = JSON.parse(runCli(['eval', lexical, '--queries', impact, '--query-format', 'pretokenized', '--qrels', qrels, '--json']).stdout);
    const fromJsonl = JSON.parse(runCli(['eval', lexical, '--queries', equivalent, '--qrels', qrels, '--json']).stdout);
    expect(fromImpact.ndcg_at_10).toBe(fromJsonl.ndcg_at_10);
    expect(fromImpact.queries).toBe(2);
    const topics = file('bench-topics.tsv', '101\tsleep loss in adults\n');
    const bench = runCli(['bench', lexical, '--queries', topics, '--json', '--quiet', '--k', '3']);
    expect(bench.status, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout).queries).toBe(1);
    const benchImpact = runCli(['bench', lexical, '--queries', impact, '--query-format', 'pretokenized', '--json', '--quiet', '--k', '3']);
    expect(benchImpact.status, benchImpact.stderr).toBe(0);
    expect(JSON.parse(benchImpact.stdout).queries).toBe(2);
  });
});
