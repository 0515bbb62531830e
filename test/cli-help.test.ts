/**
 * Every CLI flag that comes from an option table shows the table's default and range in `--help`
 * (through the built CLI, as a user sees it), and old flag names still work.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_OPTIONS, SYNTH_OPTIONS } from '../src/bench/index.js';
import { ENCODER_OPTIONS } from '../src/encode/index.js';
import { EVAL_OPTIONS, LOAD_QUERIES_OPTIONS } from '../src/eval/index.js';
import { BUILD_OPTIONS, CIFF_EXPORT_OPTIONS, CIFF_IMPORT_OPTIONS, FUSION_OPTIONS, POSTING_PRUNING_OPTIONS, SEARCH_OPTIONS, WRITE_OPTIONS, type OptionsTable } from '../src/index.js';
import { formatInterval } from '../src/util/options-table.js';
import { OPENSEARCH_CONNECTION_OPTIONS, OPENSEARCH_EXPORT_OPTIONS } from '../src/opensearch/index.js';
import { CLI, hasBuild, runCli } from './helpers/cli.js';

/** The option entries of a command's help: flags (with placeholder) → description, whitespace collapsed. */
function helpEntries(command: string): Map<string, string> {
  // A subcommand is given as its words: 'export opensearch'.
  const result = runCli([...command.split(' '), '--help']);
  expect(result.status, result.stderr).toBe(0);
  const lines = result.stdout.split('\n');
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of lines.slice(lines.indexOf('Options:') + 1)) {
    if (line.trim() === '') break;
    const start = /^ {2}(-\S*(?: <[^>]+>| \[[^\]]+\])?)(?:\s{2,}(.*))?$/.exec(line);
    if (start !== null) {
      current = start[1];
      entries.set(current, start[2] ?? '');
    } else if (current !== undefined) entries.set(current, `${entries.get(current)} ${line.trim()}`.trim());
  }
  return entries;
}

const shown = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));

