/**
 * Property tests with random and mutated inputs for everything that reads untrusted bytes:
 * JSONL document and query lines, sparse vectors, segment containers (damaged, and forged with
 * valid checksums), manifests and delete bitmaps. The property: a typed `SpladexError` or a
 * valid result — never another exception, never a hang (every case is bounded and the whole
 * file runs in seconds), never unbounded memory (line and value limits).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDocuments, randomQueries } from '../test/helpers/index-model.js';
import { isSpladexError, SpladexError } from './errors.js';
import { INPUT_LIMITS, readDocuments, readQueries, validateVector, type ParsedDocument } from './io/documents.js';
import { readContainer, writeContainer, type SectionArray } from './segment/container.js';
import { deserializeBitmap, newBitmap, serializeBitmap } from './store/deletes.js';
import { parseManifest } from './store/manifest.js';
import { checkSegment } from './segment/segment-check.js';
import { readSegment } from './segment/segment.js';
import { TopK } from './util/topk.js';
import { prepareQuery } from './query/query-vector.js';
import { SegmentSearcher } from './query/segment-searcher.js';
import { buildIndex, SpladexIndex } from './spladex-index.js';

import { Rng } from './util/rng.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Expects `fn` to succeed or throw a SpladexError; returns the error code or undefined. */
function typedOnly(label: string, fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (!isSpladexError(error)) throw new Error(`${label}: untyped ${String((error as Error)?.stack ?? error)}`);
    return error.code;
  }
}

async function typedOnlyAsync(label: string, fn: () => Promise<void>): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    if (!isSpladexError(error)) throw new Error(`${label}: untyped ${String((error as Error)?.stack ?? error)}`);
    return error.code;
  }
}

const SEEDS = [
  '{"id": "a1", "vector": {"x": 1.5, "##ing": 0.25, "日本": 3}, "content": "text", "metadata": {"year": 2010, "tags": ["a"]}}',
  '{"_id": 7, "vector": {}, "contents": "empty"}',
  '{"docid": "q", "vector": {"a": 1e-3, "b": 2E2}}',
  '{"id": "x\\"y", "vector": {"tok\\u0041": 1}, "metadata": null}',
];
const ALPHABET = [...'{}[]":,0123456789.eE+- \\ntuflasx', '\u00e9', '\u0000', '\ud800', '日'];

function mutate(rng: Rng, line: string): string {
  let text = line;
  for (let m = 1 + rng.int(3); m > 0; m--) {
    const at = rng.int(text.length + 1);
    switch (rng.int(7)) {
      case 0:
        text = text.slice(0, at) + ALPHABET[rng.int(ALPHABET.length)] + text.slice(at);
        break;
      case 1:
        text = text.slice(0, at) + text.slice(at + 1 + rng.int(4));
        break;
      case 2:
        text = text.slice(0, at);
        break;
      case 3:
        text = text.replace(/\d+(\.\d+)?([eE][+-]?\d+)?/, ['1e400', '-1', '0', '1e308', '1e-320', '123456789', 'NaN', '-0'][rng.int(8)]);
        break;
      case 4:
        text = text.replace('"x"', JSON.stringify('t'.repeat(rng.next() < 0.5 ? 999 : 1001)));
        break;
      case 5:
        text = text.slice(0, at) + text.slice(rng.int(text.length));
        break;
      default:
        text = text.replace('"metadata": {', `"metadata": ${'{"a":'.repeat(rng.int(100))}{`) + '}'.repeat(rng.int(100));
    }
  }
  return text;
}

