import { describe, expect, it } from 'vitest';
import { isSpladexError } from '../errors.js';
import { BUILD_OPTIONS } from '../segment/options.js';
import { defineOptions, formatBound, formatInterval, kebabCase } from './options-table.js';

interface Demo {
  count: number;
  ratio: number;
  mode: 'fast' | 'slow';
  verbose: boolean;
  check: boolean;
  label: string;
  path?: string;
  cores: number;
  values: readonly number[];
  hidden: number;
}

let calls = 0;
const DEMO = defineOptions<Demo>(
  {
    count: { type: 'integer', min: 1, max: 2 ** 31, default: 10, flagAliases: ['n'], help: 'how many' },
    ratio: { type: 'number', min: 0, minOpen: true, max: 1, default: 0.5, placeholder: 'f', help: 'a share (0 = none)' },
    mode: { type: 'enum', values: ['fast', 'slow'], default: 'fast', placeholder: 'mode', help: 'speed' },
    verbose: { type: 'boolean', default: false, help: 'talk more' },
    check: { type: 'boolean', default: true, help: 'check things' },
    label: { type: 'string', default: 'x', check: (v) => (v.includes(' ') ? 'must not contain spaces' : undefined), flag: 'name', help: 'a label' },
    path: { type: 'string', placeholder: 'file', defaultText: 'next to the input', help: 'where' },
    cores: { type: 'integer', min: 1, default: () => ++calls + 3, defaultText: 'the machine', help: 'threads' },
    values: { type: 'number', list: true, default: [1, 2], help: 'values' },
    hidden: { type: 'integer', min: 0, max: 9, rangeText: '[0, the count]', default: 0, flag: false, help: 'not on the command line' },
  },
  { renamed: { amount: 'count' } },
);

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isSpladexError(error, 'E_OPTION'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('option tables: defaults', () => {
  it('derives a frozen defaults object, evaluating computed defaults once', () => {
    expect(DEMO.defaults).toEqual({ count: 10, ratio: 0.5, mode: 'fast', verbose: false, check: true, label: 'x', cores: 4, values: [1, 2], hidden: 0 });
    expect(Object.isFrozen(DEMO.defaults)).toBe(true);
    expect(Object.isFrozen(DEMO.defaults.values)).toBe(true);
    expect('path' in DEMO.defaults).toBe(false);
    DEMO.resolve({});
    DEMO.resolve({ count: 3 });
    expect(calls).toBe(1);
  });

  it('answers a renamed option through a non-enumerable alias, so spreading the defaults passes one name', () => {
    expect((DEMO.defaults as unknown as { amount: number }).amount).toBe(10);
    expect(Object.keys(DEMO.defaults)).not.toContain('amount');
    expect(DEMO.resolve({ ...DEMO.defaults, count: 3 }).count).toBe(3);
  });

  it('keeps the public defaults constants as they were', () => {
    expect(BUILD_OPTIONS.defaults).toMatchObject({ pruning: 'global-threshold', nPostings: 400, centroidFraction: 0.07, knn: 8, seed: 42 });
    expect(BUILD_OPTIONS.keys).toEqual(['pruning', 'nPostings', 'maxFraction', 'keepFraction', 'targetRecall', 'calibrationSample', 'blocking', 'centroidFraction', 'kmeansDocCut', 'blockSize', 'summaryEnergy', 'maxSummaryTerms', 'forwardValues', 'knn', 'seed', 'threads']);
  });
});

describe('option tables: resolve', () => {
  it('fills defaults, keeps given values, treats undefined as not given and drops keys outside the table', () => {
    const r = DEMO.resolve({ count: 3, ratio: undefined, path: 'p', ...({ other: 1 } as object) });
    expect(r).toEqual({ ...DEMO.defaults, count: 3, path: 'p' });
    expect('other' in r).toBe(false);
    expect(DEMO.resolve()).toEqual(DEMO.defaults);
  });

  it('takes a renamed option under its old name, names it as given, and refuses both names with different values', () => {
    expect(DEMO.resolve({ amount: 7 } as Partial<Demo>).count).toBe(7);
    expect(DEMO.resolve({ amount: 7, count: 7 } as Partial<Demo>).count).toBe(7);
    expect(message(() => DEMO.resolve({ amount: 0 } as Partial<Demo>))).toBe('amount must be an integer in [1, 2^31], got 0');
    expect(message(() => DEMO.resolve({ amount: 1, count: 2 } as Partial<Demo>))).toBe('amount is the old name of count: give one of them (got amount 1 and count 2)');
  });

  it('checks every type and range with E_OPTION, naming the option and the range in interval notation', () => {
    const bad = (options: object): string => message(() => DEMO.resolve(options as Partial<Demo>));
    expect(bad({ count: 0 })).toBe('count must be an integer in [1, 2^31], got 0');
    expect(bad({ count: 1.5 })).toBe('count must be an integer in [1, 2^31], got 1.5');
    expect(bad({ count: '3' })).toBe('count must be an integer in [1, 2^31], got "3"');
    expect(bad({ ratio: 0 })).toBe('ratio must be in (0, 1], got 0');
    expect(bad({ ratio: Number.NaN })).toBe('ratio must be in (0, 1], got NaN');
    expect(bad({ ratio: Infinity })).toBe('ratio must be in (0, 1], got Infinity');
    expect(DEMO.resolve({ ratio: Number.MIN_VALUE }).ratio).toBe(Number.MIN_VALUE);
    expect(DEMO.resolve({ ratio: 1 }).ratio).toBe(1);
    expect(bad({ cores: 0 })).toBe('cores must be an integer in [1, ∞), got 0');
    expect(bad({ mode: 'medium' })).toBe('mode must be one of fast, slow, got "medium"');
    expect(bad({ verbose: 1 })).toBe('verbose must be true or false, got 1');
    expect(bad({ label: 3 })).toBe('label must be a string, got 3');
    expect(bad({ label: 'a b' })).toBe('label must not contain spaces, got "a b"');
    expect(bad({ values: 3 })).toBe('values must be a list, got 3');
    expect(bad({ values: [1, 'x'] })).toBe('values must be a list; each item must be a finite number, got [1, "x"]');
    expect(bad({ hidden: 10 })).toBe('hidden must be an integer in [0, the count], got 10');
  });

  it('checks one value against bounds known at run time', () => {
    expect(() => DEMO.check('hidden', 5, { bounds: { max: 5 } })).not.toThrow();
    expect(message(() => DEMO.check('hidden', 6, { bounds: { max: 5 } }))).toBe('hidden must be an integer in [0, 5], got 6');
    expect(message(() => DEMO.check('count', 0, { as: '--count' }))).toBe('--count must be an integer in [1, 2^31], got 0');
  });
});

describe('option tables: flags', () => {
  const flag = (key: string) => DEMO.flags.find((f) => f.key === key)!;

  it('derives flags from names (camelCase → --kebab-case), with overrides, aliases, placeholders and negated switches', () => {
    expect(kebabCase('maxSummaryTerms')).toBe('max-summary-terms');
    expect(DEMO.flags.map((f) => [f.key, f.flag, f.aliases, f.placeholder, f.negate])).toEqual([
      ['count', '--count', ['--n'], 'n', false],
      ['ratio', '--ratio', [], 'f', false],
      ['mode', '--mode', [], 'mode', false],
      ['verbose', '--verbose', [], undefined, false],
      ['check', '--no-check', [], undefined, true],
      ['label', '--name', [], 'value', false],
      ['path', '--path', [], 'file', false],
      ['cores', '--cores', [], 'n', false],
      ['values', '--values', [], 'list', false],
    ]);
    expect(BUILD_OPTIONS.flags.map((f) => f.flag)).toContain('--n-postings');
  });

  it('parses flag text by type, leaving ranges to check', () => {
    expect(flag('count').parse('12')).toEqual({ value: 12 });
    expect(flag('count').parse('0')).toEqual({ value: 0 });
    expect(flag('count').parse('1.5')).toEqual({ error: 'expected an integer, got "1.5"' });
    expect(flag('count').parse('many')).toEqual({ error: 'expected a number, got "many"' });
    expect(flag('count').parse(' ')).toEqual({ error: 'expected a number, got " "' });
    expect(flag('ratio').parse('0.25')).toEqual({ value: 0.25 });
    expect(flag('mode').parse('slow')).toEqual({ value: 'slow' });
    expect(flag('mode').parse('medium')).toEqual({ error: 'expected one of fast, slow' });
    expect(flag('label').parse('a b')).toEqual({ value: 'a b' });
    expect(flag('values').parse('1, 2.5,3')).toEqual({ value: [1, 2.5, 3] });
    expect(flag('values').parse('1,,3')).toEqual({ error: 'expected a comma-separated list: expected a number, got ""' });
  });

  it('checks a parsed value naming the flag as written', () => {
    expect(message(() => flag('count').check(0, '--n'))).toBe('--n must be an integer in [1, 2^31], got 0');
    expect(message(() => flag('ratio').check(2, '--ratio'))).toBe('--ratio must be in (0, 1], got 2');
    expect(message(() => flag('label').check('a b', '--name'))).toBe('--name must not contain spaces, got "a b"');
    expect(() => flag('ratio').check(1, '--ratio')).not.toThrow();
  });
});

describe('option tables: help', () => {
  it('renders range or values, default and old flags after the help line, in commander\'s style', () => {
    expect(DEMO.describe('count')).toBe('how many, in [1, 2^31] (default: 10) (formerly --n)');
    expect(DEMO.describe('ratio')).toBe('a share (0 = none), in (0, 1] (default: 0.5)');
    expect(DEMO.describe('mode')).toBe('speed: fast | slow (default: fast)');
    expect(DEMO.describe('verbose')).toBe('talk more (default: false)');
    expect(DEMO.describe('path')).toBe('where (default: next to the input)');
    expect(DEMO.describe('cores')).toBe('threads, in [1, ∞) (default: 4 = the machine)');
    expect(DEMO.describe('values')).toBe('values (default: 1,2)');
    expect(DEMO.describe('hidden')).toBe('not on the command line, in [0, the count] (default: 0)');
    expect(DEMO.describe('mode', { help: 'how fast', defaultText: 'fast here' })).toBe('how fast: fast | slow (default: fast here)');
  });

  it('writes bounds as people do', () => {
    expect([0, 0.07, 65535, 100_000, 999_999, 1e6, 1e9, 2 ** 20, 2 ** 31, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, 1_500_000].map(formatBound)).toEqual([
      '0',
      '0.07',
      '65535',
      '100000',
      '999999',
      '1e6',
      '1e9',
      '2^20',
      '2^31',
      '2^32-1',
      '2^53-1',
      '1500000',
    ]);
    expect(formatInterval({ min: 0, minOpen: true, max: 1 })).toBe('(0, 1]');
    expect(formatInterval({ min: 0, max: 1, maxOpen: true })).toBe('[0, 1)');
    expect(formatInterval({ max: 3 })).toBe('(-∞, 3]');
  });
});
