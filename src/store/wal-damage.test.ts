/**
 * Commits that live only in SQLite's write-ahead log. A reader's snapshot stops checkpoints, so
 * `add`/`delete`/`compact` commits stay in `spladex.db-wal`; SQLite silently drops the first bad
 * frame and everything after it. This harness damages the WAL of such an index (flipped bytes,
 * truncation, deletion, appended garbage) and checks every case: the loss is detected (E_CORRUPT
 * on open, on write and in verify), or the index shows exactly the last committed state — and in
 * no case is a file removed.
 */
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocuments, randomQueries } from '../../test/helpers/index-model.js';
import { isSpladexError } from '../errors.js';
import { buildIndex, SpladexIndex } from '../spladex-index.js';
import type { SparseVectorInput } from '../types.js';
import { Rng } from '../util/rng.js';
import { COMMIT_FILE, readCommitRecord } from './commit-record.js';
import { verifyIndex } from '../reader/verify.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-wal-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ids = (prefix: string, from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);
const queries: SparseVectorInput[] = randomQueries(new Rng(61), 5, 60);

/** What a user sees of an index: every query's hits, live ids, and generation — or the error code. */
function observe(dir: string): string {
  let index: SpladexIndex | undefined;
  try {
    index = SpladexIndex.open(dir);
    return JSON.stringify([index.manifest.generation, queries.map((q) => index!.search(q, { k: 6, mode: 'exhaustive' })), [...index.ids()].sort()]);
  } catch (error) {
    if (isSpladexError(error)) return `error ${error.code}`;
    throw error;
  } finally {
    index?.close();
  }
}

/** The files that might hold committed data (SQLite's own -wal/-shm come and go as it checkpoints). */
const durableFiles = (dir: string): string[] => readdirSync(dir).filter((f) => !/-(wal|shm)$/.test(f)).sort();

describe('damage to the write-ahead log with commits still in it', () => {
  const live = join(scratch, 'live');
  let pinned: SpladexIndex;
  let committed: string;
  let walBytes: Buffer;

  beforeAll(async () => {
    const rng = new Rng(62);
    await buildIndex(makeDocuments(rng, ids('d', 0, 40), 60), live);
    // The reader's snapshot keeps every later commit out of the main database file.
    pinned = SpladexIndex.open(live);
    const writer = SpladexIndex.open(live, { readonly: false });
    await writer.add(makeDocuments(rng, ids('e', 0, 20), 60));
    await writer.delete(['d1', 'd2', 'e3']);
    await writer.add(makeDocuments(rng, ids('f', 0, 10), 60));
    writer.close();
    walBytes = readFileSync(join(live, 'spladex.db-wal'));
    expect(walBytes.length).toBeGreaterThan(32);
    committed = observe(live);
    expect(committed).toContain('"f0"');
    expect(readCommitRecord(live)?.generation).toBe(4);
  });
  afterAll(() => pinned?.close());

  let counter = 0;
  /** A copy of the live index (reader still open, so the WAL holds generations 2–4) with its WAL changed by `damage`. */
  function damagedCopy(damage: (wal: string) => void): string {
    const dir = join(scratch, `case-${++counter}`);
    cpSync(live, dir, { recursive: true });
    damage(join(dir, 'spladex.db-wal'));
    return dir;
  }

  const tally = { detected: 0, intact: 0 };
  /** The contract for one damaged copy. */
  async function check(dir: string, label: string): Promise<void> {
    const before = durableFiles(dir);
    const seen = observe(dir);
    const report = verifyIndex(dir, { level: 'quick' });
    if (seen === committed) {
      expect(report.ok, `${label}: intact but verify says ${report.problem?.message}`).toBe(true);
      tally.intact++;
    } else {
      // Never an older state served as if it were the current one.
      expect(seen, `${label}: served a state that is not the last commit`).toBe('error E_CORRUPT');
      expect(report.ok, `${label}: verify missed the loss`).toBe(false);
      expect(report.problem?.code).toBe('E_CORRUPT');
      tally.detected++;
    }
    // Even a writer with nothing to do must not write on (or tidy) a rolled-back index.
    let writeError: unknown;
    try {
      const writer = SpladexIndex.open(dir, { readonly: false });
      try {
        await writer.delete(['no-such-id']);
      } finally {
        writer.close();
      }
    } catch (error) {
      writeError = error;
    }
    if (seen === committed) expect(writeError, label).toBeUndefined();
    else expect(isSpladexError(writeError, 'E_CORRUPT'), `${label}: ${String(writeError)}`).toBe(true);
    expect(durableFiles(dir), `${label}: a file was removed`).toEqual(before);
    // The detection does not wear off: SQLite has checkpointed the shortened WAL away by now.
    if (seen !== committed) expect(observe(dir), label).toBe('error E_CORRUPT');
  }

  it('flipped bytes anywhere in the WAL: header, frame headers, page data', async () => {
    const rng = new Rng(63);
    for (let i = 0; i < 40; i++) {
      // The first cases walk the WAL header and the first frame header byte by byte.
      const position = i < 8 ? i * 4 + rng.int(4) : i < 14 ? 32 + (i - 8) * 4 : rng.int(walBytes.length);
      const bit = 1 << rng.int(8);
      const dir = damagedCopy((wal) => {
        const bytes = Buffer.from(walBytes);
        bytes[position] ^= bit;
        writeFileSync(wal, bytes);
      });
      await check(dir, `flip byte ${position} bit ${bit}`);
    }
  });

  it('a truncated, emptied or deleted WAL (with or without its -shm)', async () => {
    const rng = new Rng(64);
    const lengths = [0, 16, 32, 33, walBytes.length - 1, ...Array.from({ length: 10 }, () => 32 + rng.int(walBytes.length - 32))];
    for (const length of lengths) await check(damagedCopy((wal) => truncateSync(wal, length)), `truncated to ${length}`);
    await check(damagedCopy((wal) => rmSync(wal)), 'deleted');
    await check(
      damagedCopy((wal) => {
        rmSync(wal);
        rmSync(`${wal.slice(0, -4)}-shm`, { force: true });
      }),
      'deleted with its -shm',
    );
    await check(damagedCopy((wal) => renameSync(wal, `${wal}.moved`)), 'moved away');
  });

  it('damage SQLite ignores leaves exactly the last committed state', async () => {
    const rng = new Rng(65);
    for (let i = 0; i < 4; i++) {
      const garbage = Buffer.from(Array.from({ length: 100 + rng.int(5000) }, () => rng.int(256)));
      await check(damagedCopy((wal) => appendFileSync(wal, garbage)), `garbage appended (${garbage.length} bytes)`);
    }
    await check(damagedCopy((wal) => rmSync(`${wal.slice(0, -4)}-shm`)), '-shm deleted');
    expect(tally.intact).toBeGreaterThanOrEqual(5);
  });

  it('counted at least 50 cases, most of them losses that were detected', () => {
    console.log(`WAL damage: ${JSON.stringify(tally)}`);
    expect(tally.detected + tally.intact).toBeGreaterThanOrEqual(50);
    expect(tally.detected).toBeGreaterThanOrEqual(40);
  });
});

