/**
 * Crash safety: CLI writers (`index --overwrite`, `add`, `delete`, `compact`) are killed with
 * SIGKILL at random moments (seeded), over and over, on the same index. After every kill the
 * index must open, hold exactly the state before or the state after the operation, answer
 * searches like brute force over that state, and verify clean. A reader opened before each run
 * must keep answering from its snapshot throughout. Bounded: runs stop starting after a time budget.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOSSLESS_BUILD } from '../src/segment/options.js';
import { LOSSLESS_SEARCH } from '../src/query/options.js';
import { verifyIndex } from '../src/reader/verify.js';
import { buildIndex, SpladexIndex } from '../src/spladex-index.js';
import type { DocumentInput, SparseVectorInput } from '../src/types.js';
import { Rng } from '../src/util/rng.js';
import { CLI, hasBuild } from './helpers/cli.js';
import { IndexModel, makeDocuments, matchesFilter, randomQueries } from './helpers/index-model.js';
import { bruteForceTopK } from './helpers/random-corpus.js';
import { expectSameRanking } from './helpers/ranking.js';

const BUDGET_MS = 25_000;
const MAX_RUNS = 60;
const LOSSLESS_FLAGS = ['--pruning', 'none', '--summary-energy', '1', '--max-summary-terms', '0', '--forward-values', 'f32', '--threads', '1'];

const scratch = mkdtempSync(join(tmpdir(), 'spladex-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Operation {
  name: string;
  args: string[];
  apply: (model: IndexModel) => IndexModel;
}

function writeJsonl(path: string, documents: DocumentInput[]): void {
  writeFileSync(path, documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
}

/** Runs the CLI, killing it with SIGKILL after `killAfterMs` unless it exits first. */
function runKilled(args: string[], killAfterMs: number): Promise<{ killed: boolean; status: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, killAfterMs);
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ killed: killed && signal === 'SIGKILL', status, stderr, ms: performance.now() - started });
    });
  });
}

/** Runs the CLI and kills it with SIGKILL as soon as `condition` holds (polled every 2 ms), unless it exits first. */
function runKilledWhen(args: string[], condition: () => boolean): Promise<{ killed: boolean; status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let killed = false;
    const poll = setInterval(() => {
      if (!killed && condition()) killed = child.kill('SIGKILL');
    }, 2);
    child.on('exit', (status, signal) => {
      clearInterval(poll);
      resolve({ killed: killed && signal === 'SIGKILL', status, stderr });
    });
  });
}

function expectState(index: SpladexIndex, model: IndexModel, queries: SparseVectorInput[], label: string): void {
  const live = model.live();
  expect([...index.ids()], label).toEqual(model.ids());
  for (const query of queries) {
    const exact = index.search(query, { k: 10, mode: 'exhaustive' });
    expectSameRanking(exact, bruteForceTopK(live, query, 10));
    expect(index.search(query, { k: 10, ...LOSSLESS_SEARCH }), label).toEqual(exact);
    const filtered = index.search(query, { k: 10, mode: 'exhaustive', filter: { lang: 'en' } });
    expectSameRanking(filtered, bruteForceTopK(live.filter((d) => matchesFilter(d, { lang: 'en' })), query, 10));
  }
  for (const id of model.ids().filter((_, i) => i % 97 === 0)) expect(index.getDocument(id)?.content, label).toBe(model.get(id)!.content);
}