describe('JSONL input (fuzz, seeded)', () => {
  it('document lines: every mutated line is a document or a typed error, and accepted ones index and search', async () => {
    const rng = new Rng(61);
    const accepted: ParsedDocument[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const line = mutate(rng, SEEDS[rng.int(SEEDS.length)]);
      const bytes = Buffer.from(line, 'utf8');
      // Raw byte damage too, so invalid UTF-8 is exercised.
      if (rng.next() < 0.2) bytes[rng.int(bytes.length)] ^= 0x80;
      const code = await typedOnlyAsync(line, async () => {
        for await (const doc of readDocuments(Readable.from([bytes]), { maxLineBytes: 4096 })) accepted.push(Object.assign(doc, { id: `${accepted.length}:${doc.id}` }));
      });
      if (code !== undefined) codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(accepted.length).toBeGreaterThan(300);
    for (const code of codes.keys()) expect(code).toMatch(/^E_INPUT_/);
    expect(codes.get('E_INPUT_ENCODING')).toBeGreaterThan(0);
    // The accepted documents must build (skipInvalid only for what the build checks beyond a
    // line: metadata depth and keys) and be found: each is its own best match in exact search.
    const skipped: string[] = [];
    const index = await SpladexIndex.build(accepted, { skipInvalid: true, forwardValues: 'f32', onSkip: (s) => skipped.push(s.code) });
    try {
      expect(index.info().documents + skipped.length).toBe(accepted.length);
      expect(index.info().documents).toBeGreaterThan(300);
      for (const code of skipped) expect(code).toMatch(/^E_INPUT_/);
      const kept = accepted.filter((doc) => index.getDocument(doc.id) !== undefined);
      expect(kept.length).toBe(index.info().documents);
      let searched = 0;
      for (const doc of kept.slice(0, 50)) {
        const query = Object.fromEntries(doc.entries.tokens.map((t, j) => [t, doc.entries.weights[j]]));
        const self = doc.entries.weights.reduce((sum, w) => sum + w * w, 0);
        const hits = index.search(query, { k: 3, mode: 'exhaustive' });
        if (self === 0) {
          expect(hits).toEqual([]);
          continue;
        }
        searched++;
        // f32 forward values: the document scores its own squared norm (to float32 precision), and nothing ranks above the top.
        expect(hits.length).toBeGreaterThan(0);
        expect(hits[0].score).toBeGreaterThanOrEqual(self * (1 - 1e-5));
        expect(index.search(query, { k: 3 })[0]?.score).toBeLessThanOrEqual(hits[0].score * (1 + 1e-6));
        for (const hit of index.search(query, { k: 3, mode: 'exhaustive', filter: { tags: 'a' } })) {
          expect(index.getDocument(hit.id)?.metadata?.tags).toContain('a');
        }
      }
      expect(searched).toBeGreaterThan(20);
    } finally {
      index.close();
    }
  });

  it('query lines and inline vectors: a query or a typed error', async () => {
    const rng = new Rng(62);
    const seeds = ['{"id": "q1", "vector": {"x": 1}}', '{"qid": 3, "text": "hello"}', '{"query_id": "z", "query": "a b"}'];
    const lines = { accepted: 0, refused: 0 };
    const inline = { accepted: 0, refused: 0 };
    for (let i = 0; i < 3000; i++) {
      const line = mutate(rng, seeds[rng.int(seeds.length)]);
      let read = 0;
      const code = await typedOnlyAsync(line, async () => {
        for await (const query of readQueries(Readable.from([Buffer.from(line)]))) {
          expect(typeof query.id).toBe('string');
          read++;
        }
      });
      if (code === undefined) lines.accepted += read;
      else {
        expect(code).toMatch(/^E_INPUT_/);
        lines.refused++;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      // The vector of a vector line, as an inline query argument would give it (else the whole value).
      const vector = value !== null && typeof value === 'object' && 'vector' in value ? (value as { vector: unknown }).vector : value;
      const vectorCode = typedOnly(line, () => void validateVector(vector, { file: '<inline>' }));
      inline[vectorCode === undefined ? 'accepted' : 'refused']++;
    }
    // Both outcomes must occur, or the mutations no longer exercise one of them.
    expect(lines.accepted).toBeGreaterThan(100);
    expect(lines.refused).toBeGreaterThan(100);
    expect(inline.accepted).toBeGreaterThan(10);
    expect(inline.refused).toBeGreaterThan(10);
  });

  it('limits give clear typed errors', async () => {
    const collect = async (text: string | Buffer, maxLineBytes?: number): Promise<string | undefined> =>
      typedOnlyAsync('limit', async () => {
        for await (const _ of readDocuments(Readable.from([Buffer.from(text)]), maxLineBytes === undefined ? {} : { maxLineBytes })) void _;
      });
    const manyTerms = JSON.stringify({ id: 'a', vector: Object.fromEntries(Array.from({ length: INPUT_LIMITS.maxTermsPerVector + 1 }, (_, i) => [`t${i}`, 1])) });
    expect(await collect(manyTerms)).toBe('E_INPUT_LIMIT');
    expect(await collect(JSON.stringify({ id: 'a', vector: { ['t'.repeat(INPUT_LIMITS.maxTokenLength + 1)]: 1 } }))).toBe('E_INPUT_LIMIT');
    expect(await collect(JSON.stringify({ id: 'i'.repeat(INPUT_LIMITS.maxIdLength + 1), vector: { a: 1 } }))).toBe('E_INPUT_LIMIT');
    expect(await collect('{"id": "a", "vector": {"a": 1e7}}')).toBe('E_INPUT_LIMIT');
    expect(await collect('{"id": "a", "vector": {"a": 1e400}}')).toBe('E_INPUT_VECTOR');
    expect(await collect(`{"id": "a", "vector": {"a": 1}, "content": "${'x'.repeat(5000)}"}\n`, 1024)).toBe('E_INPUT_LIMIT');
    // An endless line without a newline is cut off at the limit, not buffered whole.
    const endless = Readable.from((function* () {
      for (let i = 0; i < 1e6; i++) yield Buffer.alloc(1024, 0x20);
    })());
    expect(await typedOnlyAsync('endless', async () => {
      for await (const _ of readDocuments(endless, { maxLineBytes: 1 << 20 })) void _;
    })).toBe('E_INPUT_LIMIT');
    expect(await collect(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]))).toBe('E_INPUT_ENCODING');
    // Library input: nesting, cycles and BigInts in metadata.
    const deep: Record<string, unknown> = {};
    let node = deep;
    for (let i = 0; i < 100; i++) node = (node.a = {}) as Record<string, unknown>;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [metadata, code] of [
      [deep, 'E_INPUT_LIMIT'],
      [cyclic, 'E_INPUT_LIMIT'],
      [{ n: 10n }, 'E_INPUT_JSON'],
    ] as Array<[Record<string, unknown>, string]>) {
      const out = join(scratch, `limit-${code}-${Math.random()}`);
      expect(await typedOnlyAsync('metadata', () => buildIndex([{ id: 'a', vector: { x: 1 }, metadata }], out).then(() => undefined))).toBe(code);
    }
  });
});

