/**
 * The search pool against the synchronous reader: the same hits, bit for bit, over seeded random
 * indexes of several segments with deletes, filters, every search mode and several k; refresh
 * while requests run; timeouts, cancellation, a full queue, closing. The worker threads run the
 * compiled worker (dist/), so these tests need `npx tsc` first and are skipped without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomCorpus } from '../../test/helpers/random-corpus.js';
import { isSpladexError } from '../errors.js';
import type { IndexSearchOptions } from '../reader/types.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { DocumentInput, SparseVectorInput } from '../types.js';
import { buildTextIndex } from '../writer/text-index.js';
import { openSearchPool, type SearchPool } from './pool.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const hasWorker = existsSync(join(ROOT, 'dist/src/pool/pool-worker.js'));

const scratch = mkdtempSync(join(tmpdir(), 'spladex-pool-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(isSpladexError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return error as Error;
  }
  throw new Error(`expected ${code}, the request succeeded`);
}

/** An index of three segments (one built, a small flat add, a blocked add) with deletes in two of them. */
async function multiSegmentIndex(dir: string, seed: number, build: Parameters<typeof buildIndex>[2] = {}): Promise<SparseVectorInput[]> {
  const { documents, queries } = randomCorpus({ docs: 2400, queries: 30, vocabulary: 400, seed, decimals: 2 });
  const part = (from: number, to: number): DocumentInput[] => documents.slice(from, to);
  await buildIndex(part(0, 1400), dir, { nPostings: 60, knn: 4, seed, ...build });
  const writer = SpladexIndex.openWriter(dir);
  try {
    await writer.add(part(1400, 1600));
    await writer.add(part(1600, 2400), { smallSegmentDocs: 100 });
    await writer.delete(documents.filter((_, i) => i % 11 === 3 && i < 2000).map((d) => d.id));
  } finally {
    writer.close();
  }
  return queries;
}

const SETTINGS: IndexSearchOptions[] = [
  {},
  { mode: 'approximate', queryCut: 3, heapFactor: 0.8 },
  { mode: 'approximate', queryCut: 6, queryMass: 0.6, graphNeighbors: 2 },
  { mode: 'approximate', queryCut: 0, heapFactor: 1, graphNeighbors: 0 },
  { mode: 'exhaustive' },
  { mode: 'maxscore' },
  { filter: { even: true } },
  { filter: { even: true }, filterExactBelow: 100 },
  { filter: { n: { lt: 300 } }, mode: 'approximate', queryCut: 4 },
  { filter: { n: { gte: 100, lt: 1500 } }, filterExactBelow: 0, mode: 'maxscore' },
  { filter: { n: { gt: 5000 } } },
];

