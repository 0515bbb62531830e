/**
 * CIFF export and import through the library: the file's contents against the documents (decoded
 * here with protobufjs directly, not with the importer), the runs giving the same bytes for any
 * run size, deleted documents left out, quantisation undone on import within its bound, and
 * truncated or corrupt files refused with E_CIFF naming the byte offset and the message.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSpladexError, type SpladexError } from '../errors.js';
import type { DocumentInput } from '../types.js';
import { roundToHalf } from '../util/f16.js';
import { Rng } from '../util/rng.js';
import { buildIndex } from '../writer/build.js';
import { IndexReader } from '../reader/reader.js';
import { IndexWriter } from '../writer/writer.js';
import { exportCiff } from './export.js';
import { importCiff } from './import.js';
import { ciffCodec, type CiffHeader } from './schema.js';

const f16 = roundToHalf;

function corpus(n: number, seed: number): DocumentInput[] {
  const rng = new Rng(seed);
  const docs: DocumentInput[] = [];
  for (let i = 0; i < n; i++) {
    const vector = Object.create(null) as Record<string, number>;
    const terms = i % 13 === 4 ? 0 : 2 + rng.int(30);
    for (let t = 0; t < terms; t++) vector[`w${Math.floor(rng.next() ** 2 * 400)}`] = Number((0.001 + rng.next() * 3).toFixed(4));
    // Terms whose UTF-8 order differs from UTF-16 order, and one that only a null-prototype object holds.
    if (i % 7 === 0) vector['\u{1F600}x'] = 1.5;
    if (i % 9 === 0) vector['\uFF5Ey'] = 0.75;
    if (i % 11 === 0) vector['__proto__'] = 0.5;
    docs.push({ id: `doc-${i}`, vector, content: `text ${i}` });
  }
  return docs;
}

interface DecodedCiff {
  header: CiffHeader;
  lists: Array<{ term: string; df: number; cf: number; postings: Array<{ docid: number; tf: number }> }>;
  docs: Array<{ docid: number; collection_docid: string; doclength: number }>;
}

async function decodeWhole(path: string): Promise<DecodedCiff> {
  const codec = await ciffCodec();
  const reader = protobuf.Reader.create(readFileSync(path));
  const plain = { longs: Number, defaults: true };
  const header = codec.header.toObject(codec.header.decodeDelimited(reader), plain) as CiffHeader;
  const lists = Array.from({ length: header.num_postings_lists }, () => codec.postingsList.toObject(codec.postingsList.decodeDelimited(reader), plain) as DecodedCiff['lists'][number]);
  const docs = Array.from({ length: header.num_docs }, () => codec.docRecord.toObject(codec.docRecord.decodeDelimited(reader), plain) as DecodedCiff['docs'][number]);
  expect(reader.pos).toBe(reader.len);
  return { header, lists, docs };
}

function expectCiffError(error: unknown, pattern: RegExp): SpladexError {
  expect(isSpladexError(error, 'E_CIFF'), String(error)).toBe(true);
  const e = error as SpladexError;
  expect(e.message).toMatch(pattern);
  expect(typeof e.offset).toBe('number');
  return e;
}

describe('CIFF export and import', () => {
  let dir: string;
  let docs: DocumentInput[];
  const deleted = new Set(['doc-3', 'doc-50', 'doc-51']);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spladex-ciff-'));
    docs = corpus(300, 7);
    await buildIndex(docs.slice(0, 200), join(dir, 'idx'), { calibrationSample: 0, seed: 1 });
    // A second segment and deletes: export reads every segment's stored vectors, live documents only.
    const writer = IndexWriter.open(join(dir, 'idx'));
    try {
      await writer.add(docs.slice(200));
      await writer.delete(deleted);
    } finally {
      writer.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the live documents: d-gaps, impacts round(f16(w) × scale), terms in UTF-8 byte order, ids in DocRecords', async () => {
    const out = join(dir, 'a.ciff');
    const summary = await exportCiff(join(dir, 'idx'), out, { scale: 100 });
    const { header, lists, docs: records } = await decodeWhole(out);
    const live = docs.filter((d) => !deleted.has(String(d.id)));
    expect(summary.documents).toBe(live.length);
    expect(header).toMatchObject({ version: 1, num_docs: live.length, total_docs: live.length, num_postings_lists: lists.length, total_postings_lists: lists.length });
    expect(header.description).toContain('impact-scale=100');
    expect(records.map((r) => r.collection_docid)).toEqual(live.map((d) => d.id));
    expect(records.map((r) => r.docid)).toEqual(live.map((_, i) => i));
    // Expected postings from the input, through the index's f16 storage.
    const expected = new Map<string, Array<{ docid: number; tf: number }>>();
    const lengths = live.map(() => 0);
    live.forEach((d, i) => {
      for (const [term, w] of Object.entries(d.vector)) {
        const tf = Math.round(f16(w) * 100);
        if (tf === 0) continue;
        if (!expected.has(term)) expected.set(term, []);
        expected.get(term)!.push({ docid: i, tf });
        lengths[i] += tf;
      }
    });
    const byteOrder = [...expected.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(lists.map((l) => l.term)).toEqual(byteOrder);
    expect(byteOrder.indexOf('\uFF5Ey')).toBeLessThan(byteOrder.indexOf('\u{1F600}x'));
    for (const list of lists) {
      let docid = 0;
      const absolute = list.postings.map((p) => ({ docid: (docid += p.docid), tf: p.tf }));
      expect(absolute, list.term).toEqual(expected.get(list.term));
      expect(list.df).toBe(absolute.length);
      expect(list.cf).toBe(absolute.reduce((n, p) => n + p.tf, 0));
    }
    expect(records.map((r) => r.doclength)).toEqual(lengths);
    expect(header.total_terms_in_collection).toBe(lengths.reduce((a, b) => a + b, 0));
  });

  it('gives the same bytes whatever the run size (many runs on disk or one)', async () => {
    await exportCiff(join(dir, 'idx'), join(dir, 'one.ciff'), { runPostings: 1 << 20 });
    await exportCiff(join(dir, 'idx'), join(dir, 'many.ciff'), { runPostings: 1024 });
    expect(readFileSync(join(dir, 'many.ciff')).equals(readFileSync(join(dir, 'one.ciff')))).toBe(true);
  });

  it('--quantize-bits: impacts fill 1 … 2^bits − 1', async () => {
    const summary = await exportCiff(join(dir, 'idx'), join(dir, 'q8.ciff'), { quantizeBits: 8 });
    const { header, lists } = await decodeWhole(join(dir, 'q8.ciff'));
    const max = Math.max(...lists.flatMap((l) => l.postings.map((p) => p.tf)));
    expect(max).toBe(255);
    expect(header.description).toContain(`impact-scale=${summary.scale}`);
    await expect(exportCiff(join(dir, 'idx'), join(dir, 'x.ciff'), { quantizeBits: 8, scale: 10 })).rejects.toMatchObject({ code: 'E_OPTION' });
  });

  it('imports its export: same ids, every weight within 0.5 / scale (+ f16), exact top-10 within the bound', async () => {
    const summary = await importCiff(join(dir, 'a.ciff'), join(dir, 'back'), { calibrationSample: 0, runPostings: 1024 });
    expect(summary.ciff).toMatchObject({ scale: 100, scaleSource: 'header' });
    const original = IndexReader.open(join(dir, 'idx'));
    const back = IndexReader.open(join(dir, 'back'));
    try {
      expect(back.info().documents).toBe(original.info().documents);
      const proto = { ['__proto__']: 1, w1: 0.5 };
      expect(back.search(proto, { k: 5, mode: 'exhaustive' }).map((h) => h.id)).toEqual(original.search(proto, { k: 5, mode: 'exhaustive' }).map((h) => h.id));
      expect(back.search({ ['__proto__']: 1 }, { k: 100, mode: 'exhaustive' }).length).toBe(docs.filter((d, i) => i % 11 === 0 && !deleted.has(String(d.id))).length);
      const rng = new Rng(3);
      for (let q = 0; q < 20; q++) {
        const query: Record<string, number> = {};
        for (let t = 0; t < 8; t++) query[`w${Math.floor(rng.next() ** 2 * 400)}`] = 0.2 + rng.next();
        const bound = Object.values(query).reduce((s, w) => s + w, 0) * (0.5 / 100 + 3 * 2 ** -11);
        const a = original.search(query, { k: 40, mode: 'exhaustive' });
        const b = back.search(query, { k: 10, mode: 'exhaustive' });
        const truth = new Map(a.map((h) => [h.id, h.score]));
        expect(b.length).toBe(Math.min(10, a.length));
        for (const hit of b) {
          // Each score within the bound of the document's original score, and a document enters
          // the top 10 only if its original score was within twice the bound of the 10th.
          expect(Math.abs(hit.score - (truth.get(hit.id) ?? -Infinity))).toBeLessThanOrEqual(bound);
          expect(truth.get(hit.id)!).toBeGreaterThanOrEqual(a[Math.min(9, a.length - 1)].score - 2 * bound);
        }
      }
    } finally {
      original.close();
      back.close();
    }
  });

  it('--scale on import overrides the header; a file without impact-scale imports raw tf', async () => {
    const codec = await ciffCodec();
    const parts = [
      codec.header.encodeDelimited({ version: 1, num_postings_lists: 2, num_docs: 3, total_postings_lists: 2, total_docs: 3, description: 'hand-made' }).finish(),
      codec.postingsList.encodeDelimited({ term: 'a', df: 2, cf: 5, postings: [{ docid: 0, tf: 2 }, { docid: 2, tf: 3 }] }).finish(),
      codec.postingsList.encodeDelimited({ term: 'b', df: 1, cf: 7, postings: [{ docid: 1, tf: 7 }] }).finish(),
      ...['x', 'y', 'z'].map((id, i) => codec.docRecord.encodeDelimited({ docid: i, collection_docid: id, doclength: 1 }).finish()),
    ];
    writeFileSync(join(dir, 'hand.ciff'), Buffer.concat(parts));
    const raw = await importCiff(join(dir, 'hand.ciff'), join(dir, 'hand'), { calibrationSample: 0 });
    expect(raw.ciff).toMatchObject({ scale: 1, scaleSource: "none", postings: 3, postingsLists: 2 });
    const scaled = await importCiff(join(dir, 'hand.ciff'), join(dir, 'hand10'), { calibrationSample: 0, scale: 10 });
    expect(scaled.ciff.scaleSource).toBe('option');
    for (const [path, scale] of [['hand', 1], ['hand10', 10]] as const) {
      const reader = IndexReader.open(join(dir, path));
      try {
        expect(reader.search({ a: 1, b: 1 }, { k: 3, mode: 'exhaustive' })).toEqual([
          { id: 'y', score: f16(7 / scale) },
          { id: 'z', score: f16(3 / scale) },
          { id: 'x', score: f16(2 / scale) },
        ]);
      } finally {
        reader.close();
      }
    }
  });

  it('a truncated file is E_CIFF naming the byte offset and the message, and leaves no index', async () => {
    const whole = readFileSync(join(dir, 'a.ciff'));
    const { lists } = await decodeWhole(join(dir, 'a.ciff'));
    const cuts: Array<[number, RegExp]> = [
      [3, /truncated CIFF file: the header/],
      [Math.floor(whole.length * 0.3), /truncated CIFF file: postings list \d+ of \d+/],
      [whole.length - 5, /truncated CIFF file: document record \d+ of \d+/],
    ];
    for (const [cut, pattern] of cuts) {
      const path = join(dir, `cut-${cut}.ciff`);
      writeFileSync(path, whole.subarray(0, cut));
      const error = await importCiff(path, join(dir, `cut-${cut}`), { calibrationSample: 0 }).catch((e: unknown) => e);
      const e = expectCiffError(error, pattern);
      expect(e.offset).toBeLessThanOrEqual(cut);
      expect(existsSync(join(dir, `cut-${cut}`))).toBe(false);
    }
    expect(lists.length).toBeGreaterThan(10);
  });

  it('corrupt files: bad wire data, descending docids, docids beyond num_docs, trailing bytes, records out of order', async () => {
    const codec = await ciffCodec();
    const header = (lists: number, docs: number): Uint8Array => codec.header.encodeDelimited({ version: 1, num_postings_lists: lists, num_docs: docs }).finish();
    const record = (docid: number, id: string): Uint8Array => codec.docRecord.encodeDelimited({ docid, collection_docid: id, doclength: 1 }).finish();
    const list = (postings: Array<{ docid: number; tf: number }>): Uint8Array => codec.postingsList.encodeDelimited({ term: 't', df: postings.length, postings }).finish();
    const cases: Array<[string, Uint8Array[], RegExp]> = [
      ['wire', [header(1, 1), Uint8Array.from([3, 0x0f, 0xff, 0xff]), record(0, 'a')], /not a valid CIFF file: postings list 1 of 1 at byte \d+/],
      ['descending', [header(1, 2), list([{ docid: 1, tf: 1 }, { docid: -1, tf: 1 }]), record(0, 'a'), record(1, 'b')], /docid gaps must be positive/],
      ['beyond', [header(1, 2), list([{ docid: 0, tf: 1 }, { docid: 5, tf: 1 }]), record(0, 'a'), record(1, 'b')], /names document 5, but the header announces 2 documents/],
      ['trailing', [header(1, 1), list([{ docid: 0, tf: 1 }]), record(0, 'a'), Uint8Array.from([1, 2, 3])], /3 bytes follow the last of the 1 document records/],
      ['order', [header(1, 2), list([{ docid: 0, tf: 1 }]), record(1, 'b'), record(0, 'a')], /records must come in docid order/],
      ['version', [codec.header.encodeDelimited({ version: 2 }).finish()], /version 2; this spladex reads CIFF version 1/],
    ];
    for (const [name, parts, pattern] of cases) {
      const path = join(dir, `bad-${name}.ciff`);
      writeFileSync(path, Buffer.concat(parts));
      const error = await importCiff(path, join(dir, `bad-${name}`), { calibrationSample: 0 }).catch((e: unknown) => e);
      expect(isSpladexError(error, 'E_CIFF'), `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message, name).toMatch(pattern);
    }
  });
});
