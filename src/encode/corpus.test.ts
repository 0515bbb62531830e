import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCorpusStats, encodeCorpus, parseCorpusLine, readCorpusJsonl, type CorpusRecord } from './corpus.js';
import { openEncoder } from './encoder.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spladex-corpus-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('corpus lines', () => {
  it('reads BEIR, Pyserini and numeric-id lines, skipping blank lines', async () => {
    const file = join(dir, 'ok.jsonl');
    await writeFile(
      file,
      ['{"_id": "d1", "title": "Brain", "text": "white matter"}', '', '{"id": 7, "contents": "pyserini style"}\r', '{"_id": "d3", "title": "", "text": "no title"}'].join('\n'),
    );
    const records = await collect(readCorpusJsonl(file));
    expect(records).toEqual<CorpusRecord[]>([
      { id: 'd1', title: 'Brain', text: 'white matter', line: 1 },
      { id: '7', text: 'pyserini style', line: 3 },
      { id: 'd3', text: 'no title', line: 4 },
    ]);
  });

  it('reads lines longer than a read chunk', async () => {
    const file = join(dir, 'long.jsonl');
    const long = 'gene '.repeat(60_000);
    await writeFile(file, `{"_id": "a", "text": "${long}"}\r\n{"_id": "b", "text": "short"}`);
    const records = await collect(readCorpusJsonl(file));
    expect(records.map((r) => [r.id, r.text.length, r.line])).toEqual([
      ['a', long.length, 1],
      ['b', 5, 2],
    ]);
  });

  it('names the line of a bad record', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"_id": "a", "text": "x"}\n{"_id": "b", "text": }\n');
    await expect(collect(readCorpusJsonl(file))).rejects.toMatchObject({ code: 'E_INPUT_JSON', line: 2, file });
    expect(() => parseCorpusLine('{"text": "no id"}', 5, 'c.jsonl')).toThrow(expect.objectContaining({ code: 'E_INPUT_ID', line: 5, message: expect.stringContaining('c.jsonl:5') }));
    expect(() => parseCorpusLine('[1, 2]', 1)).toThrow(expect.objectContaining({ code: 'E_INPUT_JSON' }));
    expect(() => parseCorpusLine('{"_id": "x", "text": 3}', 1)).toThrow(expect.objectContaining({ code: 'E_INPUT_JSON' }));
    expect(() => parseCorpusLine('{"_id": "x"}', 1)).toThrow(expect.objectContaining({ code: 'E_INPUT_JSON' }));
  });

  it('rejects invalid UTF-8 with its line', async () => {
    const file = join(dir, 'latin1.jsonl');
    await writeFile(file, Buffer.concat([Buffer.from('{"_id": "a", "text": "ok"}\n{"_id": "b", "text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    await expect(collect(readCorpusJsonl(file))).rejects.toMatchObject({ code: 'E_INPUT_ENCODING', line: 2 });
  });
});

describe('encodeCorpus', () => {
  it('streams two passes for the lexical encoder, in input order, with content', async () => {
    const file = join(dir, 'lexical.jsonl');
    const lines = Array.from({ length: 7 }, (_, i) => JSON.stringify({ _id: `doc${i}`, title: i % 2 ? 'Cells' : undefined, text: `protein ${'gene '.repeat(i)}` }));
    await writeFile(file, lines.join('\n') + '\n');
    const encoder = await openEncoder({ kind: 'lexical' });
    const stats = await collectCorpusStats(encoder, readCorpusJsonl(file), { chunkSize: 3 });
    expect(stats.documents).toBe(7);
    const encoded = await collect(encodeCorpus(encoder, readCorpusJsonl(file), { chunkSize: 3 }));
    expect(encoded.map((d) => d.id)).toEqual(lines.map((_, i) => `doc${i}`));
    expect(encoded[1].content).toBe('Cells protein gene ');
    expect(Object.keys(encoded[1].vector).sort()).toEqual(['cell', 'gene', 'protein']);
    expect(encoded[0].vector.gene).toBeUndefined();
    await encoder.dispose();
  });
});
