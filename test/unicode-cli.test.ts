/**
 * CLI contract for text UTF-8 cannot store (issue 10): JSON escapes such as "\ud800" decode to lone
 * UTF-16 surrogates even in a valid UTF-8 file. index, search (query files, filters) and delete
 * refuse them at input with E_INPUT_ENCODING and file:line, write nothing damaged, and
 * --skip-invalid skips them; valid surrogate pairs (emoji) round-trip.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, hasBuild, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-unicode-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: string[]): string => {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
};
/** The error line of the CLI for `code` naming `file:line`. */
const errorAt = (code: string, file: string, line: number): string => `spladex: error [${code}]: ${file}:${line}:`;
const GOOD = [
  '{"id": "a", "vector": {"t1": 1, "t2": 0.5}, "metadata": {"lang": "en"}}',
  '{"id": "e\\ud83d\\ude00", "vector": {"t1": 2, "t\\ud83d\\ude00": 1}, "content": "smile \\ud83d\\ude00", "metadata": {"lang": "\\ud83d\\ude00"}}',
];

describe.skipIf(!hasBuild)(`CLI and lone surrogates (${CLI})`, () => {
  it('the issue 10 reproduction exits 2 naming file:line and writes no index', () => {
    const path = write('ls.jsonl', ['{"id":"a\\ud800","vector":{"t1":1}}']);
    const out = join(dir, 'ls-idx');
    const result = runCli(['index', path, '--out', out]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(errorAt('E_INPUT_ENCODING', path, 1));
    expect(result.stderr).toContain('"a\\ud800"');
    expect(existsSync(out)).toBe(false);
  });

  const badLines: Array<[string, string]> = [
    ['a token', '{"id": "b", "vector": {"t\\udc00": 1}}'],
    ['the content', '{"id": "b", "vector": {"t1": 1}, "content": "x\\ud800"}'],
    ['a metadata key', '{"id": "b", "vector": {"t1": 1}, "metadata": {"k\\udbff": 1}}'],
    ['a nested metadata value', '{"id": "b", "vector": {"t1": 1}, "metadata": {"a": {"b": ["ok", "\\udc00"]}}}'],
  ];
  for (const [field, line] of badLines) {
    it(`${field} with a lone surrogate stops index with its line`, () => {
      const path = write(`bad-${field.replace(/ /g, '-')}.jsonl`, [GOOD[0], '', line]);
      const out = join(dir, `bad-${field.replace(/ /g, '-')}`);
      const result = runCli(['index', path, '--out', out]);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain(errorAt('E_INPUT_ENCODING', path, 3));
      expect(existsSync(out)).toBe(false);
    });
  }

  const skipIndex = join(dir, 'skip-idx');
  it('--skip-invalid skips and reports such lines; verify, filtered search and compact then succeed', () => {
    const path = write('mixed.jsonl', [GOOD[0], '{"id":"a\\ud800","vector":{"t1":1}}', badLines[3][1], GOOD[1]]);
    const result = runCli(['index', path, '--out', skipIndex, '--skip-invalid']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('skipped line 2');
    expect(result.stderr).toContain('skipped line 3');
    expect(result.stdout).toContain('2 skipped');
    const verify = runCli(['verify', skipIndex]);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    const filtered = runCli(['search', skipIndex, '{"t1": 1}', '--format', 'json', '--filter', 'lang="\\ud83d\\ude00"']);
    expect(filtered.status, filtered.stderr).toBe(0);
    expect(JSON.parse(filtered.stdout).hits.map((h: { id: string }) => h.id)).toEqual(['e\ud83d\ude00']);
    expect(runCli(['compact', skipIndex]).status).toBe(0);
    expect(runCli(['verify', skipIndex]).status).toBe(0);
  });

  it('a query file line with a lone surrogate exits 2 with its line', () => {
    for (const [name, line] of [
      ['id', '{"id": "q\\ud800", "vector": {"t1": 1}}'],
      ['token', '{"id": "q", "vector": {"\\udc00": 1}}'],
    ]) {
      const queries = write(`queries-${name}.jsonl`, ['{"id": "q0", "vector": {"t1": 1}}', line]);
      const result = runCli(['search', skipIndex, '--queries', queries, '--format', 'json']);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain(errorAt('E_INPUT_ENCODING', queries, 2));
    }
  });

  it('a filter with a lone surrogate exits 2', () => {
    for (const filter of ['lang="\\ud800"', '{"lang": {"in": ["\\udc00"]}}', '{"k\\ud800": 1}']) {
      const result = runCli(['search', skipIndex, '{"t1": 1}', '--filter', filter]);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toContain('spladex: error [E_INPUT_ENCODING]: filter');
    }
  });

  it('delete with such an id exits 2 naming its line and deletes nothing', () => {
    // A lone surrogate reaches a plain-text id file only as its CESU-8/WTF-8 bytes, which are not UTF-8.
    const ids = join(dir, 'ids.txt');
    writeFileSync(ids, Buffer.concat([Buffer.from('a\n'), Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x0a])]));
    const result = runCli(['delete', skipIndex, '--ids', ids]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(errorAt('E_INPUT_ENCODING', ids, 2));
    expect(JSON.parse(runCli(['info', skipIndex, '--json']).stdout)).toMatchObject({ documents: 2, deletedDocuments: 0 });
  });
});
