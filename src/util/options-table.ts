/**
 * Declarative option tables. A group of options (build, search, write, encoder, …) is one table
 * with one entry per option: its default, type, range, allowed values, CLI flag and help line.
 * Everything else is derived from the table — the frozen defaults constant, `resolve` (fill the
 * defaults, validate with `E_OPTION`), the flag descriptions the CLI turns into commander options,
 * and the help text with the default and the range — so a default or a range is written once, and
 * the library, the CLI and its help cannot drift apart.
 *
 * Generic on purpose: nothing here knows a group or commander (cli/table-options.ts turns flag
 * descriptions into commander options).
 */
import { SpladexError } from '../errors.js';

export type OptionType = 'integer' | 'number' | 'boolean' | 'string' | 'enum';

/** Bounds of a numeric option; each bound is closed unless marked open: (0, 1] is `{ min: 0, minOpen: true, max: 1 }`. */
export interface OptionBounds {
  readonly min?: number;
  readonly minOpen?: boolean;
  readonly max?: number;
  readonly maxOpen?: boolean;
}

/** One option of a table. `V` is the option's value type. */
export interface OptionSpec<V> extends OptionBounds {
  readonly type: OptionType;
  /** The value is a list of `type` values (comma-separated on the command line). */
  readonly list?: boolean;
  /**
   * The default, or a function computing it from the environment (e.g. the number of cores),
   * called once when the table is made, so the defaults constant stays fixed for the process.
   * Omitted: the option has no default and stays undefined.
   */
  readonly default?: V | (() => V);
  /**
   * How help tells the default when the value alone would mislead: the formula of a computed
   * default (`min(2, cores)`, shown with its value here) or a default that depends on other input
   * (`spladex.json's, else 512`). It must mention the default value when there is one.
   */
  readonly defaultText?: string;
  /** The range as help shows it, when a bound is only known later (`[8, vocabulary size]`); checks use the numbers. */
  readonly rangeText?: string;
  /** Allowed values of an enum. */
  readonly values?: readonly string[];
  /** A further rule: returns what is wrong ("must be a string without whitespace"), or undefined. */
  readonly check?: (value: V) => string | undefined;
  /** CLI flag without the dashes. Default: the name in kebab-case (`heapFactor` → `heap-factor`); `false`: no flag. */
  readonly flag?: string | false;
  /** Earlier flags still accepted for this option (without dashes), e.g. `knn` for `graph-neighbors`. */
  readonly flagAliases?: readonly string[];
  /** The flag's value placeholder, without brackets. Default by type: `n` (integer), `x` (number), `list`, `value`. */
  readonly placeholder?: string;
  /** One line of help, without the default or the range (they are rendered from the table). */
  readonly help: string;
}

export type OptionSpecs<T> = { readonly [K in keyof T]-?: OptionSpec<NonNullable<T[K]>> };

/** A flag of a table option, as the CLI needs it. */
export interface FlagDescription {
  /** The option's name in the table. */
  readonly key: string;
  /** `--heap-factor`. */
  readonly flag: string;
  /** Older spellings accepted too, e.g. `--knn`. */
  readonly aliases: readonly string[];
  /** Value placeholder (`n`); undefined for a switch (boolean). */
  readonly placeholder: string | undefined;
  /** A switch whose default is true is given as `--no-<flag>`. */
  readonly negate: boolean;
  /** Turns the text after the flag into a value of the option's type (no range check). */
  parse(text: string): { value: unknown } | { error: string };
  /** Throws `E_OPTION` naming `flag` (as the user wrote it) when `value` breaks the option's range or rules. */
  check(value: unknown, flag: string): void;
}

export interface OptionsTable<T> {
  readonly specs: OptionSpecs<T>;
  readonly keys: ReadonlyArray<keyof T & string>;
  /** Deprecated option names still accepted, old → current; kept for one release after a rename. */
  readonly renamed: Readonly<Record<string, keyof T & string>>;
  /** The frozen defaults (options without a default are absent; renamed options are non-enumerable aliases). */
  readonly defaults: Readonly<T>;
  /** Options with defaults filled in (undefined keeps the default) and every value checked; keys not in the table are ignored. */
  resolve(options?: Partial<T>): T;
  /** Checks one value, with `bounds` replacing the table's when a bound is only known at run time; `as` names it in the error. */
  check(key: keyof T & string, value: unknown, options?: { bounds?: OptionBounds; as?: string }): void;
  /** Flags of the options that have one, in table order. */
  readonly flags: readonly FlagDescription[];
  /** Help of an option's flag: its line (or `help`), then range or allowed values, default and old flags, from the table. */
  describe(key: keyof T & string, override?: { help?: string; defaultText?: string }): string;
}

