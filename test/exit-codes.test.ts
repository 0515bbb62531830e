/** The exit-status contract of cli/exit-codes.ts, one case per class, through the built CLI. */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, exitStatusHelp, exitStatusMarkdown } from '../cli/exit-codes.js';
import { CLI, hasBuild, runCli } from './helpers/cli.js';
import { randomCorpus } from './helpers/random-corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-exit-codes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const corpus = randomCorpus({ docs: 300, queries: 1, vocabulary: 200, seed: 7 });
const documents = join(dir, 'documents.jsonl');
writeFileSync(documents, corpus.documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
const index = join(dir, 'index');
const query = JSON.stringify(corpus.queries[0]);

/** Exactly the two lines of a parser error: the message, then where to look. */
function expectParserError(args: string[], message: string, helpOf: string): void {
  const result = runCli(args);
  expect(result.status, args.join(' ')).toBe(EXIT.usage);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n');
  expect(lines, result.stderr).toHaveLength(3); // two lines and the final newline
  expect(lines[0]).toMatch(/^spladex: error \[E_OPTION\]: /);
  expect(lines[0]).toContain(message);
  expect(lines[1]).toBe(`(see "${helpOf} --help")`);
  expect(result.stderr).not.toContain('Usage:');
}

describe.skipIf(!hasBuild)(`exit status (${CLI})`, () => {
  beforeAll(() => {
    const built = runCli(['index', documents, '--out', index, '--quiet']);
    expect(built.status, built.stderr).toBe(EXIT.ok);
  });

  it('0 on success', () => {
    const searched = runCli(['search', index, query, '--k', '3', '--format', 'json']);
    expect(searched.status, searched.stderr).toBe(EXIT.ok);
    expect(JSON.parse(searched.stdout).hits).toHaveLength(3);
    expect(runCli(['verify', index]).status).toBe(EXIT.ok);
  });

  it('1 only when verify finds damage', () => {
    const damaged = join(dir, 'damaged');
    expect(runCli(['index', documents, '--out', damaged, '--quiet']).status).toBe(EXIT.ok);
    const segment = join(damaged, 'seg-000001.spx');
    const bytes = readFileSync(segment);
    bytes[bytes.length - 100] ^= 4;
    writeFileSync(segment, bytes);
    const verified = runCli(['verify', damaged]);
    expect(verified.status).toBe(EXIT.damaged);
    expect(verified.stdout).toContain('damaged: ');
    // Using the damaged index is a typed error, not "damaged".
    const searched = runCli(['search', damaged, query]);
    expect(searched.status).toBe(EXIT.usage);
    expect(searched.stderr).toContain('[E_CORRUPT]');
  });

  it("2 with one line and a pointer to the help for commander's own parse errors", () => {
    expectParserError(['search', index, query, '--kk', '3'], "unknown option '--kk'", 'spladex search');
    expectParserError(['search', index, query, '--formt', 'json'], "unknown option '--formt' (Did you mean --format?)", 'spladex search');
    expectParserError(['search'], "missing required argument 'dir'", 'spladex search');
    expectParserError(['index', documents], "required option '--out <dir>' not specified", 'spladex index');
    expectParserError(['search', index, query, '--k'], "option '--k <n>' argument missing", 'spladex search');
    expectParserError(['search', index, query, '--format', 'xml'], "argument 'xml' is invalid. expected one of json, trec, table", 'spladex search');
    expectParserError(['search', index, query, '--k', 'many'], 'option \'--k <n>\' argument \'many\' is invalid. expected a number, got "many"', 'spladex search');
    expectParserError(['serch', index], "unknown command 'serch' (Did you mean search?)", 'spladex');
    expectParserError(['verify', index, 'extra'], "too many arguments for 'verify'", 'spladex verify');
  });

  it('2 for typed input errors, in the same one-line format', () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(corpus.documents[0])}\nnot json\n`);
    const result = runCli(['index', bad, '--out', join(dir, 'bad-index'), '--quiet']);
    expect(result.status).toBe(EXIT.usage);
    const lines = result.stderr.split('\n');
    expect(lines, result.stderr).toHaveLength(2); // one line and the final newline
    expect(lines[0].startsWith(`spladex: error [E_INPUT_JSON]: ${bad}:2: `), lines[0]).toBe(true);
  });

  it('2 when no command is given, with the command list', () => {
    const result = runCli([]);
    expect(result.status).toBe(EXIT.usage);
    expect(result.stderr).toContain('Usage: spladex');
  });

  it('2 (E_IO) when the output cannot be written', () => {
    if (!existsSync('/dev/full')) return;
    const full = openSync('/dev/full', 'w');
    try {
      const result = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', stdio: ['ignore', full, 'pipe'] });
      expect(result.status).toBe(EXIT.usage);
      expect(result.stderr).toMatch(/^spladex: error \[E_IO\]: cannot write the output/);
    } finally {
      closeSync(full);
    }
  });

  it('3 with a stack trace for an internal error (a bug)', () => {
    // No command has a known bug to trigger, so call the CLI's reporter as an action would.
    const util = pathToFileURL(join(CLI, '..', 'util.js')).href;
    const script = `import { reportError } from ${JSON.stringify(util)}; reportError(new TypeError('boom'));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status).toBe(EXIT.internal);
    expect(result.stderr).toMatch(/^spladex: internal error \(please report it\): TypeError: boom\n\s+at /);
  });

  it('0 for --help and --version, and the help ends with the exit-status table', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(EXIT.ok);
    expect(help.stdout.trimEnd().endsWith(exitStatusHelp())).toBe(true);
    for (const args of [['search', '--help'], ['help', 'search'], ['help']]) {
      const result = runCli(args);
      expect(result.status, args.join(' ')).toBe(EXIT.ok);
      expect(result.stdout).toContain('Usage: spladex');
    }
    const version = runCli(['--version']);
    expect(version.status).toBe(EXIT.ok);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });
});

describe('exit-status documentation', () => {
  it('README carries the table of cli/exit-codes.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`### Exit status`);
    expect(readme).toContain(exitStatusMarkdown());
  });

  it('pins the documented numbers, which scripts depend on', () => {
    expect(EXIT).toEqual({ ok: 0, damaged: 1, usage: 2, internal: 3 });
  });
});
