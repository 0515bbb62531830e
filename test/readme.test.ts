/**
 * The README stays true: its TypeScript snippets type-check against the library as it is (an
 * import that is missing, a name declared twice, an option or method that was renamed fail
 * here), and the defaults its option tables print are the options tables' defaults, which the
 * library and `--help` use.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { ENCODER_OPTIONS } from '../src/encode/encoder-options.js';
import { SEARCH_OPTIONS } from '../src/query/options.js';
import { CALIBRATED_SEARCH_OPTIONS, FILTER_SEARCH_OPTIONS } from '../src/reader/types.js';
import { BUILD_OPTIONS } from '../src/segment/options.js';
import { POSTING_PRUNING_OPTIONS } from '../src/segment/posting-pruning.js';
import type { FlagDescription } from '../src/util/options-table.js';
import { WRITE_OPTIONS } from '../src/writer/options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'spladex-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The fenced blocks of one language, with the line each starts on. */
function fencedBlocks(markdown: string, language: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```' + language) continue;
    const start = i + 1;
    while (++i < lines.length && lines[i].trim() !== '```');
    blocks.push({ line: start + 1, code: lines.slice(start, i).join('\n') });
  }
  return blocks;
}

/**
 * What the snippets use without defining, because a reader's program would have it: query
 * vectors and the request of a web framework. Everything else must be imported or declared in
 * the snippet itself.
 */
const CONTEXT = `
import type { SparseVectorInput } from 'spladex';
declare const query: SparseVectorInput;
declare const queries: SparseVectorInput[];
declare const request: { signal: AbortSignal };
`;

describe("README's TypeScript snippets", () => {
  const snippets = fencedBlocks(README, 'ts');

  it('exist (so that the check below checks something)', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(2);
  });

  it('type-check against the library (strict, each snippet a module of its own)', () => {
    const files = snippets.map(({ line, code }) => {
      const file = join(scratch, `readme-line-${line}.mts`);
      // The context goes last so that the snippet's line numbers stay the README's, offset by its start.
      writeFileSync(file, `${code}\n${CONTEXT}`);
      return { file, line };
    });
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.es2024.string.d.ts', 'lib.dom.d.ts'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
      // `spladex` and `spladex/<entry>` are the package's public entries, as package.json exports them.
      paths: { spladex: [join(ROOT, 'src/index.ts')], 'spladex/*': [join(ROOT, 'src/*/index.ts')] },
    };
    // A control: a snippet that is wrong must be reported, or a green run here would mean nothing.
    const control = join(scratch, 'control.mts');
    writeFileSync(control, `import { SpladexIndex } from 'spladex';\nconst index = SpladexIndex.open('x');\nconst index = index.serach({ a: 1 });\n`);
    const program = ts.createProgram([...files.map((f) => f.file), control], options);
    const controlProblems = ts.getPreEmitDiagnostics(program, program.getSourceFile(control)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(controlProblems.join('\n')).toMatch(/Cannot redeclare block-scoped variable 'index'/);
    expect(controlProblems.join('\n')).toMatch(/Property 'serach' does not exist/);
    const problems = files.flatMap(({ file, line }) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
        const at = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
        return `README.md:${line + at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
    expect(problems).toEqual([]);
  });
});

/** One row of a README options table: its flags and what the default column says. */
interface DefaultRow {
  section: string;
  flags: string[];
  defaults: string;
}

/** The rows of every table with a `default` column, under the `###` section they sit in. */
function defaultRows(markdown: string): DefaultRow[] {
  const rows: DefaultRow[] = [];
  let section = '';
  let defaultColumn = -1;
  let flagColumn = -1;
  const cells = (line: string): string[] => line.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => c.replace(/\u0000/g, '|').trim());
  for (const line of markdown.split('\n')) {
    if (line.startsWith('### ') || line.startsWith('## ')) section = line.replace(/^#+ /, '');
    if (!line.startsWith('|')) {
      defaultColumn = -1;
      continue;
    }
    const row = cells(line);
    if (defaultColumn === -1) {
      // A header row.
      defaultColumn = row.indexOf('default');
      flagColumn = row.findIndex((c) => c.startsWith('flag'));
      if (defaultColumn === -1 || flagColumn === -1) defaultColumn = -2;
      continue;
    }
    if (defaultColumn < 0 || /^-+$/.test(row[0])) continue;
    const flags = [...row[flagColumn].matchAll(/`(--[a-z0-9-]+)/g)].map((m) => m[1]);
    if (flags.length > 0) rows.push({ section, flags, defaults: row[defaultColumn] });
  }
  return rows;
}

/** What this test reads of an options table, whatever its option types. */
interface Table {
  readonly flags: readonly FlagDescription[];
  readonly specs: object;
  readonly defaults: object;
}

/** The options tables behind each README section's flags. */
const INDEX_TABLES: Table[] = [BUILD_OPTIONS, POSTING_PRUNING_OPTIONS, ENCODER_OPTIONS, CALIBRATED_SEARCH_OPTIONS];
const SECTION_TABLES: Record<string, Table[]> = {
  'The recall target: calibrated on your collection': INDEX_TABLES,
  'Text in, text out': INDEX_TABLES,
  'Index-time pruning under a FLOPS budget': INDEX_TABLES,
  Search: [SEARCH_OPTIONS, CALIBRATED_SEARCH_OPTIONS, FILTER_SEARCH_OPTIONS],
  'Update an index': [WRITE_OPTIONS],
};

/** The default as the README writes it: the table's formula when it has one, else the value. */
function expectedDefault(table: Table, key: string): string | undefined {
  const spec = (table.specs as Record<string, { defaultText?: string }>)[key];
  const value = (table.defaults as Record<string, unknown>)[key];
  if (value === undefined) return undefined;
  if (spec.defaultText !== undefined && /\(/.test(spec.defaultText)) return spec.defaultText.replace(/\s+/g, ' ');
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Words of a default cell: `0 (calibrated)` → 0, calibrated; `min(2, cores)` stays whole when asked for. */
function mentions(cell: string, expected: string): boolean {
  const text = cell.replace(/`/g, '');
  if (/[(,\s]/.test(expected)) return text.includes(expected);
  return text.split(/[\s,;:()]+/).includes(expected);
}

describe("README's option tables", () => {
  const rows = defaultRows(README);

  it("print the options tables' defaults", () => {
    const checked: string[] = [];
    const wrong: string[] = [];
    for (const row of rows) {
      const tables = SECTION_TABLES[row.section];
      if (tables === undefined) continue;
      // `--k1`, `--b`, … | 0.9, 0.4, …: one default per flag, in order.
      const parts = row.flags.length > 1 ? row.defaults.split(/,\s*/) : [row.defaults];
      row.flags.forEach((flag, i) => {
        const cell = parts.length === row.flags.length ? parts[i] : row.defaults;
        for (const table of tables) {
          const description = table.flags.find((f) => f.flag === flag);
          if (description === undefined) continue;
          const expected = expectedDefault(table, description.key);
          if (expected === undefined) continue;
          checked.push(flag);
          if (!mentions(cell, expected)) wrong.push(`${row.section}: ${flag} says "${row.defaults}", the table's default is ${expected}`);
          break;
        }
      });
    }
    expect(wrong).toEqual([]);
    // The tables above hold dozens of flags with defaults; fewer means the parsing broke.
    expect(checked.length).toBeGreaterThan(30);
    expect(checked).toEqual(expect.arrayContaining(['--threads', '--target-recall', '--heap-factor', '--k', '--flops-budget', '--small-segment-docs']));
  });
});