describe.skipIf(!hasBuild)('crash safety (SIGKILL at random moments)', () => {
  it('every killed writer leaves the state before or after, searchable and verified', async () => {
    const rng = new Rng(81);
    const queries = randomQueries(rng, 4);
    const dir = join(scratch, 'index');
    let model = new IndexModel();
    const base = makeDocuments(rng, Array.from({ length: 1500 }, (_, i) => `d${i}`));
    await buildIndex(base, dir, { ...LOSSLESS_BUILD, forwardValues: 'f32', threads: 1 });
    model.add(base);

    // Inputs, written once. Adds mix new ids with replacements of existing ones.
    let nextId = 1500;
    const addFile = (n: number, name: string): { path: string; docs: DocumentInput[] } => {
      const ids = Array.from({ length: n }, () => `d${nextId++}`);
      for (let i = 0; i < n / 10; i++) ids.push(`d${rng.int(1500)}`);
      const docs = makeDocuments(rng, [...new Set(ids)]);
      const path = join(scratch, `${name}.jsonl`);
      writeJsonl(path, docs);
      return { path, docs };
    };
    const small = addFile(200, 'add-small');
    const large = addFile(2500, 'add-large');
    const replacement = makeDocuments(rng, Array.from({ length: 1800 }, (_, i) => `r${i}`));
    const replacementPath = join(scratch, 'replacement.jsonl');
    writeJsonl(replacementPath, replacement);
    const victimsPath = join(scratch, 'victims.txt');

    const operations: Operation[] = [
      { name: 'add small (flat segment)', args: ['add', dir, small.path, '--threads', '1'], apply: (m) => (m.add(small.docs), m) },
      { name: 'add large (Seismic segment)', args: ['add', dir, large.path, '--small-segment', '100', '--threads', '1'], apply: (m) => (m.add(large.docs), m) },
      { name: 'delete', args: ['delete', dir, '--ids', victimsPath], apply: (m) => (m.delete(victims), m) },
      { name: 'compact', args: ['compact', dir, '--small-segment', '100', '--threads', '1'], apply: (m) => m },
      { name: 'index --overwrite', args: ['index', replacementPath, '--out', dir, '--overwrite', '--quiet', ...LOSSLESS_FLAGS], apply: () => (fresh.add(replacement), fresh) },
    ];
    // Victims of the next delete are drawn from the model when a delete is chosen.
    let victims: string[] = [];
    let fresh = new IndexModel();

    const startup = (() => {
      const t = performance.now();
      spawnSync(process.execPath, [CLI, '--version']);
      return performance.now() - t;
    })();
    const durations = new Map<string, number>();
    const started = performance.now();
    const tally = { runs: 0, killed: 0, before: 0, after: 0 };
    for (let run = 0; run < MAX_RUNS && performance.now() - started < BUDGET_MS; run++) {
      const op = operations[rng.int(operations.length)];
      if (op.name === 'delete') {
        const ids = model.ids();
        victims = Array.from({ length: 1 + rng.int(200) }, () => ids[rng.int(ids.length)] ?? 'none');
        writeFileSync(victimsPath, victims.join('\n') + '\n');
      }
      fresh = new IndexModel();
      const before = model.clone();
      const after = op.apply(model.clone());
      // The first run of each kind is not killed: it measures how long the operation takes.
      const duration = durations.get(op.name);
      // Most kills land inside the operation proper (after process startup), a few anywhere, some too late.
      const killAfter = duration === undefined ? 600_000 : rng.next() < 0.2 ? rng.next() * duration : startup * 0.8 + rng.next() * Math.max(50, duration * 1.1 - startup * 0.8);
      const reader = SpladexIndex.open(dir);
      const readerView = queries.map((q) => reader.search(q, { k: 5, mode: 'exhaustive' }));
      const result = await runKilled(op.args, killAfter);
      if (duration === undefined) {
        expect(result.status, result.stderr).toBe(0);
        durations.set(op.name, result.ms);
      }
      // The reader never notices.
      expect(queries.map((q) => reader.search(q, { k: 5, mode: 'exhaustive' }))).toEqual(readerView);
      reader.close();
      tally.runs++;
      if (result.killed) tally.killed++;
      else expect(result.status, `${op.name}: ${result.stderr}`).toBe(0);

      const index = SpladexIndex.open(dir);
      try {
        const ids = JSON.stringify([...index.ids()]);
        const isAfter = ids === JSON.stringify(after.ids());
        const isBefore = ids === JSON.stringify(before.ids());
        const label = `run ${run}: ${op.name}, killed after ${killAfter.toFixed(0)} ms (${result.killed ? 'killed' : 'finished'})`;
        expect(isAfter || isBefore, label).toBe(true);
        if (!result.killed) expect(isAfter, label).toBe(true);
        model = isAfter ? after : before;
        if (isAfter && !isBefore) tally.after++;
        else tally.before++;
        expectState(index, model, queries, label);
      } finally {
        index.close();
      }
      const report = verifyIndex(dir);
      expect(report.problem, `run ${run}: ${op.name}`).toBeUndefined();
    }
    console.log(`crash runs: ${JSON.stringify(tally)}, ${((performance.now() - started) / 1000).toFixed(1)} s; startup ${startup.toFixed(0)} ms, operations ${JSON.stringify(Object.fromEntries([...durations].map(([k, v]) => [k, Math.round(v)])))}`);
    expect(tally.killed).toBeGreaterThanOrEqual(5);

    // One clean writer afterwards removes whatever the killed ones left behind.
    const final = await runKilled(['compact', dir], 600_000);
    expect(final.status, final.stderr).toBe(0);
    const report = verifyIndex(dir);
    expect(report).toMatchObject({ ok: true, notes: [] });
    expect(readdirSync(dir).filter((f) => !/^(spladex\.db|spladex\.commit|seg-\d+\.spx)$/.test(f))).toEqual([]);
    expect(readdirSync(scratch).filter((f) => f.startsWith('index.'))).toEqual([]);
  });

  it('a killed fresh build leaves no index or a complete one, and the next build cleans up after it', async () => {
    const rng = new Rng(82);
    const docs = makeDocuments(rng, Array.from({ length: 3000 }, (_, i) => `f${i}`));
    const input = join(scratch, 'fresh.jsonl');
    writeJsonl(input, docs);
    const build = (out: string): string[] => ['index', input, '--out', join(scratch, out), '--quiet'];
    const first = await runKilled(build('fresh-0'), 600_000);
    expect(first.status, first.stderr).toBe(0);
    const outcomes = { none: 0, complete: 0 };
    /** The state a (possibly killed) build of `out` left: no index at all, or the complete one. */
    const expectNoneOrComplete = (out: string): 'none' | 'complete' => {
      let opened: SpladexIndex | undefined;
      try {
        opened = SpladexIndex.open(join(scratch, out));
      } catch (error) {
        expect((error as { code?: string }).code, `${out}: ${String(error)}`).toBe('E_NOT_AN_INDEX');
        outcomes.none++;
        return 'none';
      }
      expect(opened.info().documents).toBe(docs.length);
      expect(opened.getDocument(String(docs[7].id))?.content).toBe(docs[7].content);
      opened.close();
      outcomes.complete++;
      return 'complete';
    };
    // Kills at random moments of the build.
    const started = performance.now();
    for (let run = 1; run <= 6 && performance.now() - started < 5_000; run++) {
      await runKilled(build(`fresh-${run}`), rng.next() * first.ms);
      expectNoneOrComplete(`fresh-${run}`);
    }
    // Two kills placed on purpose, so that both outcomes are checked on every run of this test:
    // while the build works in its temporary directory (no index, a leftover to clean up) …
    const temporaries = (target: string): string[] => readdirSync(scratch).filter((f) => f.startsWith(`${target}.tmp-`));
    const midway = await runKilledWhen(build('fresh-mid'), () => temporaries('fresh-mid').length > 0);
    expect(midway.killed, midway.stderr).toBe(true);
    expect(expectNoneOrComplete('fresh-mid')).toBe('none');
    // … and as soon as the index appears under its name (killed then, or just finished: complete either way).
    await runKilledWhen(build('fresh-late'), () => existsSync(join(scratch, 'fresh-late')));
    expect(expectNoneOrComplete('fresh-late')).toBe('complete');
    console.log(`fresh builds killed: ${JSON.stringify(outcomes)}`);
    expect(outcomes.none).toBeGreaterThanOrEqual(1);
    expect(outcomes.complete).toBeGreaterThanOrEqual(1);

    // The next build of a target removes the temporary directory its killed build left.
    const leftovers = temporaries('fresh-mid');
    expect(leftovers.length).toBeGreaterThan(0);
    const rebuilt = await runKilled(['index', input, '--out', join(scratch, 'fresh-mid'), '--overwrite', '--quiet'], 600_000);
    expect(rebuilt.status, rebuilt.stderr).toBe(0);
    expect(temporaries('fresh-mid')).toEqual([]);
    expect(expectNoneOrComplete('fresh-mid')).toBe('complete');
  });
});
