/**
 * Vector queries of the wrong shape (free text, a list) are refused by the reader and by the search
 * pool alike; they used to search as empty queries and answer [] without a word.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { openSearchPool } from '../pool/pool.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { SparseVectorInput } from '../types.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-query-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const hasWorker = existsSync(fileURLToPath(new URL('../../dist/src/pool/pool-worker.js', import.meta.url)));

const bad = (value: unknown): SparseVectorInput => value as SparseVectorInput;

/** Each wrong call and what its error must say. */
const CASES: Array<[string, (search: (q: SparseVectorInput) => unknown, batch: (q: SparseVectorInput[]) => unknown) => unknown, RegExp]> = [
  ['a string', (search) => search(bad('sleep loss')), /^search: the query is a string, not a sparse vector \{token: weight\}; to search free text, call searchText/],
  ['an array', (search) => search(bad(['sleep'])), /^search: the query is an array.*searchBatch.*searchText/],
  ['null', (search) => search(bad(null)), /^search: the query is null.*searchText/],
  ['a number', (search) => search(bad(3)), /^search: the query is a number/],
  ['a string in a batch', (_, batch) => batch([{ sleep: 1 }, bad('loss')]), /^searchBatch: query 1 is a string.*searchText\(texts\)/],
  ['a string as the batch', (_, batch) => batch(bad('sleep loss') as unknown as SparseVectorInput[]), /^searchBatch takes an array of sparse vectors.*got a string.*searchText/],
];

async function errorOf(call: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await call();
  } catch (error) {
    if (isSpladexError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a SpladexError, the call succeeded');
}

describe('vector queries', () => {
  it('the reader refuses strings, arrays and non-objects with E_INPUT_VECTOR naming searchText', async () => {
    const index = await SpladexIndex.build([{ id: 'a', vector: { sleep: 1, loss: 2 } }]);
    try {
      for (const [what, call, pattern] of CASES) {
        const error = await errorOf(() => call((q) => index.search(q), (q) => index.searchBatch(q)));
        expect(error.code, what).toBe('E_INPUT_VECTOR');
        expect(error.message, what).toMatch(pattern);
      }
      expect(index.search({ sleep: 1 })).toEqual([{ id: 'a', score: 1 }]);
    } finally {
      index.close();
    }
  });

  it.skipIf(!hasWorker)('the search pool refuses them the same way (needs the compiled worker: npx tsc)', async () => {
    const dir = join(scratch, 'pool');
    await buildIndex([{ id: 'a', vector: { sleep: 1, loss: 2 } }], dir);
    const pool = await openSearchPool(dir, { threads: 1 });
    try {
      for (const [what, call, pattern] of CASES) {
        const error = await errorOf(() => call((q) => pool.search(q), (q) => pool.searchBatch(q)));
        expect(error.code, what).toBe('E_INPUT_VECTOR');
        expect(error.message, what).toMatch(pattern);
      }
      expect(await pool.search({ sleep: 1 })).toEqual([{ id: 'a', score: 1 }]);
    } finally {
      await pool.close();
    }
  });
});