describe.skipIf(!hasWorker)('search pool', () => {
  describe('gives the synchronous reader\'s hits, bit for bit (differential)', () => {
    for (const [name, seed, build] of [
      ['f16, WebAssembly kernel', 61, {}],
      ['u8 values, JavaScript kernel over shared memory', 62, { forwardValues: 'u8' as const }],
    ] as const) {
      it(name, async () => {
        const dir = join(scratch, `diff-${seed}`);
        const queries = await multiSegmentIndex(dir, seed, build);
        const reader = SpladexIndex.open(dir);
        const pool = await openSearchPool(dir, { threads: 2 });
        try {
          expect(reader.manifest.segments.length).toBe(3);
          for (const settings of SETTINGS) {
            for (const k of [1, 10, 100]) {
              const options = { ...settings, k };
              const expected = reader.searchBatch(queries, options);
              // One request per query, side by side on both threads, and the batch as one request.
              const single = await Promise.all(queries.map((q) => pool.search(q, options)));
              expect(single, JSON.stringify(options)).toEqual(expected);
              expect(await pool.searchBatch(queries, options)).toEqual(expected);
            }
          }
          expect(pool.stats()).toMatchObject({ threads: 2, queueDepth: 0, inFlight: 0, generation: reader.manifest.generation });
          expect(pool.stats().completed).toBe(SETTINGS.length * 3 * (queries.length + 1));
        } finally {
          await pool.close();
          reader.close();
        }
      });
    }

    it('also without WebAssembly (SPLADEX_WASM=0: segments in a plain SharedArrayBuffer), from `node --expose-gc --input-type=module -e`', async () => {
      const dir = join(scratch, 'diff-nowasm');
      await multiSegmentIndex(dir, 63);
      const program = `
        const { SpladexIndex, openSearchPool } = await import(${JSON.stringify(join(ROOT, 'dist/src/index.js'))});
        const dir = ${JSON.stringify(dir)};
        const reader = SpladexIndex.open(dir);
        const pool = await openSearchPool(dir, { threads: 2 });
        const queries = JSON.parse(process.argv[1]);
        let same = 0;
        for (const options of [{ mode: 'approximate', queryCut: 3 }, { mode: 'exhaustive', k: 20 }, { mode: 'maxscore' }, { filter: { even: true } }]) {
          same += JSON.stringify(await pool.searchBatch(queries, options)) === JSON.stringify(reader.searchBatch(queries, options)) ? 1 : 0;
        }
        console.log(JSON.stringify({ same, kernel: reader.info().scoringKernel }));
        await pool.close();
        reader.close();`;
      const { queries } = randomCorpus({ docs: 0, queries: 20, vocabulary: 400, seed: 64, decimals: 2 });
      // Options a worker refuses when given explicitly (--input-type, V8's --expose-gc): the pool still starts.
      const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', program, JSON.stringify(queries)], { encoding: 'utf8', env: { ...process.env, SPLADEX_WASM: '0' }, timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ same: 4, kernel: 'javascript' });
    });
  });

  it('more settings and filter plans than a thread keeps, all queued at once, and a request larger than a slot: the reader\'s hits', async () => {
    const dir = join(scratch, 'told');
    const queries = await multiSegmentIndex(dir, 65);
    const reader = SpladexIndex.open(dir);
    const pool = await openSearchPool(dir, { threads: 1 });
    try {
      // 80 settings and 70 filters (a thread keeps 64 of each): ids are forgotten and reused while earlier requests still wait.
      const options: IndexSearchOptions[] = [...Array.from({ length: 80 }, (_, i) => ({ k: i + 1 })), ...Array.from({ length: 70 }, (_, i) => ({ filter: { n: { lt: 100 + 20 * i } }, k: 5 }))];
      const answers = await Promise.all(options.map((o, i) => pool.search(queries[i % queries.length], o)));
      expect(answers).toEqual(options.map((o, i) => reader.search(queries[i % queries.length], o)));
      // 30 queries × k 1000 need more than a 64 KB slot; the next requests give it back.
      expect(await pool.searchBatch(queries, { k: 1000, mode: 'exhaustive' })).toEqual(reader.searchBatch(queries, { k: 1000, mode: 'exhaustive' }));
      for (const query of queries.slice(0, 2)) expect(await pool.search(query)).toEqual(reader.search(query));
      const { channel } = (pool as unknown as { workers: { threads: Array<{ channel: { slots: Array<{ buffer: SharedArrayBuffer }> } }> } }).workers.threads[0];
      expect(channel.slots.map((slot) => slot.buffer.byteLength)).toEqual([64 * 1024, 64 * 1024]);
    } finally {
      await pool.close();
      reader.close();
    }
  });

  describe('refresh', () => {
    it('moves new requests to the latest commit; requests already queued or running keep their snapshot', async () => {
      const dir = join(scratch, 'refresh');
      const { documents, queries } = randomCorpus({ docs: 3000, queries: 200, vocabulary: 300, seed: 71, decimals: 2 });
      await buildIndex(documents.slice(0, 2000), dir, { nPostings: 60, knn: 4, seed: 71 });
      const before = SpladexIndex.open(dir);
      const pool = await openSearchPool(dir, { threads: 1 });
      try {
        expect(await pool.refresh()).toEqual({ generation: before.manifest.generation, changed: false });
        // info and stored documents come from the state new requests search, without a second copy.
        expect(await pool.info()).toEqual(before.info());
        const deletedLater = documents[0].id;
        expect(await pool.getDocuments([deletedLater, 'no such id', documents[1999].id])).toEqual([before.getDocument(deletedLater), undefined, before.getDocument(documents[1999].id)]);
        // A commit that replaces every segment file: the pool does not see it before refresh().
        const writer = SpladexIndex.openWriter(dir);
        try {
          await writer.add(documents.slice(2000));
          await writer.delete(documents.slice(0, 50).map((d) => d.id));
          await writer.compact();
        } finally {
          writer.close();
        }
        // Requests of the old state, two on the thread (running, waiting in its other slot) and the rest queued when the refresh switches states.
        const pending = Array.from({ length: 8 }, (_, i) => pool.searchBatch(queries.slice(i * 25, i * 25 + 25), { mode: 'exhaustive', k: 5 }));
        const refreshing = pool.refresh();
        expect(pool.stats()).toMatchObject({ inFlight: 2, queueDepth: 6 });
        const refreshed = await refreshing;
        const after = SpladexIndex.open(dir);
        try {
          expect(refreshed).toEqual({ generation: after.manifest.generation, changed: true });
          expect(after.manifest.generation).toBeGreaterThan(before.manifest.generation);
          expect((await Promise.all(pending)).flat()).toEqual(before.searchBatch(queries, { mode: 'exhaustive', k: 5 }));
          expect(before.searchBatch(queries, { mode: 'exhaustive', k: 5 })).not.toEqual(after.searchBatch(queries, { mode: 'exhaustive', k: 5 }));
          const fresh = queries.slice(0, 40);
          expect(await pool.searchBatch(fresh, { mode: 'exhaustive', k: 5 })).toEqual(after.searchBatch(fresh, { mode: 'exhaustive', k: 5 }));
          expect(await pool.searchBatch(fresh, { filter: { even: false } })).toEqual(after.searchBatch(fresh, { filter: { even: false } }));
          expect(pool.stats().generation).toBe(after.manifest.generation);
          expect(await pool.info()).toEqual(after.info());
          expect(await pool.getDocuments([deletedLater, documents[2999].id])).toEqual([undefined, after.getDocument(documents[2999].id)]);
          expect(after.getDocument(documents[2999].id)).toBeDefined();
          // The old state's segments (compacted away) were released: its thread was replaced so that they are freed.
          expect((pool as unknown as { workers: { restarts: number } }).workers.restarts).toBe(1);
        } finally {
          after.close();
        }
      } finally {
        await pool.close();
        before.close();
      }
    });
  });

  describe('requests', () => {
    const dir = join(scratch, 'requests');
    let queries: SparseVectorInput[];
    /** About half a second of work on one thread. */
    const slow = (pool: SearchPool, options: Parameters<SearchPool['searchBatch']>[1] = {}): Promise<unknown> => pool.searchBatch(queries, { mode: 'exhaustive', ...options });
    beforeAll(async () => {
      const corpus = randomCorpus({ docs: 4000, queries: 600, vocabulary: 300, seed: 81, decimals: 2 });
      queries = corpus.queries;
      await buildIndex(corpus.documents, dir, { nPostings: 60, knn: 0, seed: 81 });
    });

    it('times out (pool default and per request), and the thread goes on with the next request', async () => {
      const pool = await openSearchPool(dir, { threads: 1, timeoutMs: 5 });
      try {
        const error = await expectCode(slow(pool), 'E_TIMEOUT');
        expect(error.message).toMatch(/time limit of 5 ms/);
        await expectCode(slow(pool, { timeoutMs: 2 }), 'E_TIMEOUT');
        // timeoutMs 0 on the request: no limit, even though the pool has one.
        expect(await pool.search(queries[0], { timeoutMs: 0, k: 3 })).toHaveLength(3);
        await expectCode(pool.search(queries[0], { timeoutMs: -1 }), 'E_OPTION');
      } finally {
        await pool.close();
      }
    });

    it('is cancelled by its AbortSignal: before, while queued (it leaves the queue), waiting on its thread and running', async () => {
      const pool = await openSearchPool(dir, { threads: 1 });
      try {
        await expectCode(pool.search(queries[0], { signal: AbortSignal.abort('no') }), 'E_ABORTED');
        const [first, second, third] = [new AbortController(), new AbortController(), new AbortController()];
        const running = slow(pool, { signal: first.signal });
        const waiting = slow(pool, { signal: second.signal });
        const queued = slow(pool, { signal: third.signal });
        expect(pool.stats()).toMatchObject({ inFlight: 2, queueDepth: 1 });
        third.abort(new Error('changed my mind'));
        const error = await expectCode(queued, 'E_ABORTED');
        expect((error.cause as Error).message).toBe('changed my mind');
        expect(pool.stats()).toMatchObject({ inFlight: 2, queueDepth: 0 });
        second.abort();
        first.abort();
        await expectCode(waiting, 'E_ABORTED');
        await expectCode(running, 'E_ABORTED');
        // The thread finishes the running search, skips the cancelled one waiting in its other slot, and goes on.
        expect(await pool.search(queries[1], { k: 2 })).toHaveLength(2);
        expect(pool.stats()).toMatchObject({ inFlight: 0, queueDepth: 0, completed: 1 });
        // At least the one waiting in the port (the first may not have started either when it was aborted).
        expect((pool as unknown as { skipped: number }).skipped).toBeGreaterThanOrEqual(1);
        await expectCode(slow(pool, { signal: AbortSignal.timeout(5) }), 'E_TIMEOUT');
      } finally {
        await pool.close();
      }
    });

    it('refuses a request beyond the queue limit with E_BUSY', async () => {
      const pool = await openSearchPool(dir, { threads: 1, queueLimit: 1 });
      try {
        // Two on the thread (one running, one waiting in its other slot), one in the queue.
        const accepted = [slow(pool), slow(pool), slow(pool)];
        expect(pool.stats()).toMatchObject({ inFlight: 2, queueDepth: 1 });
        const error = await expectCode(slow(pool), 'E_BUSY');
        expect(error.message).toMatch(/queueLimit 1/);
        await Promise.all(accepted);
        expect(pool.stats()).toMatchObject({ queueDepth: 0, inFlight: 0, completed: 3 });
      } finally {
        await pool.close();
      }
    });

    it('a thread that dies fails the requests it held and is replaced', async () => {
      const pool = await openSearchPool(dir, { threads: 1 });
      try {
        const held = [slow(pool), slow(pool)];
        const queued = pool.search(queries[0], { k: 3 });
        const thread = (pool as unknown as { workers: { threads: Array<{ worker: { terminate(): Promise<number> } }> } }).workers.threads[0];
        await thread.worker.terminate();
        for (const request of held) await expect(request).rejects.toThrow(/search thread of the pool stopped/);
        expect(await queued).toHaveLength(3);
        expect(pool.stats()).toMatchObject({ inFlight: 0, queueDepth: 0 });
      } finally {
        await pool.close();
      }
    });

    it('close() answers every accepted request, then refuses with E_CLOSED', async () => {
      const pool = await openSearchPool(dir, { threads: 2 });
      const reader = SpladexIndex.open(dir);
      try {
        const accepted = queries.slice(0, 12).map((q) => pool.search(q, { mode: 'exhaustive' }));
        const closed = pool.close();
        await expectCode(pool.search(queries[0]), 'E_CLOSED');
        expect(await Promise.all(accepted)).toEqual(queries.slice(0, 12).map((q) => reader.search(q, { mode: 'exhaustive' })));
        await closed;
        await expectCode(pool.refresh(), 'E_CLOSED');
        await pool.close();
      } finally {
        reader.close();
      }
    });

    it('checks its options and the search options before queueing', async () => {
      await expectCode(openSearchPool(dir, { threads: 0 }), 'E_OPTION');
      await expectCode(openSearchPool(dir, { queueLimit: -1 }), 'E_OPTION');
      await expectCode(openSearchPool(join(scratch, 'nothing-here')), 'E_NOT_AN_INDEX');
      expect(SpladexIndex.openPool).toBe(openSearchPool);
      const pool = await SpladexIndex.openPool(dir, { threads: 1 });
      try {
        expect(pool.threads).toBe(1);
        await expectCode(pool.search(queries[0], { k: 0 }), 'E_OPTION');
        await expectCode(pool.search(queries[0], { heapFactor: 2 }), 'E_OPTION');
        await expectCode(pool.searchBatch(queries.slice(0, 2), { filter: { n: { gt: 'x' as unknown as number } } }), 'E_OPTION');
        // A weight that is not a number is dropped, as the reader drops it (the pool prepares queries as the reader does).
        const oddWeights = { ...queries[0], odd: (() => 1) as unknown as number };
        expect(await pool.search(oddWeights)).toEqual(await pool.search(queries[0]));
        expect(await pool.searchBatch([])).toEqual([]);
        await expectCode(pool.searchText('anything'), 'E_INPUT_VECTOR');
      } finally {
        await pool.close();
      }
    });
  });

  it('searchText encodes with the stored encoder and searches like the reader', async () => {
    const dir = join(scratch, 'text');
    const texts = ['White matter development in the human brain.', 'Sparse retrieval with learned sparse vectors.', 'Cancer cells and protein genes.', 'Sleep, memory and the heart.', 'Gene expression in human cells.'];
    await buildTextIndex(
      texts.map((text, i) => ({ _id: `t${i}`, text })),
      dir,
    );
    const reader = SpladexIndex.open(dir);
    const pool = await openSearchPool(dir, { threads: 1 });
    try {
      for (const query of ['human brain', 'sparse cells', 'nothing matches zzz']) expect(await pool.searchText(query, { k: 3 })).toEqual(await reader.searchText(query, { k: 3 }));
      await expectCode(pool.searchText(42 as unknown as string), 'E_OPTION');
    } finally {
      await pool.close();
      reader.close();
    }
  });
});
