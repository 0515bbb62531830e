/**
 * The query formats users have: BEIR/Seismic JSONL, TREC/Anserini topic TSV, Anserini/Pyserini
 * pretokenized impact topics, and {"indices", "values"} vectors (fastembed, Qdrant, Milvus) mapped
 * through a vocab.txt or tokenizer.json; bad lines are named by file and line. Also the term-space
 * names of vocabularies and the content rule of term-space.ts.
 */
import { describe, expect, it } from 'vitest';
import { scratchDirectory } from '../../test/helpers/scratch.js';
import { isSpladexError, SpladexError } from '../errors.js';
import { readQueries, type QueryRecord, type ReadQueriesOptions } from './documents.js';
import { loadQueries } from './queries.js';
import { analyzerTermSpace, checkTermSpace, checkVectorsTermSpace, tagEncodedVectors, termSpaceEvidence, vocabularyTermSpace } from './term-space.js';
import { readVocabulary } from './vocabulary.js';

const { file } = scratchDirectory('spladex-query-formats-');

async function read(path: string, options: ReadQueriesOptions = {}): Promise<QueryRecord[]> {
  const out: QueryRecord[] = [];
  for await (const q of readQueries(path, options)) out.push(q);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<SpladexError> {
  try {
    await promise;
  } catch (error) {
    if (isSpladexError(error)) return error;
    throw error;
  }
  throw new Error('expected a SpladexError, nothing was thrown');
}

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'sleep', 'loss', '##ing'];
const vocabTxt = file('vocab.txt', VOCAB.join('\n') + '\n');
const tokenizerJson = file('tokenizer.json', JSON.stringify({ model: { type: 'WordPiece', vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) }, added_tokens: [] }));

describe('readQueries formats', () => {
  it('reads TREC/Anserini topic TSV by extension: qid, then the rest of the line as text', async () => {
    const path = file('topics.tsv', '1\tsleep loss in adults\n\n2\tcoffee\tand tea\n');
    expect(await read(path)).toEqual([
      { id: '1', text: 'sleep loss in adults', line: 1 },
      { id: '2', text: 'coffee\tand tea', line: 3 },
    ]);
  });

  it('tells TSV from JSON by each line without the extension, and refuses a line that is neither', async () => {
    const path = file('mixed.txt', '{"id": "a", "vector": {"x": 2}}\nb\tsome text\n');
    expect(await read(path)).toEqual([
      { id: 'a', vector: { x: 2 }, line: 1 },
      { id: 'b', text: 'some text', line: 2 },
    ]);
    const bad = file('bad.txt', '{"id": "a", "text": "ok"}\njust words\n');
    const error = await failure(read(bad));
    expect(error.code).toBe('E_INPUT_JSON');
    expect(error.message).toContain(`${bad}:2:`);
  });

  it('reads pretokenized impact topics: each repeat of a token adds 1 to its weight', async () => {
    const path = file('impact.tsv', 'q1\tsleep sleep sleep loss ##ing\n');
    expect(await read(path, { format: 'pretokenized' })).toEqual([{ id: 'q1', vector: { sleep: 3, loss: 1, '##ing': 1 }, line: 1 }]);
  });

  it('a TSV line without a tab, or without text, is an error naming its line', async () => {
    const path = file('broken.tsv', '1\tfine\n2 no tab here\n');
    const error = await failure(read(path));
    expect(error.message).toContain(`${path}:2:`);
    const empty = file('empty-text.tsv', '1\t   \n');
    expect((await failure(read(empty))).message).toContain(`${empty}:1:`);
  });

  it('maps {"indices", "values"} through a vocab.txt and a tokenizer.json alike, top level or under "vector", with the line number as the default id', async () => {
    const path = file('ids.jsonl', '{"indices": [4, 5, 4], "values": [1.5, 0.5, 0.25]}\n{"id": "q2", "vector": {"indices": [6], "values": [2]}}\n');
    for (const vocabFile of [vocabTxt, tokenizerJson]) {
      const records = await read(path, { vocabulary: () => readVocabulary(vocabFile) });
      expect(records.map(({ id, vector }) => ({ id, vector }))).toEqual([
        { id: '1', vector: { sleep: 1.75, loss: 0.5 } },
        { id: 'q2', vector: { '##ing': 2 } },
      ]);
      expect(records[0].termSpace).toBe(records[1].termSpace);
    }
  });

  it('refuses token ids without a vocabulary, outside it, or with arrays of different lengths, naming the line', async () => {
    const path = file('ids-bad.jsonl', '{"id": 1, "indices": [4], "values": [1]}\n{"id": 2, "indices": [99], "values": [1]}\n{"id": 3, "indices": [4, 5], "values": [1]}\n');
    const none = await failure(read(path));
    expect([none.code, none.line]).toEqual(['E_INPUT_VECTOR', 1]);
    expect(none.message).toContain('--vocab');
    const lines: number[] = [];
    for (const body of ['{"id": 2, "indices": [99], "values": [1]}', '{"id": 3, "indices": [4, 5], "values": [1]}', '{"id": 4, "indices": [4], "values": [-1]}']) {
      const one = file(`ids-bad-${lines.length}.jsonl`, `{"id": 1, "indices": [4], "values": [1]}\n${body}\n`);
      const error = await failure(read(one, { vocabulary: () => readVocabulary(vocabTxt) }));
      expect(error.code).toBe('E_INPUT_VECTOR');
      lines.push(error.line ?? 0);
    }
    expect(lines).toEqual([2, 2, 2]);
  });

  it('loadQueries carries the vocabulary\'s term space to the queries it mapped, and reads TSV text through the encoder', async () => {
    const ids = file('ids2.jsonl', '{"id": "a", "indices": [4], "values": [1]}\n{"id": "b", "vector": {"loss": 1}}\n');
    const queries = await loadQueries(ids, { vocabulary: () => readVocabulary(vocabTxt) });
    expect(queries.map((q) => q.termSpace)).toEqual([vocabularyTermSpace(VOCAB), undefined]);
    const topics = file('t.tsv', '7\tSleep Loss\n');
    const encoded = await loadQueries(topics, { encoder: async () => ({ encodeQueries: async (texts) => texts.map((t) => ({ [t.toLowerCase()]: 1 })) }) });
    expect(encoded).toEqual([{ id: '7', vector: { 'sleep loss': 1 } }]);
  });
});

