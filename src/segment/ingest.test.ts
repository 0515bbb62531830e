/**
 * Ingestion refuses strings UTF-8 cannot store (lone UTF-16 surrogates) in library documents —
 * ids, tokens, content, metadata keys and values at any depth — and in text corpora, before
 * anything is written; skipInvalid skips them; valid surrogate pairs round-trip exactly and the
 * index verifies.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSpladexError, type SpladexError } from '../errors.js';
import type { SkippedLine } from '../io/documents.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import { buildTextIndex, type TextDocumentInput } from '../writer/text-index.js';
import type { DocumentInput } from '../types.js';
import { verifyIndex } from '../reader/verify.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(scratch, `index-${counter++}`);

async function rejection(promise: Promise<unknown>): Promise<SpladexError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSpladexError(error)) throw new Error(`expected a SpladexError, got ${String(error)}`);
  return error;
}

const LONE = [
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', '\udc00'],
] as const;
const SMILE = '\ud83d\ude00';

const badDocuments = (unit: string): Array<[string, DocumentInput, string]> => [
  ['the id', { id: `b${unit}`, vector: { x: 1 } }, 'id'],
  ['a token', { id: 'b', vector: { x: 1, [`t${unit}`]: 2 } }, 'token'],
  ['the content', { id: 'b', vector: { x: 1 }, content: `text ${unit}` }, 'content'],
  ['a metadata key', { id: 'b', vector: { x: 1 }, metadata: { [`k${unit}`]: 1 } }, 'key in metadata '],
  ['a nested metadata key', { id: 'b', vector: { x: 1 }, metadata: { a: { ok: [{ [`${unit}`]: true }] } } }, 'key in metadata.a.ok[0] '],
  ['a metadata value', { id: 'b', vector: { x: 1 }, metadata: { lang: unit } }, 'value of metadata.lang '],
  ['a deep metadata value', { id: 'b', vector: { x: 1 }, metadata: { a: { b: ['fine', `x${unit}`] } } }, 'value of metadata.a.b[1] '],
];

describe('library documents with strings UTF-8 cannot store', () => {
  for (const [name, unit] of LONE) {
    for (const [field, bad, what] of badDocuments(unit)) {
      it(`${field} with a ${name}: E_INPUT_ENCODING naming the document, nothing written`, async () => {
        const out = freshDir();
        const error = await rejection(buildIndex([{ id: 'a', vector: { x: 1 } }, bad, { id: 'c', vector: { y: 1 } }], out));
        expect(error.code).toBe('E_INPUT_ENCODING');
        expect(error.line).toBe(2);
        expect(error.message).toContain(`<documents>:2: ${what}`);
        expect(existsSync(out)).toBe(false);
      });
    }
  }

  it('skipInvalid skips them and reports each; the index verifies', async () => {
    const out = freshDir();
    const skipped: SkippedLine[] = [];
    const documents = [{ id: 'a', vector: { x: 1 } }, ...badDocuments('\udfff').map(([, doc]) => doc), { id: 'c', vector: { y: 1 }, metadata: { k: 'v' } }];
    const summary = await buildIndex(documents, out, { skipInvalid: true, onSkip: (s) => skipped.push(s) });
    expect(summary).toMatchObject({ documents: 2, skipped: 7 });
    expect(skipped.map((s) => [s.line, s.code])).toEqual([2, 3, 4, 5, 6, 7, 8].map((line) => [line, 'E_INPUT_ENCODING']));
    expect(verifyIndex(out).ok).toBe(true);
  });

  it('add refuses them and leaves the index as it was', async () => {
    const out = freshDir();
    await buildIndex([{ id: 'a', vector: { x: 1 }, metadata: { lang: 'en' } }], out);
    const index = SpladexIndex.open(out, { readonly: false });
    try {
      for (const [, bad] of badDocuments('\ud800')) {
        expect((await rejection(index.add([bad]))).code).toBe('E_INPUT_ENCODING');
      }
      expect(index.info().documents).toBe(1);
      expect(index.search({ x: 1 }, { k: 5, mode: 'exhaustive', filter: { lang: 'en' } }).map((h) => h.id)).toEqual(['a']);
    } finally {
      index.close();
    }
    expect(verifyIndex(out).ok).toBe(true);
  });

  it('surrogate pairs are stored and read back exactly, searched, filtered and verified', async () => {
    const out = freshDir();
    const doc = { id: `e${SMILE}`, vector: { [`t${SMILE}`]: 2, x: 1 }, content: `smile ${SMILE}`, metadata: { [`mood${SMILE}`]: SMILE, tags: [SMILE] } };
    await buildIndex([doc, { id: 'plain', vector: { x: 3 } }], out);
    expect(verifyIndex(out).ok).toBe(true);
    const index = SpladexIndex.open(out);
    try {
      expect(index.getDocument(`e${SMILE}`)).toEqual({ id: doc.id, content: doc.content, metadata: doc.metadata });
      expect(index.search({ [`t${SMILE}`]: 1 }, { k: 5 }).map((h) => h.id)).toEqual([doc.id]);
      expect(index.search({ x: 1 }, { k: 5, mode: 'exhaustive', filter: { [`mood${SMILE}`]: SMILE } }).map((h) => h.id)).toEqual([doc.id]);
      expect(index.search({ x: 1 }, { k: 5, mode: 'exhaustive', filter: { tags: { in: [SMILE] } } }).map((h) => h.id)).toEqual([doc.id]);
    } finally {
      index.close();
    }
  });
});

describe('text corpora with strings UTF-8 cannot store', () => {
  const GOOD: TextDocumentInput[] = [
    { _id: 'd1', title: 'Brain', text: 'white matter of the brain' },
    { _id: 'd3', text: 'sparse retrieval of documents' },
  ];
  for (const [name, unit] of LONE) {
    const cases: Array<[string, TextDocumentInput, string]> = [
      ['the id', { _id: `d2${unit}`, text: 'cells' }, 'id'],
      ['the title', { _id: 'd2', title: `T${unit}`, text: 'cells' }, 'title'],
      ['the text', { _id: 'd2', text: `cells ${unit}` }, 'text'],
      ['the metadata', { _id: 'd2', text: 'cells', metadata: { a: [unit] } }, 'value of metadata.a[0]'],
    ];
    for (const [field, bad, what] of cases) {
      it(`${field} with a ${name}: E_INPUT_ENCODING naming the document, nothing written`, async () => {
        const out = freshDir();
        const error = await rejection(buildTextIndex([GOOD[0], bad, GOOD[1]], out));
        expect(error.code).toBe('E_INPUT_ENCODING');
        expect(error.message).toContain(`:2: ${what}`);
        expect(existsSync(out)).toBe(false);
      });
    }
  }

  it('skipInvalid skips them (both passes) and the index verifies', async () => {
    const out = freshDir();
    const skipped: SkippedLine[] = [];
    const corpus: TextDocumentInput[] = [GOOD[0], { _id: 'x\ud800', text: 'cells' }, { _id: 'y', title: '\udc00', text: 'cells' }, GOOD[1]];
    const summary = await buildTextIndex(corpus, out, { skipInvalid: true, onSkip: (s) => skipped.push(s) });
    expect(summary).toMatchObject({ documents: 2, skipped: 2 });
    expect(summary.encoder?.corpusStats?.documents).toBe(2);
    expect(skipped.map((s) => [s.line, s.code])).toEqual([
      [2, 'E_INPUT_ENCODING'],
      [3, 'E_INPUT_ENCODING'],
    ]);
    expect(verifyIndex(out).ok).toBe(true);
  });
});