/** Checks the help of `command` for every flag of `table` (all but `omit`). */
function expectTableHelp<T>(command: string, entries: Map<string, string>, table: OptionsTable<T>, omit: readonly string[] = []): number {
  let checked = 0;
  for (const f of table.flags) {
    if (omit.includes(f.key)) continue;
    const term = f.placeholder === undefined ? f.flag : `${f.flag} <${f.placeholder}>`;
    const description = entries.get(term);
    expect(description, `${command} --help lists ${term}`).toBeDefined();
    const spec = table.specs[f.key as keyof T];
    const value = (table.defaults as Record<string, unknown>)[f.key];
    if (value !== undefined) {
      const at = description!.indexOf('(default: ');
      expect(at, `${command} ${f.flag}: (default: …)`).toBeGreaterThanOrEqual(0);
      expect(description!.slice(at), `${command} ${f.flag}: default ${shown(value)}`).toContain(shown(value));
    }
    if (spec.type === 'enum') expect(description, `${command} ${f.flag}: values`).toContain(`: ${(spec.values ?? []).join(' | ')}`);
    else if (spec.rangeText !== undefined) expect(description).toContain(`, in ${spec.rangeText}`);
    else if (spec.min !== undefined || spec.max !== undefined) expect(description, `${command} ${f.flag}: range`).toContain(`, in ${formatInterval(spec)}`);
    for (const alias of f.aliases) expect(description, `${command} ${f.flag}: old name`).toContain(`(formerly ${alias})`);
    // The default is the table's only: commander is not handed one to print again.
    expect(description).not.toMatch(/\(default: .*\(default: /);
    checked++;
  }
  return checked;
}

describe.skipIf(!hasBuild)(`--help shows each table flag's default and range (${CLI})`, () => {
  it('index: build, posting pruning and encoder flags', () => {
    const entries = helpEntries('index');
    expect(expectTableHelp('index', entries, BUILD_OPTIONS)).toBe(16);
    expect(expectTableHelp('index', entries, POSTING_PRUNING_OPTIONS)).toBe(3);
    // index has its own --threads (the build's) and prunes postings instead of encoder --top-k / --min-weight.
    expectTableHelp('index', entries, ENCODER_OPTIONS, ['threads', 'topK', 'minWeight']);
    expect(entries.get('--threads <n>')).toContain(`build threads, in [1, 64] (default: ${BUILD_OPTIONS.defaults.threads} = min(2, cores))`);
    expect(entries.get('--kind <kind>')).toContain('encoder kind: splade | inference-free | lexical (default: splade with --model, else lexical');
  });

  it('search, eval and bench: query-time flags (eval retrieves 1000 deep)', () => {
    const search = helpEntries('search');
    expect(expectTableHelp('search', search, SEARCH_OPTIONS)).toBe(5);
    // A calibrated index supplies its own setting; the table's default is the fallback.
    expect(search.get('--heap-factor <f>')).toContain("score, in (0, 1] (default: the index's calibrated setting, else 0.9)");
    expect(search.get('--query-mass <f>')).toContain("at most --query-cut of them (1 = exactly --query-cut), in (0, 1] (default: the index's calibrated setting, else 1)");
    expect(search.get('--graph-neighbors <n>')).toContain("in [0, 64] (default: the index's calibrated setting, else 8) (formerly --knn)");
    // eval's table adds --no-exact-figures to the search flags.
    expect(expectTableHelp('eval', helpEntries('eval'), EVAL_OPTIONS)).toBe(6);
    // Hybrid retrieval (--fuse): the fusion table on both.
    expect(expectTableHelp('search', search, FUSION_OPTIONS)).toBe(4);
    expect(expectTableHelp('eval', helpEntries('eval'), FUSION_OPTIONS)).toBe(4);
    expect(search.get('--fusion-depth <n>')).toContain('(default: max(--k, 100))');
    expect(helpEntries('eval').get('--k <n>')).toContain('retrieval depth per query, in [1, 100000] (default: 1000)');
    const bench = helpEntries('bench');
    expect(expectTableHelp('bench', bench, BENCH_OPTIONS)).toBe(12);
    expectTableHelp('bench', bench, LOAD_QUERIES_OPTIONS);
  });

  it('add and compact: write flags (and add: the encoder flags of --input text)', () => {
    const add = helpEntries('add');
    expect(expectTableHelp('add', add, WRITE_OPTIONS)).toBe(2);
    expect(add.get('--small-segment-docs <n>')).toContain('(default: 5000) (formerly --small-segment)');
    expect(expectTableHelp('add', add, ENCODER_OPTIONS, ENCODER_OPTIONS.keys.filter((k) => k !== 'model' && k !== 'batchSize'))).toBe(2);
    expect(expectTableHelp('compact', helpEntries('compact'), WRITE_OPTIONS)).toBe(2);
  });

  it('export-ciff and import-ciff: the CIFF tables (import also the build flags)', () => {
    expect(expectTableHelp('export-ciff', helpEntries('export-ciff'), CIFF_EXPORT_OPTIONS)).toBe(3);
    const imports = helpEntries('import-ciff');
    expect(expectTableHelp('import-ciff', imports, CIFF_IMPORT_OPTIONS)).toBe(2);
    expect(imports.get('--scale <s>')).toContain("(default: the header's impact-scale, else 1)");
    expect(expectTableHelp('import-ciff', imports, BUILD_OPTIONS)).toBe(16);
  });

  it('export opensearch: the export and connection tables; search, eval and bench: the connection table', () => {
    const entries = helpEntries('export opensearch');
    expect(expectTableHelp('export opensearch', entries, OPENSEARCH_EXPORT_OPTIONS)).toBe(6);
    expect(expectTableHelp('export opensearch', entries, OPENSEARCH_CONNECTION_OPTIONS)).toBe(11);
    for (const command of ['search', 'eval', 'bench']) {
      const help = helpEntries(command);
      expect(help.get('--engine <engine>'), `${command} --engine`).toContain('opensearch');
      expect(expectTableHelp(command, help, OPENSEARCH_CONNECTION_OPTIONS)).toBe(11);
    }
  });

  it('encode and synth', () => {
    expectTableHelp('encode', helpEntries('encode'), ENCODER_OPTIONS);
    expect(expectTableHelp('synth', helpEntries('synth'), SYNTH_OPTIONS)).toBe(10);
  });

  it('model: its subcommands, the Hub environment, and --model taking a Hub repo', () => {
    const model = runCli(['model', '--help']);
    expect(model.status, model.stderr).toBe(0);
    for (const text of ['pull [options] <repo>', 'list [options]', 'rm [options] <repo>', 'HF_ENDPOINT', 'HF_TOKEN', 'HF_HOME', 'HF_HUB_CACHE', 'HF_HUB_OFFLINE']) expect(model.stdout).toContain(text);
    const pull = runCli(['model', 'pull', '--help']);
    expect(pull.status, pull.stderr).toBe(0);
    expect(pull.stdout).toContain('org/name[@revision]');
    expect(helpEntries('index').get('--model <dir|repo>')).toContain('Hugging Face Hub model org/name[@revision]');
    // A missing subcommand is a usage error, not "damaged" (status 1).
    expect(runCli(['model']).status).toBe(2);
  });
});

describe.skipIf(!hasBuild)('option errors and old flag names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spladex-cli-help-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const documents = join(dir, 'documents.jsonl');
  writeFileSync(documents, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `d${i}`, vector: { a: 1 + i, [`t${i % 7}`]: 2 } })).join('\n') + '\n');
  const more = join(dir, 'more.jsonl');
  writeFileSync(more, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `m${i}`, vector: { b: 1 + i, [`t${i % 5}`]: 1 } })).join('\n') + '\n');
  const index = join(dir, 'index');

  it('names the flag as written and the range in interval notation', () => {
    expect(runCli(['index', documents, '--out', index, '--quiet']).status).toBe(0);
    for (const [args, message] of [
      [['search', index, '{"a": 1}', '--heap-factor', '2'], '--heap-factor must be in (0, 1], got 2'],
      [['search', index, '{"a": 1}', '--knn', '65'], '--knn must be an integer in [0, 64], got 65'],
      [['search', index, '{"a": 1}', '--knn', '2', '--graph-neighbors', '3'], '--knn is the old name of --graph-neighbors: give one of them'],
      [['index', documents, '--out', join(dir, 'never'), '--centroid-fraction', '0'], '--centroid-fraction must be in (0, 1], got 0'],
      [['compact', index, '--small-segment', '-1'], '--small-segment must be an integer in [0, 2^31], got -1'],
      [['bench', index, '--queries', documents, '--limit', '-1'], '--limit must be an integer in [0, 2^53-1], got -1'],
    ] as const) {
      const result = runCli([...args]);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(`spladex: error [E_OPTION]: ${message}\n`);
    }
  });

  it('accepts the old flags --knn (search) and --small-segment (add, compact)', () => {
    const knn = runCli(['search', index, '{"a": 1}', '--knn', '0', '--k', '3', '--format', 'json']);
    expect(knn.status, knn.stderr).toBe(0);
    expect(knn.stdout).toBe(runCli(['search', index, '{"a": 1}', '--graph-neighbors', '0', '--k', '3', '--format', 'json']).stdout);
    const added = runCli(['add', index, more, '--small-segment', '100', '--json']);
    expect(added.status, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout).segment.layout).toBe('flat');
    const compacted = runCli(['compact', index, '--small-segment-docs', '0', '--json']);
    expect(compacted.status, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout).segment.layout).toBe('blocked');
  });
});