describe('term spaces', () => {
  it('names a vocabulary by its tokens, whichever file holds them', async () => {
    const [a, b] = await Promise.all([readVocabulary(vocabTxt), readVocabulary(tokenizerJson)]);
    expect(a.termSpace).toMatch(/^wordpiece:vocab-[0-9a-f]{12}$/);
    expect(b.termSpace).toBe(a.termSpace);
    expect(vocabularyTermSpace([...VOCAB, 'extra'])).not.toBe(a.termSpace);
    expect(analyzerTermSpace('porter')).toBe('analyzer:english-porter');
  });

  const evidence = (vectors: Array<Record<string, number>>, known: string[]) => () => termSpaceEvidence(vectors, (t) => known.includes(t));
  const INDEX = ['sleep', 'loss', 'caus', 'adult', 'coffe', 'studi', 'effect', 'diseas', 'patient'];

  it('refuses a WordPiece piece on an analyzer index, and a declared foreign space', () => {
    expect(() => checkTermSpace('analyzer:english-porter', {}, evidence([{ sleep: 1, '##ing': 0.1 }], INDEX), 'query', 'idx')).toThrow(/WordPiece piece "##ing"/);
    const declared = (): void => checkTermSpace('analyzer:english-porter', { termSpace: 'wordpiece:bert-base-uncased' }, evidence([{ sleep: 1 }], INDEX), 'query', 'idx');
    expect(declared).toThrow(SpladexError);
    expect(declared).toThrow(/wordpiece:bert-base-uncased/);
  });

  it('refuses 8+ distinct tokens with under half their weight on index terms, accepts short or mostly known vectors', () => {
    const foreign = { sleep: 1, loss: 1, causes: 1, adults: 1, coffee: 1, study: 1, effects: 1, disease: 1, patients: 1 };
    expect(() => checkTermSpace('analyzer:english-porter', {}, evidence([foreign], INDEX), 'query', 'idx')).toThrow(/22% of its weight/);
    // Fewer than 8 distinct tokens: a hand-written query is not judged by mass.
    expect(() => checkTermSpace('analyzer:english-porter', {}, evidence([{ covid: 2, sleep: 1 }], INDEX), 'query', 'idx')).not.toThrow();
    expect(() => checkTermSpace('analyzer:english-porter', {}, evidence([Object.fromEntries(INDEX.map((t) => [t, 1]))], INDEX), 'query', 'idx')).not.toThrow();
  });

  it("vectors of an index's own encoder are judged by their tag, not by content; untagged ones of the same batch still are", () => {
    const space = 'analyzer:english-porter';
    const encoded = tagEncodedVectors([{ '##ing': 1, sleep: 1 }], space);
    expect(() => checkVectorsTermSpace(space, encoded, {}, () => false, 'query', 'idx')).not.toThrow();
    expect(() => checkVectorsTermSpace(space, [...encoded, { '##ed': 1 }], {}, () => false, 'query', 'idx')).toThrow(/"##ed"/);
    const other = tagEncodedVectors([{ sleep: 1 }], 'wordpiece:bert-base-uncased');
    expect(() => checkVectorsTermSpace(space, other, {}, () => true, 'query', 'idx')).toThrow(/term space wordpiece:bert-base-uncased/);
  });

  it('never checks custom or unrecorded spaces, a declared equal space, or an allowed mismatch', () => {
    const wordpiece = evidence([{ '##ing': 5 }], []);
    for (const space of ['custom', undefined]) expect(() => checkTermSpace(space, { termSpace: 'wordpiece:x' }, wordpiece, 'query', 'idx')).not.toThrow();
    expect(() => checkTermSpace('analyzer:english-porter', { termSpace: 'analyzer:english-porter' }, wordpiece, 'query', 'idx')).not.toThrow();
    expect(() => checkTermSpace('analyzer:english-porter', { allowTermSpaceMismatch: true, termSpace: 'wordpiece:x' }, wordpiece, 'documents', 'idx')).not.toThrow();
  });
});