/** `heapFactor` → `heap-factor`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A bound as people write it: 2^31, 2^32-1 and 1e6 rather than their digits. */
export function formatBound(n: number): string {
  if (n === Infinity) return '∞';
  if (n === -Infinity) return '-∞';
  if (!Number.isInteger(n) || n < 1e6) return String(n);
  // Compared exactly: log2 of 2^53 − 1 rounds to 53.
  const power = (m: number): number | undefined => (2 ** Math.round(Math.log2(m)) === m ? Math.round(Math.log2(m)) : undefined);
  if (power(n) !== undefined) return `2^${power(n)}`;
  if (power(n + 1) !== undefined) return `2^${power(n + 1)}-1`;
  const exponent = Math.round(Math.log10(n));
  return 10 ** exponent === n ? `1e${exponent}` : String(n);
}

/** `[1, 2^31]`, `(0, 1]`, `[0, ∞)`. */
export function formatInterval(b: OptionBounds): string {
  const min = b.min ?? -Infinity;
  const max = b.max ?? Infinity;
  return `${b.minOpen || min === -Infinity ? '(' : '['}${formatBound(min)}, ${formatBound(max)}${b.maxOpen || max === Infinity ? ')' : ']'}`;
}

/** A value in an error (strings quoted, lists in brackets) or in help (as it is typed after the flag: `3,5,10`). */
function formatValue(value: unknown, quote: boolean): string {
  if (typeof value === 'string') return quote ? JSON.stringify(value) : value;
  if (Array.isArray(value)) return quote ? `[${value.map((v) => formatValue(v, true)).join(', ')}]` : value.join(',');
  return String(value);
}

function hasBounds(b: OptionBounds): boolean {
  return b.min !== undefined || b.max !== undefined;
}

