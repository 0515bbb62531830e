/**
 * The reproduction through the CLI: commits left in spladex.db-wal by a reader's snapshot,
 * the WAL lost in a copy of the index. The copy must not open at the older commit: search and a
 * no-op delete fail with E_CORRUPT (exit 2), verify reports damage (exit 1), nothing is deleted.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpladexIndex } from '../src/spladex-index.js';
import { Rng } from '../src/util/rng.js';
import { CLI, hasBuild, runCli } from './helpers/cli.js';
import { makeDocuments } from './helpers/index-model.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-wal-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, prefix: string, n: number, seed: number): string => {
  const path = join(dir, name);
  writeFileSync(path, makeDocuments(new Rng(seed), Array.from({ length: n }, (_, i) => `${prefix}${i}`)).map((d) => JSON.stringify(d)).join('\n') + '\n');
  return path;
};

describe.skipIf(!hasBuild)(`a lost WAL through the CLI (${CLI})`, () => {
  it('is reported, never served or tidied away', () => {
    const index = join(dir, 'index');
    expect(runCli(['index', write('a.jsonl', 'a', 200, 1), '--out', index, '--quiet']).status).toBe(0);
    const reader = SpladexIndex.open(index);
    try {
      expect(runCli(['add', index, write('b.jsonl', 'b', 50, 2), '--quiet']).status).toBe(0);
      expect(runCli(['delete', index, '--ids', 'a1,a2']).status).toBe(0);
      const copy = join(dir, 'copy');
      cpSync(index, copy, { recursive: true });
      expect(readdirSync(copy)).toContain('spladex.db-wal');
      rmSync(join(copy, 'spladex.db-wal'));
      const files = readdirSync(copy).sort();
      expect(files).toContain('seg-000002.spx');

      const search = runCli(['search', copy, '{"tok1": 1}']);
      expect(search.status).toBe(2);
      // The add and the delete (a small index searched exactly is not recalibrated).
      expect(search.stderr).toMatch(/E_CORRUPT.*2 committed writes are missing/);
      const verify = runCli(['verify', copy]);
      expect(verify.status).toBe(1);
      expect(verify.stdout).toMatch(/^damaged: .*spladex\.db.*E_CORRUPT/);
      const noop = runCli(['delete', copy, '--ids', 'no-such-id']);
      expect(noop.status).toBe(2);
      expect(noop.stderr).toContain('E_CORRUPT');
      expect(readdirSync(copy).filter((f) => !/-(wal|shm)$/.test(f)).sort()).toEqual(files.filter((f) => !/-(wal|shm)$/.test(f)));
    } finally {
      reader.close();
    }
  });
});
