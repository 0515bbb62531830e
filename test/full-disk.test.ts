/**
 * A full disk is an I/O problem, never damage: every command facing ENOSPC (or another I/O
 * failure) exits 2 with `E_IO` naming the file, the cause and what to free, says the index is
 * unchanged — and it is. Tested for real on a small tmpfs (mounted when the tests run as root,
 * skipped with a message otherwise) and with injected failures (any user).
 */
import fs, { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyIndex } from '../src/reader/verify.js';
import { buildIndex, SpladexIndex } from '../src/spladex-index.js';
import { Rng } from '../src/util/rng.js';
import { hasBuild, runCli } from './helpers/cli.js';
import { makeDocuments } from './helpers/index-model.js';
import { fill, mountSmallTmpfs } from './helpers/full-disk.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-full-disk-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const jsonl = (path: string, n: number, prefix: string, seed: number): string => {
  writeFileSync(path, makeDocuments(new Rng(seed), ids(prefix, n), 400).map((d) => JSON.stringify(d)).join('\n') + '\n');
  return path;
};

/** The one-line error contract for an I/O failure. */
function expectIoError(result: { status: number; stderr: string }, label: string): void {
  expect(result.status, `${label}: ${result.stderr}`).toBe(2);
  expect(result.stderr, label).toMatch(/^spladex: error \[E_IO\]: /);
  expect(result.stderr, label).toContain('ENOSPC');
  expect(result.stderr, label).toMatch(/unchanged|nothing was written/);
  expect(result.stderr, label).not.toContain('E_CORRUPT');
  expect(result.stderr, label).not.toContain('    at ');
}

const mountPoint = join(scratch, 'mnt');
const mounted = hasBuild && mountSmallTmpfs(mountPoint, '6m');
if (!mounted) console.log('full-disk tests on a real tmpfs skipped: they need root (to mount a 6 MiB tmpfs) and a built CLI');

describe.skipIf(!mounted)('on a real, full file system (6 MiB tmpfs)', () => {
  const corpus = jsonl(join(scratch, 'docs.jsonl'), 300, 'd', 1);
  const more = jsonl(join(scratch, 'more.jsonl'), 6000, 'e', 2);
  const index = join(mountPoint, 'idx');
  const query = JSON.stringify({ tok1: 1, tok2: 0.5, tok3: 0.7 });

  it('reads, verifies and writes fail with E_IO; the index is unchanged and works once space is freed', () => {
    const built = runCli(['index', corpus, '--out', index, '--quiet']);
    expect(built.status, built.stderr).toBe(0);
    const before = runCli(['search', index, query, '--format', 'json']);
    expect(before.status, before.stderr).toBe(0);
    const filler = fill(mountPoint);

    // With 0 bytes free SQLite cannot even size its shared-memory file to read.
    for (const args of [['search', index, query], ['verify', index], ['info', index], ['add', index, corpus], ['delete', index, '--ids', 'd1'], ['compact', index]]) {
      expectIoError(runCli(args), args[0]);
    }
    expectIoError(runCli(['index', corpus, '--out', join(mountPoint, 'other'), '--quiet']), 'index');
    expect(existsSync(join(mountPoint, 'other'))).toBe(false);

    // Room for the database, not for a new segment: the segment write itself fails.
    rmSync(filler);
    writeFileSync(filler, Buffer.alloc(Math.max(0, fs.statfsSync(mountPoint).bavail * fs.statfsSync(mountPoint).bsize - (1 << 20))));
    const added = runCli(['add', index, more, '--quiet']);
    expectIoError(added, 'add (segment write)');
    expect(added.stderr).toMatch(/seg-000002\.spx|spladex\.db/);
    expect(added.stderr).toMatch(/bytes free/);
    // No temporary segment and no half-written lock staging file stays behind.
    expect(readdirSync(index).filter((f) => f.includes('.tmp-') || f.startsWith('spladex.lock'))).toEqual([]);

    rmSync(filler);
    expect(runCli(['verify', index]).status).toBe(0);
    expect(runCli(['search', index, query, '--format', 'json']).stdout).toBe(before.stdout);
    expect(runCli(['add', index, more, '--quiet']).status).toBe(0);
  });
});