describe('the commit record and the directory', () => {
  let counter = 0;
  async function smallIndex(): Promise<string> {
    const dir = join(scratch, `small-${++counter}`);
    await buildIndex(makeDocuments(new Rng(66), ids('d', 0, 30), 60), dir);
    return dir;
  }

  it('a writer that died between COMMIT and renaming its segment: readers load it, the next writer rolls it forward', async () => {
    const dir = await smallIndex();
    const writer = SpladexIndex.open(dir, { readonly: false });
    await writer.add(makeDocuments(new Rng(67), ids('e', 0, 10), 60));
    writer.close();
    const expected = observe(dir);
    renameSync(join(dir, 'seg-000002.spx'), join(dir, 'seg-000002.spx.tmp-99999-1700000000000'));
    expect(observe(dir)).toBe(expected);
    const report = verifyIndex(dir);
    expect(report.ok).toBe(true);
    expect(report.notes.join('\n')).toContain('still under its temporary name');
    const next = SpladexIndex.open(dir, { readonly: false });
    await next.delete(['no-such-id']);
    next.close();
    expect(existsSync(join(dir, 'seg-000002.spx'))).toBe(true);
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
    expect(observe(dir)).toBe(expected);
  });

  it('compaction lists the files it drops as obsolete; a writer that died before removing them leaves work the next one finishes', async () => {
    const dir = await smallIndex();
    const writer = SpladexIndex.open(dir, { readonly: false });
    await writer.add(makeDocuments(new Rng(68), ids('e', 0, 10), 60));
    const before = readFileSync(join(dir, 'seg-000001.spx'));
    await writer.compact();
    expect(writer.manifest.obsolete).toEqual(['seg-000001.spx', 'seg-000002.spx']);
    writer.close();
    expect(existsSync(join(dir, 'seg-000001.spx'))).toBe(false);
    // As if the writer had died after its commit, before the unlink.
    writeFileSync(join(dir, 'seg-000001.spx'), before);
    expect(verifyIndex(dir).notes.join('\n')).toContain('dropped by the last commit');
    const next = SpladexIndex.open(dir, { readonly: false });
    await next.delete(['no-such-id']);
    next.close();
    expect(existsSync(join(dir, 'seg-000001.spx'))).toBe(false);
  });

  it('an unnamed segment file that is not provable debris is damage in verify and is never removed', async () => {
    const dir = await smallIndex();
    const writer = SpladexIndex.open(dir, { readonly: false });
    await writer.add(makeDocuments(new Rng(69), ids('e', 0, 10), 60));
    const copy = readFileSync(join(dir, 'seg-000002.spx'));
    await writer.compact();
    // The next commit no longer lists the compaction's obsolete files (they are gone).
    await writer.delete(['d0']);
    expect(writer.manifest.obsolete).toBeUndefined();
    writer.close();
    // Numbered below nextSegment and listed nowhere: e.g. left by an older spladex after a compaction.
    const stray = join(dir, 'seg-000001.spx');
    writeFileSync(stray, copy);
    const report = verifyIndex(dir);
    expect(report.ok).toBe(false);
    expect(report.problem?.message).toContain('seg-000001.spx');
    expect(report.problem?.message).toContain('not part of the committed index');
    // Readers are not affected; writers leave the file alone.
    expect(observe(dir)).not.toContain('error');
    const next = SpladexIndex.open(dir, { readonly: false });
    await next.delete(['d1']);
    next.close();
    expect(readFileSync(stray)).toEqual(copy);
  });

  it('a missing or damaged commit record is E_CORRUPT, not a silent pass', async () => {
    const dir = await smallIndex();
    const record = readFileSync(join(dir, COMMIT_FILE));
    rmSync(join(dir, COMMIT_FILE));
    expect(observe(dir)).toBe('error E_CORRUPT');
    expect(verifyIndex(dir).problem?.message).toContain('spladex.commit is missing');
    const flipped = Buffer.from(record);
    flipped[12] ^= 1;
    writeFileSync(join(dir, COMMIT_FILE), flipped);
    expect(observe(dir)).toBe('error E_CORRUPT');
    expect(verifyIndex(dir).problem?.file).toBe(join(dir, COMMIT_FILE));
    writeFileSync(join(dir, COMMIT_FILE), record);
    expect(observe(dir)).not.toContain('error');
  });
});