describe('index files (fuzz, seeded)', () => {
  let segmentPath = '';
  const prepare = async (): Promise<void> => {
    if (segmentPath !== '') return;
    const dir = join(scratch, 'source');
    await buildIndex(makeDocuments(new Rng(63), Array.from({ length: 120 }, (_, i) => `d${i}`), 50), dir, { centroidFraction: 0.3 });
    segmentPath = join(dir, 'seg-000001.spx');
  };

  it('damaged containers: a segment or a typed error', async () => {
    await prepare();
    const original = readFileSync(segmentPath);
    const rng = new Rng(64);
    const target = join(scratch, 'damaged.spx');
    for (let i = 0; i < 400; i++) {
      let bytes = Buffer.from(original);
      const kind = rng.int(4);
      if (kind === 0) for (let m = 1 + rng.int(8); m > 0; m--) bytes[rng.int(bytes.length)] = rng.int(256);
      else if (kind === 1) bytes = bytes.subarray(0, rng.int(bytes.length));
      else if (kind === 2) bytes = Buffer.concat([bytes, Buffer.alloc(1 + rng.int(64), rng.int(256))]);
      else bytes = Buffer.from(Array.from({ length: rng.int(2048) }, () => rng.int(256)));
      writeFileSync(target, bytes);
      const code = typedOnly(`variant ${i}`, () => readSegment(target));
      expect(code === undefined ? bytes.equals(original) : true).toBe(true);
    }
  });

  it('forged containers (valid checksums, random contents): rejected with a typed error, or searchable without crashing', async () => {
    await prepare();
    const { sections } = readContainer(segmentPath);
    const rng = new Rng(65);
    const queries = randomQueries(rng, 5, 50);
    const target = join(scratch, 'forged.spx');
    let searched = 0;
    for (let i = 0; i < 400; i++) {
      const copies: Record<string, SectionArray> = {};
      for (const [name, array] of sections) copies[name] = array.slice() as SectionArray;
      const names = Object.keys(copies);
      for (let m = 1 + rng.int(3); m > 0; m--) {
        const name = names[rng.int(names.length)];
        const array = copies[name];
        if (rng.next() < 0.2) {
          // Resize: drop or duplicate the tail.
          copies[name] = (rng.next() < 0.5 ? array.slice(0, rng.int(array.length + 1)) : Object.assign(new (array.constructor as new (n: number) => SectionArray)(array.length + 4), {})) as SectionArray;
          continue;
        }
        if (array.length === 0) continue;
        const at = rng.int(array.length);
        array[at] = [0, 1, 255, 65535, 2 ** 31, 2 ** 32 - 1, -1, NaN, Infinity, array[rng.int(array.length)] + 1][rng.int(10)];
      }
      writeContainer(target, copies);
      let segment: ReturnType<typeof readSegment> | undefined;
      typedOnly(`forgery ${i}`, () => {
        segment = readSegment(target);
        checkSegment(segment, target, 'load');
      });
      if (segment === undefined) continue;
      try {
        checkSegment(segment, target, 'load');
      } catch {
        continue;
      }
      // It passed the load checks: searching must work (any answer), and the full check must not crash.
      const searcher = new SegmentSearcher(segment);
      for (const query of queries) {
        const prepared = prepareQuery(query, segment.termIds);
        for (const run of [(h: TopK) => searcher.searchApproximate(prepared, 0, 1, 0, h, 0), (h: TopK) => searcher.searchExhaustive(prepared, h, 0)]) {
          const heap = new TopK(5);
          run(heap);
          for (const { key } of heap.sorted()) expect(key).toBeLessThan(segment.meta.nDocs);
        }
      }
      searched++;
      typedOnly(`full check ${i}`, () => checkSegment(segment!, target, 'full'));
    }
    expect(searched).toBeGreaterThan(10);
  });

  it('manifests: random JSON is a manifest or a typed error', () => {
    const rng = new Rng(66);
    const values = [null, 0, -1, 1.5, 'x', 'seg-000001.spx', '../x.spx', [], {}, true, 'spladex', 1, 2 ** 53, { file: 'seg-000001.spx', number: 1, documents: 1 }];
    const random = (depth: number): unknown => {
      if (depth > 3 || rng.next() < 0.4) return values[rng.int(values.length)];
      if (rng.next() < 0.3) return Array.from({ length: rng.int(4) }, () => random(depth + 1));
      const keys = ['format', 'formatVersion', 'segments', 'build', 'createdAt', 'generation', 'nextSegment', 'file', 'number', 'documents', 'deleted', 'digest'];
      return Object.fromEntries(keys.filter(() => rng.next() < 0.5).map((k) => [k, random(depth + 1)]));
    };
    for (let i = 0; i < 3000; i++) {
      const value = random(0) as Record<string, unknown>;
      if (rng.next() < 0.7 && value !== null && typeof value === 'object') Object.assign(value, { format: 'spladex', formatVersion: 1 });
      typedOnly(JSON.stringify(value), () => parseManifest(value, 'manifest'));
    }
  });

  it('delete bitmaps: random and damaged blobs are a valid bitmap or a typed error', () => {
    const rng = new Rng(67);
    const good = serializeBitmap(newBitmap([1, 5, 99, 100, 101, 102, 103]));
    for (let i = 0; i < 3000; i++) {
      const blob = rng.next() < 0.5 ? Buffer.from(good) : Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
      for (let m = rng.int(4); m > 0; m--) blob[rng.int(blob.length)] = rng.int(256);
      const code = typedOnly(`blob ${i}`, () => {
        const bitmap = deserializeBitmap(blob, 7, 200, 'db', 1);
        expect(bitmap.size).toBe(7);
      });
      if (code !== undefined) expect(code).toBe('E_CORRUPT');
    }
  });
});

describe('error values', () => {
  it('every typed error carries a stable code and names what to do', () => {
    const error = new SpladexError('E_CORRUPT', 'x; rebuild the index', { file: 'f', offset: 3 });
    expect(error.message).toBe('f @3: x; rebuild the index');
    expect(isSpladexError(error, 'E_CORRUPT')).toBe(true);
  });
});