describe('injected I/O failures (any user)', () => {
  type FsPatch = Partial<Record<'openSync' | 'writeSync' | 'readSync', (...args: unknown[]) => unknown>>;
  /** Replaces fs functions for the duration of `fn`; named imports follow through syncBuiltinESMExports. */
  async function patchFs(make: (original: Required<FsPatch>) => FsPatch, fn: () => Promise<void> | void): Promise<void> {
    const table = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = { openSync: table.openSync, writeSync: table.writeSync, readSync: table.readSync };
    Object.assign(table, make(original));
    syncBuiltinESMExports();
    try {
      await fn();
    } finally {
      Object.assign(table, original);
      syncBuiltinESMExports();
    }
  }
  const failure = (code: string, syscall: string): Error => Object.assign(new Error(`${code}: injected failure, ${syscall}`), { code, syscall });
  const isSegment = (path: unknown): boolean => typeof path === 'string' && /seg-\d+\.spx/.test(path);
  const documents = (prefix: string, n: number) => makeDocuments(new Rng(3), ids(prefix, n), 200);

  it('ENOSPC while a segment is written: E_IO naming the file, index unchanged, no file left', async () => {
    const dir = join(scratch, 'inject-add');
    await buildIndex(documents('d', 100), dir);
    const durable = (): string[] => readdirSync(dir).filter((f) => !/-(wal|shm)$/.test(f)).sort();
    const before = durable();
    const writer = SpladexIndex.open(dir, { readonly: false });
    const segmentFds = new Set<number>();
    await patchFs(
      (original) => ({
        openSync: (...args) => {
          const fd = original.openSync(...args) as number;
          if (isSegment(args[0]) && args[1] === 'w') segmentFds.add(fd);
          return fd;
        },
        writeSync: (...args) => {
          if (segmentFds.has(args[0] as number)) throw failure('ENOSPC', 'write');
          return original.writeSync(...args);
        },
      }),
      async () => {
        const error = await writer.add(documents('e', 50)).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'E_IO' });
        expect(String((error as Error).message)).toMatch(/seg-000002\.spx.*ENOSPC.*free space.*the index is unchanged/s);
      },
    );
    expect(writer.manifest.generation).toBe(1);
    writer.close();
    expect(durable()).toEqual(before);
    expect(verifyIndex(dir).ok).toBe(true);
  });

  it('EIO and EACCES while reading a segment are E_IO, not E_CORRUPT; verify throws instead of reporting damage', async () => {
    const dir = join(scratch, 'inject-read');
    await buildIndex(documents('d', 60), dir);
    const segmentFds = new Set<number>();
    for (const code of ['EIO', 'EACCES']) {
      await patchFs(
        (original) => ({
          openSync: (...args) => {
            if (code === 'EACCES' && isSegment(args[0])) throw failure(code, 'open');
            const fd = original.openSync(...args) as number;
            if (isSegment(args[0])) segmentFds.add(fd);
            return fd;
          },
          readSync: (...args) => {
            if (code === 'EIO' && segmentFds.has(args[0] as number)) throw failure(code, 'read');
            return original.readSync(...args);
          },
        }),
        () => {
          let error: unknown;
          try {
            SpladexIndex.open(dir).close();
          } catch (e) {
            error = e;
          }
          expect(error, code).toMatchObject({ code: 'E_IO', message: expect.stringContaining(code) });
          expect(() => verifyIndex(dir), code).toThrow(expect.objectContaining({ code: 'E_IO' }));
        },
      );
    }
    expect(verifyIndex(dir).ok).toBe(true);
  });
});