/** What is wrong with one (non-list) value, as "must be …", or undefined. `rangeText` names the range when the table gives one. */
function scalarProblem(spec: OptionSpec<unknown>, value: unknown, b: OptionBounds, rangeText: string | undefined): string | undefined {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const integer = spec.type === 'integer';
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!integer || Number.isInteger(value)) &&
        !(b.min !== undefined && (b.minOpen ? value <= b.min : value < b.min)) &&
        !(b.max !== undefined && (b.maxOpen ? value >= b.max : value > b.max));
      if (ok) return undefined;
      const interval = rangeText !== undefined ? `in ${rangeText}` : hasBounds(b) ? `in ${formatInterval(b)}` : '';
      return integer ? `must be an integer${interval === '' ? '' : ` ${interval}`}` : `must be ${interval === '' ? 'a finite number' : interval}`;
    }
    case 'enum':
      return (spec.values ?? []).includes(value as string) ? undefined : `must be one of ${(spec.values ?? []).join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
  }
}

/**
 * Throws `E_OPTION` "<name> must be …, got <value>" when `value` breaks the spec; `bounds` are the
 * spec's own unless a caller knows tighter ones at run time (then the spec's `rangeText` no longer applies).
 */
function checkSpec(spec: OptionSpec<unknown>, value: unknown, name: string, bounds: OptionBounds = spec): void {
  const rangeText = bounds === spec ? spec.rangeText : undefined;
  let problem: string | undefined;
  if (spec.list) {
    if (!Array.isArray(value)) problem = 'must be a list';
    else for (const item of value) if ((problem = scalarProblem(spec, item, bounds, rangeText)) !== undefined) break;
    if (problem !== undefined && problem !== 'must be a list') problem = `must be a list; each item ${problem}`;
  } else problem = scalarProblem(spec, value, bounds, rangeText);
  problem ??= spec.check?.(value);
  if (problem !== undefined) throw new SpladexError('E_OPTION', `${name} ${problem}, got ${formatValue(value, true)}`);
}

/** Parses the text given after a flag into the option's type; range checks come after. */
function parseText(spec: OptionSpec<unknown>, text: string): { value: unknown } | { error: string } {
  const one = (part: string): { value: unknown } | { error: string } => {
    if (spec.type === 'integer' || spec.type === 'number') {
      const n = Number(part);
      if (part.trim() === '' || !Number.isFinite(n)) return { error: `expected a number, got "${part}"` };
      if (spec.type === 'integer' && !Number.isInteger(n)) return { error: `expected an integer, got "${part}"` };
      return { value: n };
    }
    if (spec.type === 'enum' && !(spec.values ?? []).includes(part)) return { error: `expected one of ${(spec.values ?? []).join(', ')}` };
    return { value: part };
  };
  if (!spec.list) return one(text);
  const values: unknown[] = [];
  for (const part of text.split(',')) {
    const parsed = one(part.trim());
    if ('error' in parsed) return { error: `expected a comma-separated list: ${parsed.error}` };
    values.push(parsed.value);
  }
  return { value: values };
}

/**
 * Makes a table. `renamed` lists deprecated names (old → current) that `resolve` still accepts,
 * and that the defaults constant answers as non-enumerable properties (so spreading the defaults
 * never passes both names).
 */
export function defineOptions<T>(specs: OptionSpecs<T>, settings: { renamed?: Readonly<Record<string, keyof T & string>> } = {}): OptionsTable<T> {
  const keys = Object.keys(specs) as Array<keyof T & string>;
  const renamed = Object.freeze({ ...(settings.renamed ?? {}) });
  const spec = (key: string): OptionSpec<unknown> => (specs as Record<string, OptionSpec<unknown>>)[key];

  const defaults: Record<string, unknown> = {};
  for (const key of keys) {
    const d = spec(key).default;
    if (d === undefined) continue;
    const value = typeof d === 'function' ? (d as () => unknown)() : d;
    defaults[key] = Array.isArray(value) ? Object.freeze(value) : value;
  }
  for (const [old, current] of Object.entries(renamed)) {
    if (current in defaults) Object.defineProperty(defaults, old, { value: defaults[current], enumerable: false });
  }
  Object.freeze(defaults);

  // Commander's style, which the CLI's other flags keep: the range or the values after the help
  // line, then "(default: …)".
  const describe = (key: string, override: { help?: string; defaultText?: string } = {}): string => {
    const s = spec(key);
    let text = override.help ?? s.help;
    if (s.type === 'enum') text += `: ${(s.values ?? []).join(' | ')}`;
    else if (s.rangeText !== undefined) text += `, in ${s.rangeText}`;
    else if (hasBounds(s)) text += `, in ${formatInterval(s)}`;
    const value = defaults[key];
    const defaultText = override.defaultText ?? s.defaultText;
    if (defaultText !== undefined) text += ` (default: ${typeof s.default === 'function' && override.defaultText === undefined ? `${formatValue(value, false)} = ${defaultText}` : defaultText})`;
    else if (value !== undefined) text += ` (default: ${formatValue(value, false)})`;
    const aliases = s.flag === false ? [] : (s.flagAliases ?? []);
    if (aliases.length > 0) text += ` (formerly ${aliases.map((a) => `--${a}`).join(', ')})`;
    return text;
  };

  const flags: FlagDescription[] = [];
  for (const key of keys) {
    const s = spec(key);
    if (s.flag === false) continue;
    const negate = s.type === 'boolean' && !s.list && defaults[key] === true;
    const name = s.flag ?? kebabCase(key);
    flags.push({
      key,
      flag: `--${negate ? `no-${name}` : name}`,
      aliases: (s.flagAliases ?? []).map((a) => `--${negate ? `no-${a}` : a}`),
      placeholder: s.type === 'boolean' && !s.list ? undefined : (s.placeholder ?? (s.list ? 'list' : s.type === 'integer' ? 'n' : s.type === 'number' ? 'x' : 'value')),
      negate,
      parse: (text) => parseText(s, text),
      check: (value, flag) => checkSpec(s, value, flag),
    });
  }

  return {
    specs,
    keys,
    renamed,
    defaults: defaults as Readonly<T>,
    flags,
    describe,
    check(key, value, options = {}) {
      checkSpec(spec(key), value, options.as ?? key, options.bounds === undefined ? spec(key) : { ...spec(key), ...options.bounds });
    },
    resolve(options = {}) {
      const given = options as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        let value = given[key];
        let name: string = key;
        for (const [old, current] of Object.entries(renamed)) {
          if (current !== key || given[old] === undefined) continue;
          if (value !== undefined && value !== given[old]) {
            throw new SpladexError('E_OPTION', `${old} is the old name of ${key}: give one of them (got ${old} ${formatValue(given[old], true)} and ${key} ${formatValue(value, true)})`);
          }
          value = given[old];
          name = old;
        }
        if (value === undefined) {
          if (key in defaults) out[key] = defaults[key];
          continue;
        }
        checkSpec(spec(key), value, name);
        out[key] = value;
      }
      return out as T;
    },
  };
}
