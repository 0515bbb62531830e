/**
 * `spladex serve` under change and under failure: searches answered while `POST /documents`,
 * `DELETE /documents` and a `spladex compact` of another process commit (every answer is the
 * answer of one committed state, in commit order per client, and nothing fails); SIGTERM during a
 * write lets the write finish and answer before the process exits 0; SIGKILL at random moments
 * of writes loses nothing that was acknowledged and leaves each interrupted write all or nothing.
 * Bounded: the kill loop stops starting runs after a time budget.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOSSLESS_BUILD } from '../src/segment/options.js';
import { verifyIndex } from '../src/reader/verify.js';
import { buildIndex, SpladexIndex } from '../src/spladex-index.js';
import type { DocumentInput, SearchHit } from '../src/types.js';
import { Rng } from '../src/util/rng.js';
import { hasBuild, runCliAsync } from './helpers/cli.js';
import { IndexModel, makeDocuments, randomQueries } from './helpers/index-model.js';
import { bruteForceTopK } from './helpers/random-corpus.js';
import { expectSameRanking } from './helpers/ranking.js';
import { startServe } from './helpers/server.js';

const KILL_BUDGET_MS = 15_000;
const MAX_KILL_RUNS = 12;

const scratch = mkdtempSync(join(tmpdir(), 'spladex-serve-load-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const build = (dir: string, documents: DocumentInput[]): Promise<unknown> => buildIndex(documents, dir, { ...LOSSLESS_BUILD, forwardValues: 'f32', threads: 1 });

const sameRanking = (actual: SearchHit[], expected: SearchHit[]): boolean => {
  try {
    expectSameRanking(actual, expected);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!hasBuild)('spladex serve under writes and failures', () => {
  it('concurrent searches during POST /documents, DELETE /documents and a compaction: no errors, every answer a committed state', async () => {
    const rng = new Rng(1401);
    const dir = join(scratch, 'concurrent');
    const base = makeDocuments(rng, Array.from({ length: 1500 }, (_, i) => `d${i}`));
    await build(dir, base);
    const queries = randomQueries(rng, 8);
    // The committed live sets, in commit order (compaction changes no answer).
    const models: IndexModel[] = [new IndexModel()];
    models[0].add(base);
    const next = (change: (m: IndexModel) => void): void => {
      const m = models[models.length - 1].clone();
      change(m);
      models.push(m);
    };
    const batchA = makeDocuments(rng, [...Array.from({ length: 300 }, (_, i) => `a${i}`), ...Array.from({ length: 30 }, (_, i) => `d${i * 7}`)]);
    const batchB = makeDocuments(rng, Array.from({ length: 200 }, (_, i) => `b${i}`));
    const victims = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `a${i}` : `d${i * 11}`));

    const server = await startServe(dir, ['--threads', '2', '--refresh-interval', '100']);
    try {
      const answers: Array<{ client: number; query: number; hits: SearchHit[] }> = [];
      const failures: string[] = [];
      let running = true;
      const client = async (c: number): Promise<void> => {
        for (let n = 0; running; n++) {
          const query = (c * 3 + n) % queries.length;
          const answer = await server.request('POST', '/search', { query: { vector: queries[query] }, k: 10, exact: true });
          if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
          else answers.push({ client: c, query, hits: answer.body.hits });
        }
      };
      const clients = [0, 1, 2, 3].map(client);

      const a = await server.request('POST', '/documents', { documents: batchA });
      expect(a.status, a.text).toBe(200);
      next((m) => m.add(batchA));
      // Another process compacts meanwhile; the server's next write waits for its lock (--lock-wait).
      const compact = runCliAsync(['compact', dir, '--threads', '1']);
      for (let t = 0; t < 200 && !existsSync(join(dir, 'spladex.lock')); t++) await new Promise((resolve) => setTimeout(resolve, 5));
      const b = await server.request('POST', '/documents', { documents: batchB });
      expect(b.status, b.text).toBe(200);
      const compacted = await compact;
      expect(compacted.status, compacted.stderr).toBe(0);
      next((m) => m.add(batchB));
      const d = await server.request('DELETE', '/documents', { ids: victims });
      expect(d.status, d.text).toBe(200);
      next((m) => m.delete(victims));
      // Long enough for a refresh to pick up everything, and for searches on the last state.
      await new Promise((resolve) => setTimeout(resolve, 400));
      running = false;
      await Promise.all(clients);

      expect(failures).toEqual([]);
      expect(answers.length).toBeGreaterThan(40);
      const expected = models.map((m) => queries.map((q) => bruteForceTopK(m.live(), q, 10)));
      const reached = [0, 0, 0, 0];
      for (const { client: c, query, hits } of answers) {
        const states = expected.map((e, s) => (sameRanking(hits, e[query]) ? s : -1)).filter((s) => s >= 0);
        expect(states.length, `client ${c}, query ${query}: an answer of no committed state`).toBeGreaterThan(0);
        // Per client, states never go back: a refreshed server never serves an older commit.
        const state = states.find((s) => s >= reached[c]);
        expect(state, `client ${c} went back from state ${reached[c]} to ${states.join('/')}`).toBeDefined();
        reached[c] = state!;
      }
      // Every client saw the last state.
      expect(reached).toEqual([3, 3, 3, 3].map((s) => Math.min(s, models.length - 1)));
    } finally {
      await server.stop();
    }
    expect(verifyIndex(dir).ok).toBe(true);
  });

  it('SIGTERM during a write: the write commits and is answered, new requests are refused, the process exits 0', async () => {
    const rng = new Rng(1402);
    const dir = join(scratch, 'drain');
    await build(dir, makeDocuments(rng, Array.from({ length: 200 }, (_, i) => `d${i}`)));
    const server = await startServe(dir, ['--threads', '0']);
    const batch = makeDocuments(rng, Array.from({ length: 4000 }, (_, i) => `late${i}`));
    const write = server.request('POST', '/documents', { documents: batch });
    await new Promise((resolve) => setTimeout(resolve, 150));
    server.child.kill('SIGTERM');
    const answer = await write;
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.documents).toBe(4000);
    const exit = await server.exited;
    expect(exit, server.stderr()).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toContain('SIGTERM: finishing in-flight requests');
    await expect(server.request('GET', '/health')).rejects.toThrow();
    const reader = SpladexIndex.open(dir);
    try {
      expect(reader.info().documents).toBe(4200);
    } finally {
      reader.close();
    }
  });

  it('SIGKILL during writes: after a restart every acknowledged write is there, each interrupted one all or nothing', async () => {
    const rng = new Rng(1403);
    const dir = join(scratch, 'killed');
    await build(dir, makeDocuments(rng, Array.from({ length: 500 }, (_, i) => `d${i}`)));
    const committed = new Set<string>(Array.from({ length: 500 }, (_, i) => `d${i}`));
    const tally = { runs: 0, acknowledged: 0, lost: 0, kept: 0 };
    const started = performance.now();
    for (let run = 0; run < MAX_KILL_RUNS && performance.now() - started < KILL_BUDGET_MS; run++) {
      const server = await startServe(dir, ['--threads', '0', '--refresh-interval', '0']);
      // Every run's server first proves that everything acknowledged so far survived.
      const info = await server.request('GET', '/info');
      expect(info.body.index.documents, `run ${run}`).toBe(committed.size);
      for (const id of [...committed].filter((_, i) => i % 97 === 0)) expect((await server.request('GET', `/documents/${id}`)).status, id).toBe(200);
      const ids = Array.from({ length: 800 + rng.int(1600) }, (_, i) => `r${run}-${i}`);
      let acknowledged = false;
      const write = server.request('POST', '/documents', { documents: makeDocuments(rng, ids) }).then(
        (answer) => {
          acknowledged = answer.status === 200;
        },
        () => undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 30 + rng.int(700)));
      server.child.kill('SIGKILL');
      await Promise.all([write, server.exited]);
      tally.runs++;
      const reader = SpladexIndex.open(dir);
      try {
        const present = ids.filter((id) => reader.getDocument(id) !== undefined).length;
        expect([0, ids.length], `run ${run}: a write is all or nothing`).toContain(present);
        if (acknowledged) expect(present, `run ${run}: an acknowledged write was lost`).toBe(ids.length);
        if (present > 0) for (const id of ids) committed.add(id);
        expect(reader.info().documents).toBe(committed.size);
        tally.acknowledged += acknowledged ? 1 : 0;
        tally[present > 0 ? 'kept' : 'lost']++;
      } finally {
        reader.close();
      }
    }
    expect(tally.runs).toBeGreaterThanOrEqual(4);
    const report = verifyIndex(dir);
    expect(report.ok, JSON.stringify(report.problem)).toBe(true);
    console.log(`serve SIGKILL: ${JSON.stringify(tally)}`);
  });
});
