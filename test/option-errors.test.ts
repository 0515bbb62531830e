/**
 * Option errors speak the user's language, for every options table of every public entry (found
 * by looking, so a new table is covered without touching this file): on the command line the flag
 * as typed and the range in interval notation with open and closed ends (`--heap-factor must be in
 * (0, 1], got 0`), through the same commander options the CLI builds; in the library the option's
 * name with the same readable range.
 */
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { addTableOptions } from '../cli/table-options.js';
import { formatInterval, type FlagDescription, type OptionSpec, type OptionsTable } from '../src/util/options-table.js';

const ENTRIES = ['../src/index.js', '../src/encode/index.js', '../src/eval/index.js', '../src/bench/index.js', '../src/server/index.js'];

function isTable(value: unknown): value is OptionsTable<Record<string, unknown>> {
  return value !== null && typeof value === 'object' && 'specs' in value && 'flags' in value && typeof (value as { resolve?: unknown }).resolve === 'function';
}

async function publicTables(): Promise<Array<[string, OptionsTable<Record<string, unknown>>]>> {
  const found = new Map<OptionsTable<Record<string, unknown>>, string>();
  for (const entry of ENTRIES) {
    for (const [name, value] of Object.entries(await import(entry))) if (isTable(value) && !found.has(value)) found.set(value, name);
  }
  return [...found].map(([table, name]) => [name, table]);
}

/** Out-of-range values of a numeric option: just past each bound it has. */
function outOfRange(spec: OptionSpec<unknown>): number[] {
  const values: number[] = [];
  if (spec.min !== undefined && Number.isFinite(spec.min)) values.push(spec.minOpen ? spec.min : spec.min - 1);
  if (spec.max !== undefined && Number.isFinite(spec.max) && spec.max + 1 > spec.max) values.push(spec.maxOpen ? spec.max : spec.max + 1);
  return values;
}

/** Parses `args` with a command holding only `table`'s flags, as the CLI builds them; returns the error thrown. */
function parseError(table: OptionsTable<Record<string, unknown>>, args: string[]): Error | undefined {
  const command = new Command('try').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  addTableOptions(command, table);
  command.action(() => {});
  try {
    command.parse(args, { from: 'user' });
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

const text = (value: number): string => String(value);

describe('option errors name the flag and a readable range, for every options table', async () => {
  const tables = await publicTables();

  it('finds the tables of every public entry', () => {
    const names = tables.map(([name]) => name);
    for (const name of ['BUILD_OPTIONS', 'SEARCH_OPTIONS', 'WRITE_OPTIONS', 'ENCODER_OPTIONS', 'EVAL_OPTIONS', 'BENCH_OPTIONS', 'SYNTH_OPTIONS', 'SERVE_OPTIONS', 'SERVE_LIMITS']) expect(names).toContain(name);
  });

  for (const [name, table] of tables) {
    it(name, () => {
      let checked = 0;
      for (const key of table.keys) {
        const spec = table.specs[key] as OptionSpec<unknown>;
        if (spec.type !== 'integer' && spec.type !== 'number') continue;
        const range = spec.rangeText ?? formatInterval(spec);
        // Human bounds: no float noise such as 5e-324, no long digit strings such as 4294967296.
        if (spec.rangeText === undefined && (spec.min !== undefined || spec.max !== undefined)) {
          expect(range, `${name}.${key}`).toMatch(/^[([][^,]+, [^,]+[)\]]$/);
          expect(range, `${name}.${key}`).not.toMatch(/\d{8,}|e-\d|\d\.\d{7,}/);
        }
        const must = spec.type === 'integer' ? `must be an integer in ${range}` : `must be in ${range}`;
        const flag: FlagDescription | undefined = table.flags.find((f) => f.key === key);
        for (const bad of outOfRange(spec)) {
          const given = spec.list ? [bad] : bad;
          const shown = spec.list ? `[${bad}]` : text(bad);
          // The library keeps the option's name, with the same range.
          expect(() => table.resolve({ [key]: given }), `${name}.${key} = ${bad}`).toThrow(spec.list ? `${key} must be a list; each item ${must}, got ${shown}` : `${key} ${must}, got ${shown}`);
          if (flag === undefined) continue;
          // The command line names the flag as typed, through the parser the CLI gives commander.
          for (const typed of [flag.flag, ...flag.aliases]) {
            const error = parseError(table, [typed, text(bad)]);
            expect(error, `${typed} ${bad}`).toBeDefined();
            expect((error as { code?: string }).code, `${typed} ${bad}`).toBe('E_OPTION');
            expect(error!.message).toBe(spec.list ? `${typed} must be a list; each item ${must}, got ${shown}` : `${typed} ${must}, got ${shown}`);
            checked++;
          }
        }
        if (flag !== undefined) {
          // Text that is no number: commander's message, naming the flag.
          const error = parseError(table, [flag.flag, 'lots']);
          expect(error).toBeInstanceOf(CommanderError);
          expect(error!.message).toContain(`option '${flag.flag} <${flag.placeholder}>' argument 'lots' is invalid`);
        }
      }
      for (const f of table.flags) {
        const spec = table.specs[f.key] as OptionSpec<unknown>;
        if (spec.type !== 'enum') continue;
        const error = parseError(table, [f.flag, 'no-such-value']);
        expect(error!.message, f.flag).toContain(`'${f.flag} <${f.placeholder}>' argument 'no-such-value' is invalid. expected one of ${(spec.values ?? []).join(', ')}`);
        expect(() => table.resolve({ [f.key]: 'no-such-value' })).toThrow(`${f.key} must be one of ${(spec.values ?? []).join(', ')}, got "no-such-value"`);
        checked++;
      }
      // Every table with a bounded or enum flag was exercised.
      const hasBoundedFlag = table.flags.some((f) => {
        const spec = table.specs[f.key] as OptionSpec<unknown>;
        return spec.type === 'enum' || ((spec.type === 'integer' || spec.type === 'number') && outOfRange(spec).length > 0);
      });
      if (hasBoundedFlag) expect(checked).toBeGreaterThan(0);
    });
  }
});
