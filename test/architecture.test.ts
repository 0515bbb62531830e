/**
 * The architecture rules of ARCHITECTURE.md as a test: layers, storage never reaching into the
 * query side, no import cycles, the CLI and scripts using only public entries, no dead exports,
 * no oversized source files. Each rule is one `it` whose failure lists every violation
 * (file → import), so a failure says what to fix.
 *
 * How imports are read: every `.ts` file of src/, cli/, scripts/ and test/ is read once. A small
 * lexer (`maskSource`) removes comments and replaces string, template and regular-expression
 * literals, so text that only looks like an import is never one; regular expressions then read
 * the import and export statements of the remaining code (`parseModule`). The TypeScript parser
 * would do the same in ~1.5 s instead of ~0.1 s; it is kept as the reference
 * (`parseModuleWithTypeScript`), and an opt-in test (`SPLADEX_ARCH_CROSSCHECK=1`) checks that both
 * agree on every file of the project. Collected:
 *
 * - `import … from '…'`, `import '…'`, `import x = require('…')`, including `import type {…}` and
 *   `import { type X }` (type-only imports count for every rule: a type dependency is a dependency);
 * - `export … from '…'` and `export * from '…'` (a re-export is an import and a use);
 * - `import('…')` with a literal argument (dynamic): counts for layering, the storage rule and the
 *   entry rules, and as a use of everything in the target; NOT for cycles, since a dynamic import is
 *   lazy (evaluated after both modules have loaded), which is exactly how a real cycle is broken;
 * - `import('…')` in type positions (`typeof import('./x.js')`, `import('./x.js').T`): type-only,
 *   counted like `import type`, cycles included.
 *
 * Not collected: worker entry points referenced by path (`new URL('./x-worker.js', import.meta.url)`,
 * `compiledWorker(…)`): they are separate programs, not imports. Imports of packages (any
 * specifier not starting with `.` or `/`) are ignored. Specifiers resolve NodeNext style:
 * `./x.js` → `./x.ts`, `./dir/index.js` → `./dir/index.ts` (also `.mjs` → `.mts`, `.cjs` → `.cts`).
 *
 * Test files (`*.test.ts`, and everything under test/) are users, never subjects: they may import
 * any module, are not layered, are not part of the cycle graph, and their exports are not checked;
 * their imports do count as uses of other modules' exports.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED_DIRS = ['src', 'cli', 'scripts', 'test'] as const;
const MAX_LINES = 600;

// ---------------------------------------------------------------------------------------------
// The target layout.
// ---------------------------------------------------------------------------------------------

/**
 * Public entries, as repository paths. Entries may import anything, and their exports are the
 * package's API (never "unused"). The list is the floor; entries that package.json "exports" maps
 * to (`./dist/src/X.js` or `./dist/src/X.d.ts` → `src/X.ts`) are added to it. (Today package.json
 * exports only "." → src/index.ts, so the list is what names the other entries.)
 */
const ENTRY_LIST = ['src/index.ts', 'src/encode/index.ts', 'src/eval/index.ts', 'src/bench/index.ts', 'src/testing/index.ts'] as const;

function entriesFromPackageJson(pkg: { exports?: unknown }): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      const m = /^\.\/dist\/(src\/.+?)(?:\.js|\.d\.ts)$/.exec(value);
      if (m !== null) out.push(`${m[1]}.ts`);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(pkg.exports);
  return out;
}

const PUBLIC_ENTRIES: ReadonlySet<string> = new Set([
  ...ENTRY_LIST,
  ...entriesFromPackageJson(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports?: unknown }),
]);

/** Layers, lowest first: a module may import only modules of its own or a lower layer. */
const LAYERS: ReadonlyArray<{ name: string; match: (f: string) => boolean }> = [
  { name: 'util, errors, types', match: (f) => under(f, 'src/util') || f === 'src/errors.ts' || f === 'src/types.ts' },
  { name: 'io', match: (f) => under(f, 'src/io') },
  { name: 'encode', match: (f) => under(f, 'src/encode') },
  { name: 'segment', match: (f) => under(f, 'src/segment') },
  { name: 'store', match: (f) => under(f, 'src/store') },
  { name: 'query', match: (f) => under(f, 'src/query') },
  { name: 'text', match: (f) => under(f, 'src/text') },
  { name: 'reader', match: (f) => under(f, 'src/reader') },
  { name: 'writer', match: (f) => under(f, 'src/writer') },
  { name: 'pool', match: (f) => under(f, 'src/pool') },
  { name: 'façade', match: (f) => f === 'src/spladex-index.ts' },
  {
    name: 'eval, bench, testing, fusion, ciff, opensearch',
    match: (f) => ['src/eval', 'src/bench', 'src/testing', 'src/fusion', 'src/ciff', 'src/opensearch'].some((dir) => under(f, dir)),
  },
  { name: 'server', match: (f) => under(f, 'src/server') },
];
const ENTRY_LAYER = LAYERS.length; // 13

function under(file: string, dir: string): boolean {
  return file.startsWith(`${dir}/`);
}

/** The layer of a src/ module (entries first: src/encode/index.ts is an entry, not encode), or undefined. */
function layerOf(file: string): number | undefined {
  if (PUBLIC_ENTRIES.has(file)) return ENTRY_LAYER;
  const i = LAYERS.findIndex((l) => l.match(file));
  return i < 0 ? undefined : i;
}
const layerName = (layer: number): string => (layer === ENTRY_LAYER ? `${layer} public entry` : `${layer} ${LAYERS[layer].name}`);

const isTest = (f: string): boolean => f.endsWith('.test.ts') || under(f, 'test');
const isGenerated = (f: string): boolean => f.endsWith('.generated.ts');
const isStorage = (f: string): boolean => under(f, 'src/segment') || under(f, 'src/store');

// ---------------------------------------------------------------------------------------------
// Parsing.
// ---------------------------------------------------------------------------------------------

type ImportKind = 'static' | 'export' | 'dynamic' | 'type-position';

interface ImportRef {
  specifier: string;
  kind: ImportKind;
  /** Erased at run time: `import type`, all-`type` specifiers, `export type … from`, type positions. */
  typeOnly: boolean;
  /** Names used from the target ("default" for a default import), or '*' for all of them. */
  names: string[] | '*';
  line: number;
}

interface ParsedModule {
  imports: ImportRef[];
  /** Names this module exports by name (declarations, `export {…}`, named re-exports; not `export *`). */
  exports: string[];
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'await', 'yield', 'extends']);

/**
 * The code of a source text with its comments removed and every string literal (and every
 * template literal without substitutions) replaced by `"<n>"`, n indexing `strings`; template
 * literals with substitutions keep their `${…}` code. Every newline is kept, so line numbers hold.
 * After this, import and export statements can be matched by regular expressions without being
 * fooled by strings, comments, templates or regular-expression literals.
 */
function maskSource(text: string): { code: string; strings: string[] } {
  const strings: string[] = [];
  const out: string[] = [];
  const substitutions: number[] = []; // brace depth at each open `${`
  const n = text.length;
  let depth = 0;
  let prev = ''; // last significant token: a word, a punctuator, or 'value' (literal)
  let i = 0;
  let flushed = 0;
  const newlines = (from: number, to: number): string => {
    let s = '';
    for (let j = from; j < to; j++) if (text.charCodeAt(j) === 10) s += '\n';
    return s;
  };
  const replace = (end: number, replacement: string): void => {
    out.push(text.slice(flushed, i), replacement);
    i = end;
    flushed = end;
  };
  /** From just after '`' or the '}' ending a substitution: reads to the closing '`' or the next '${'. */
  const template = (): { value: string; end: number; closed: boolean } => {
    let value = '';
    let j = i;
    while (j < n) {
      const c = text[j];
      if (c === '\\') {
        value += text[j + 1] ?? '';
        j += 2;
      } else if (c === '`') return { value, end: j + 1, closed: true };
      else if (c === '$' && text[j + 1] === '{') return { value, end: j + 2, closed: false };
      else {
        value += c;
        j++;
      }
    }
    return { value, end: n, closed: true };
  };
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      replace(end < 0 ? n : end, '');
    } else if (c === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      replace(end, ` ${newlines(i, end)}`);
    } else if (c === '"' || c === "'") {
      let value = '';
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== '\n') {
        if (text[j] === '\\') {
          value += text[j + 1] ?? '';
          j += 2;
        } else value += text[j++];
      }
      const end = Math.min(n, j + 1);
      replace(end, `"${strings.push(value) - 1}"${newlines(i, end)}`);
      prev = 'value';
    } else if (c === '`') {
      const start = i;
      i++;
      const part = template();
      i = start;
      if (part.closed) {
        replace(part.end, `"${strings.push(part.value) - 1}"${newlines(start, part.end)}`);
        prev = 'value';
      } else {
        replace(part.end, `\`${newlines(start, part.end)}\${`);
        substitutions.push(depth);
        prev = '{';
      }
    } else if (c === '}' && substitutions.length > 0 && substitutions[substitutions.length - 1] === depth) {
      const start = i;
      i++;
      const part = template();
      i = start;
      if (part.closed) {
        substitutions.pop();
        replace(part.end, `}${newlines(start, part.end)}\``);
        prev = 'value';
      } else {
        replace(part.end, `}${newlines(start, part.end)}\${`);
        prev = '{';
      }
    } else if (c === '/') {
      const regex = prev === '' || (/^[\w$]/.test(prev) ? REGEX_AFTER.has(prev) : prev !== 'value' && prev !== ')' && prev !== ']' && prev !== '}');
      if (regex) {
        let j = i + 1;
        let inClass = false;
        while (j < n && text[j] !== '\n') {
          const d = text[j];
          if (d === '\\') j++;
          else if (d === '[') inClass = true;
          else if (d === ']') inClass = false;
          else if (d === '/' && !inClass) break;
          j++;
        }
        j++;
        while (j < n && /[a-z]/.test(text[j])) j++;
        replace(j, '0');
        prev = 'value';
      } else {
        prev = '/';
        i++;
      }
    } else if (/[\w$]/.test(c) || c.charCodeAt(0) > 127) {
      let j = i + 1;
      while (j < n && (/[\w$]/.test(text[j]) || text.charCodeAt(j) > 127)) j++;
      prev = text.slice(i, j);
      i = j;
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      if (c !== ' ' && c !== '\n' && c !== '\t' && c !== '\r') prev = c;
      i++;
    }
  }
  out.push(text.slice(flushed));
  return { code: out.join(''), strings };
}

/** Index of the bracket closing the one at `open` (code is masked: no strings or comments). */
function closingBracket(code: string, open: number): number {
  let depth = 0;
  for (let j = open; j < code.length; j++) {
    const c = code[j];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && --depth === 0) return j;
  }
  return code.length - 1;
}

/** Splits at commas outside brackets. */
function splitTopLevel(s: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let j = 0; j < s.length; j++) {
    const c = s[j];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === separator && depth === 0) {
      parts.push(s.slice(from, j));
      from = j + 1;
    }
  }
  parts.push(s.slice(from));
  return parts;
}

/** Names bound by an identifier or a destructuring pattern (`{ a, b: [c], ...d }`). */
function bindingNames(binding: string, out: string[]): void {
  const b = binding.trim().replace(/^\.\.\./, '').trim();
  if (b.startsWith('{') || b.startsWith('[')) {
    const object = b.startsWith('{');
    for (const raw of splitTopLevel(b.slice(1, closingBracket(b, 0)))) {
      let element = splitTopLevel(raw, '=')[0].trim();
      if (element === '') continue;
      if (object && !element.startsWith('...')) {
        const colon = splitTopLevel(element, ':');
        element = colon.length > 1 ? colon.slice(1).join(':') : colon[0];
      }
      bindingNames(element, out);
    }
  } else {
    const m = /^[\w$]+/.exec(b);
    if (m !== null) out.push(m[0]);
  }
}

/** Scans from `pos` to the first of `stops` outside brackets (or a statement starting at column 0); returns its index. */
function skipTo(code: string, pos: number, stops: string, angles: boolean): number {
  let depth = 0;
  for (let j = pos; j < code.length; j++) {
    const c = code[j];
    if (c === '=' && code[j + 1] === '>') {
      j++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{' || (angles && c === '<')) depth++;
    else if (c === ')' || c === ']' || c === '}' || (angles && c === '>')) {
      if (--depth < 0) return j;
    } else if (depth === 0 && stops.includes(c)) return j;
    else if (depth === 0 && c === '\n' && j + 1 < code.length && /[^\s)\]}]/.test(code[j + 1])) return j;
  }
  return code.length;
}

/** Names declared by `const|let|var` declarators starting at `pos`: `a = 1, { b } = o`. */
function declaratorNames(code: string, pos: number, out: string[]): void {
  for (;;) {
    while (/\s/.test(code[pos] ?? '')) pos++;
    let end: number;
    if (code[pos] === '{' || code[pos] === '[') end = closingBracket(code, pos) + 1;
    else {
      const m = /[\w$]+/y;
      m.lastIndex = pos;
      const found = m.exec(code);
      if (found === null) return;
      end = pos + found[0].length;
    }
    bindingNames(code.slice(pos, end), out);
    pos = end;
    while (/[\s!]/.test(code[pos] ?? '')) pos++;
    if (code[pos] === ':') pos = skipTo(code, pos + 1, '=,;', true);
    if (code[pos] === '=') pos = skipTo(code, pos + 1, ',;', false);
    if (code[pos] !== ',') return;
    pos++;
  }
}

/** `{ a, type b as c }` → [original, exported/local alias, type-only] per specifier. */
function specifiers(list: string): Array<{ name: string; alias: string; typeOnly: boolean }> {
  const out: Array<{ name: string; alias: string; typeOnly: boolean }> = [];
  for (const raw of list.split(',')) {
    const m = /^\s*(type\s+(?!as\s*$)(?=[\w$"]))?([\w$]+|"\d+")(?:\s+as\s+([\w$]+|"\d+"))?\s*$/.exec(raw);
    if (m !== null) out.push({ name: m[2], alias: m[3] ?? m[2], typeOnly: m[1] !== undefined });
  }
  return out;
}

const IMPORT_DECLARATION = /(?<![\w$.])import(?:\s*"(\d+)"|(?=[\s{*])\s*(type\s+(?!from\b))?((?:[^;"()=]|"\d+")*?)\s*\bfrom\s*"(\d+)")/g;
const IMPORT_REQUIRE = /(?<![\w$.])(export\s+)?import\s+(type\s+)?([\w$]+)\s*=\s*require\s*\(\s*"(\d+)"\s*\)/g;
const EXPORT_LIST = /(?<![\w$.])export\s+(type\s+)?(?:\*(?:\s*as\s+([\w$]+))?|\{([^}]*)\})\s*(?:from\s*"(\d+)")?/g;
const EXPORT_DECLARATION =
  /(?<![\w$.])export\s+(?:declare\s+)?(?:(default)\b|(?:abstract\s+)?class\s+([\w$]+)|(?:async\s+)?function\b\s*\*?\s*([\w$]+)|interface\s+([\w$]+)|type\s+([\w$]+)\s*[=<]|(?:const\s+)?enum\s+([\w$]+)|(?:namespace|module)\s+([\w$]+)|(const|let|var)\s)/g;
const IMPORT_CALL = /(?<![\w$.])import\s*\(\s*"(\d+)"\s*([,)])/g;

function parseModule(_fileName: string, text: string): ParsedModule {
  const { code, strings } = maskSource(text);
  const lineStarts = [0];
  for (let j = code.indexOf('\n'); j >= 0; j = code.indexOf('\n', j + 1)) lineStarts.push(j + 1);
  const lineOf = (index: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const str = (k: string): string => strings[Number(k)];
  const name = (s: string): string => (s.startsWith('"') ? str(s.slice(1, -1)) : s);
  const imports: Array<ImportRef & { at: number }> = [];
  const exports: Array<{ name: string; at: number }> = [];
  const ref = (at: number, specifier: string, kind: ImportKind, typeOnly: boolean, names: string[] | '*'): void => {
    imports.push({ specifier, kind, typeOnly, names, line: lineOf(at), at });
  };

  for (const m of code.matchAll(IMPORT_DECLARATION)) {
    if (m[1] !== undefined) {
      ref(m.index, str(m[1]), 'static', false, []); // import "s"
      continue;
    }
    const clause = m[3].trim();
    const specifier = str(m[4]);
    const typeClause = m[2] !== undefined;
    const brace = clause.indexOf('{');
    const head = (brace < 0 ? clause : clause.slice(0, brace)).replace(/,\s*$/, '').trim();
    if (clause.includes('*')) {
      ref(m.index, specifier, 'static', typeClause, '*');
      continue;
    }
    const list = brace < 0 ? [] : specifiers(clause.slice(brace + 1, clause.lastIndexOf('}')));
    const names = [...(head === '' ? [] : ['default']), ...list.map((s) => name(s.name))];
    ref(m.index, specifier, 'static', typeClause || (head === '' && list.length > 0 && list.every((s) => s.typeOnly)), names);
  }
  for (const m of code.matchAll(IMPORT_REQUIRE)) {
    ref(m.index, str(m[4]), 'static', m[2] !== undefined, '*');
    if (m[1] !== undefined) exports.push({ name: m[3], at: m.index });
  }
  for (const m of code.matchAll(EXPORT_LIST)) {
    const [, type, namespace, list, from] = m;
    const specifier = from === undefined ? undefined : str(from);
    if (list === undefined) {
      // export * from "s" | export * as ns from "s"
      if (specifier === undefined) continue;
      if (namespace !== undefined) exports.push({ name: namespace, at: m.index });
      ref(m.index, specifier, 'export', type !== undefined, '*');
      continue;
    }
    const items = specifiers(list);
    for (const s of items) exports.push({ name: name(s.alias), at: m.index });
    if (specifier !== undefined) ref(m.index, specifier, 'export', type !== undefined || (items.length > 0 && items.every((s) => s.typeOnly)), items.map((s) => name(s.name)));
  }
  for (const m of code.matchAll(EXPORT_DECLARATION)) {
    const declared = m[2] ?? m[3] ?? m[4] ?? m[5] ?? m[6] ?? m[7];
    if (m[1] !== undefined) exports.push({ name: 'default', at: m.index });
    else if (declared !== undefined) exports.push({ name: declared, at: m.index });
    else if (m[8] !== undefined) {
      const names: string[] = [];
      declaratorNames(code, m.index + m[0].length, names);
      for (const n of names) exports.push({ name: n, at: m.index });
    }
  }
  for (const m of code.matchAll(IMPORT_CALL)) {
    const before = code.slice(Math.max(0, m.index - 16), m.index);
    const after = m[2] === ')' ? /^\s*\.\s*([\w$]+)/.exec(code.slice(m.index + m[0].length, m.index + m[0].length + 80)) : null;
    if (/\btypeof\s*$/.test(before)) ref(m.index, str(m[1]), 'type-position', true, '*');
    else if (after !== null && !['then', 'catch', 'finally'].includes(after[1])) ref(m.index, str(m[1]), 'type-position', true, [after[1]]);
    else ref(m.index, str(m[1]), 'dynamic', false, '*');
  }
  imports.sort((a, b) => a.at - b.at);
  exports.sort((a, b) => a.at - b.at);
  return { imports: imports.map(({ at: _at, ...r }) => r), exports: exports.map((e) => e.name) };
}

/**
 * The same with the TypeScript parser: the reference the lexer above is checked against (opt-in
 * test below, `SPLADEX_ARCH_CROSSCHECK=1`; loading and running TypeScript costs ~1.5 s, the lexer
 * ~0.1 s for the whole project).
 */
function parseModuleWithTypeScript(ts: typeof import('typescript'), fileName: string, text: string): ParsedModule {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const imports: ImportRef[] = [];
  const exports: string[] = [];
  const lineOf = (node: ts.Node): number => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const stringOf = (node: ts.Node | undefined): string | undefined => (node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined);
  const hasModifier = (node: ts.Node, kind: ts.SyntaxKind): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
  const moduleName = (n: ts.ModuleExportName): string => n.text;
  const bindings = (n: ts.BindingName): void => {
    if (ts.isIdentifier(n)) exports.push(n.text);
    else for (const e of n.elements) if (!ts.isOmittedExpression(e)) bindings(e.name);
  };
  const leftmost = (n: ts.EntityName): string => (ts.isIdentifier(n) ? n.text : leftmost(n.left));
  for (const statement of sf.statements) {
    if (ts.isImportDeclaration(statement)) {
      const specifier = stringOf(statement.moduleSpecifier);
      if (specifier === undefined) continue;
      const clause = statement.importClause;
      let names: string[] | '*' = [];
      let typeOnly = false;
      if (clause !== undefined) {
        const b = clause.namedBindings;
        if (b !== undefined && ts.isNamespaceImport(b)) names = '*';
        else {
          const list = b?.elements ?? ts.factory.createNodeArray<ts.ImportSpecifier>();
          names = [...(clause.name !== undefined ? ['default'] : []), ...list.map((e) => moduleName(e.propertyName ?? e.name))];
          typeOnly = clause.name === undefined && list.length > 0 && list.every((e) => e.isTypeOnly);
        }
        typeOnly ||= clause.isTypeOnly;
      }
      imports.push({ specifier, kind: 'static', typeOnly, names, line: lineOf(statement) });
    } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference)) {
      const specifier = stringOf(statement.moduleReference.expression);
      if (specifier !== undefined) imports.push({ specifier, kind: 'static', typeOnly: statement.isTypeOnly, names: '*', line: lineOf(statement) });
      if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) exports.push(statement.name.text);
    } else if (ts.isExportDeclaration(statement)) {
      const specifier = stringOf(statement.moduleSpecifier);
      const clause = statement.exportClause;
      if (clause === undefined || ts.isNamespaceExport(clause)) {
        if (clause !== undefined) exports.push(moduleName(clause.name));
        if (specifier !== undefined) imports.push({ specifier, kind: 'export', typeOnly: statement.isTypeOnly, names: '*', line: lineOf(statement) });
      } else {
        for (const e of clause.elements) exports.push(moduleName(e.name));
        const typeOnly = statement.isTypeOnly || (clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
        if (specifier !== undefined) imports.push({ specifier, kind: 'export', typeOnly, names: clause.elements.map((e) => moduleName(e.propertyName ?? e.name)), line: lineOf(statement) });
      }
    } else if (ts.isExportAssignment(statement)) exports.push('default');
    else if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      if (hasModifier(statement, ts.SyntaxKind.DefaultKeyword)) exports.push('default');
      else if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) bindings(d.name);
      else if ('name' in statement && statement.name !== undefined && ts.isIdentifier(statement.name as ts.Node)) exports.push((statement.name as ts.Identifier).text);
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const specifier = stringOf(node.arguments[0]);
      if (specifier !== undefined) imports.push({ specifier, kind: 'dynamic', typeOnly: false, names: '*', line: lineOf(node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const specifier = stringOf(node.argument.literal);
      const names = node.qualifier === undefined || node.isTypeOf ? '*' : [leftmost(node.qualifier)];
      if (specifier !== undefined) imports.push({ specifier, kind: 'type-position', typeOnly: true, names, line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { imports, exports };
}

type Resolution = { kind: 'package' } | { kind: 'file'; file: string } | { kind: 'unresolved'; tried: string };

/** Resolves a specifier written in `from` (repository path, posix) against the set of known files. */
function resolveSpecifier(from: string, specifier: string, exists: (file: string) => boolean): Resolution {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return { kind: 'package' };
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [target.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts').replace(/\.jsx$/, '.tsx'), target];
  // Extensionless specifiers are not valid NodeNext, but resolve them rather than lose the edge.
  if (!/\.[cm]?[jt]sx?$|\.json$/.test(target)) candidates.push(`${target}.ts`, `${target}/index.ts`);
  for (const c of candidates) if (exists(c)) return { kind: 'file', file: c };
  return { kind: 'unresolved', tried: candidates[0] };
}

// ---------------------------------------------------------------------------------------------
// The project, read once.
// ---------------------------------------------------------------------------------------------

interface Edge extends ImportRef {
  from: string;
  to: string;
}

interface Project {
  files: Map<string, { text: string; lines: number; parsed: ParsedModule }>;
  edges: Edge[];
  unresolved: string[];
}

function listTs(dir: string, rel: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const relPath = `${rel}/${entry.name}`;
    if (entry.isDirectory()) listTs(path, relPath, out);
    else if (/\.[cm]?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(relPath);
  }
}

function loadProject(): Project {
  const names: string[] = [];
  for (const d of SCANNED_DIRS) listTs(join(ROOT, d), d, names);
  names.sort();
  const files: Project['files'] = new Map();
  for (const f of names) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    files.set(f, { text, lines, parsed: parseModule(f, text) });
  }
  const exists = (f: string): boolean => files.has(f) || existsSync(join(ROOT, f));
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const [from, { parsed }] of files) {
    for (const ref of parsed.imports) {
      const r = resolveSpecifier(from, ref.specifier, exists);
      if (r.kind === 'file') edges.push({ ...ref, from, to: r.file });
      else if (r.kind === 'unresolved') unresolved.push(`${from}:${ref.line} → '${ref.specifier}' (no ${r.tried})`);
    }
  }
  return { files, edges, unresolved };
}

const describeEdge = (e: Edge): string => `${e.from}:${e.line} → ${e.to}${e.kind === 'dynamic' ? ' (dynamic import)' : e.typeOnly ? ' (type-only)' : ''}`;

function report(rule: string, violations: readonly string[]): void {
  if (violations.length === 0) return;
  throw new Error(`${violations.length} violation${violations.length === 1 ? '' : 's'} of "${rule}":\n  ${violations.join('\n  ')}`);
}

// ---------------------------------------------------------------------------------------------
// Cycles.
// ---------------------------------------------------------------------------------------------

/** Strongly connected components (Tarjan), each sorted; only components that contain a cycle. */
function cyclicComponents(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** One shortest cycle through each member of a component, deduplicated: the cycles to break. */
function cyclesOf(component: readonly string[], graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const inside = new Set(component);
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const start of component) {
    const previous = new Map<string, string>();
    const queue = [start];
    let found: string[] | undefined;
    for (let i = 0; i < queue.length && found === undefined; i++) {
      const v = queue[i];
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!inside.has(w)) continue;
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(previous.get(path[0])!);
          found = path;
          break;
        }
        if (!previous.has(w) && w !== start) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    if (found === undefined) continue;
    const m = found.indexOf([...found].sort()[0]);
    const canonical = [...found.slice(m), ...found.slice(0, m)];
    const key = canonical.join(' ');
    if (!seen.has(key)) {
      seen.add(key);
      cycles.push(canonical);
    }
  }
  return cycles;
}

// ---------------------------------------------------------------------------------------------
// The parser and helpers, on inline snippets.
// ---------------------------------------------------------------------------------------------

describe('architecture test: import parser', () => {
  const imports = (text: string): ImportRef[] => parseModule('snippet.ts', text).imports;

  it('reads type-only imports in both spellings', () => {
    const refs = imports(`import type { A } from './a.js';
import { type B, C as D } from './b.js';
import { type E } from './e.js';
import type F from './f.js';`);
    expect(refs.map((r) => [r.specifier, r.typeOnly, r.names])).toEqual([
      ['./a.js', true, ['A']],
      ['./b.js', false, ['B', 'C']],
      ['./e.js', true, ['E']],
      ['./f.js', true, ['default']],
    ]);
  });

  it('reads default, namespace and side-effect imports', () => {
    const refs = imports(`import G, * as ns from './g.js';\nimport H, { I } from './h.js';\nimport './side-effect.js';\nimport fs from 'node:fs';`);
    expect(refs.map((r) => [r.specifier, r.names])).toEqual([
      ['./g.js', '*'],
      ['./h.js', ['default', 'I']],
      ['./side-effect.js', []],
      ['node:fs', ['default']],
    ]);
  });

  it('reads re-exports as imports, and their names as exports', () => {
    const parsed = parseModule('snippet.ts', `export { J as K, L } from './j.js';\nexport * from './star.js';\nexport * as space from './space.js';\nexport type { M } from './m.js';\nexport { type N } from './n.js';`);
    expect(parsed.imports.map((r) => [r.specifier, r.kind, r.typeOnly, r.names])).toEqual([
      ['./j.js', 'export', false, ['J', 'L']],
      ['./star.js', 'export', false, '*'],
      ['./space.js', 'export', false, '*'],
      ['./m.js', 'export', true, ['M']],
      ['./n.js', 'export', true, ['N']],
    ]);
    expect(parsed.exports).toEqual(['K', 'L', 'space', 'M', 'N']);
  });

  it('reads dynamic imports with a literal argument and import types, nested anywhere', () => {
    const refs = imports(`async function f(name: string) {
  const m = await import('./lazy.js');
  const n = await import(name);
  const o = await import(\`./template.js\`);
}
type T = typeof import('./typeof.js');
let u: import('./qualified.js').U.V;`);
    expect(refs.map((r) => [r.specifier, r.kind, r.typeOnly, r.names])).toEqual([
      ['./lazy.js', 'dynamic', false, '*'],
      ['./template.js', 'dynamic', false, '*'],
      ['./typeof.js', 'type-position', true, '*'],
      ['./qualified.js', 'type-position', true, ['U']],
    ]);
  });

  it('ignores import-like text in strings and comments', () => {
    expect(imports(`const s = "import x from './nope.js'";\n// import './nope2.js';\n/* export * from './nope3.js' */\nconst t = \`import('./nope4.js')\`;`)).toEqual([]);
  });

  it('is not fooled by regular expressions, templates and division', () => {
    const refs = imports(`const re = /import x from '.\\/nope.js'/g, half = a / 2 / b;
const t = \`\${await import('./inside-template.js')} and \${\`nested \${x}\`} import('./not-code.js')\`;
if (ok) return /["'\`]/.test(s);
import { after } from './after.js';`);
    expect(refs.map((r) => [r.specifier, r.kind, r.line])).toEqual([
      ['./inside-template.js', 'dynamic', 2],
      ['./after.js', 'static', 4],
    ]);
  });

  it('reads multi-line import lists and string-named specifiers', () => {
    const refs = imports(`import {
  a,
  type b,
  "c-d" as cd,
} from './multi.js';`);
    expect(refs).toEqual([{ specifier: './multi.js', kind: 'static', typeOnly: false, names: ['a', 'b', 'c-d'], line: 1 }]);
  });

  it('lists exported declarations', () => {
    const parsed = parseModule(
      'snippet.ts',
      `export function f() {}
export async function g() {}
export class C {}
export const a = 1, { b, c: [d] } = o;
export interface I {}
export type T = number;
export enum E { x }
export default class {}
const local = 1;
export { local as renamed };
declare function notExported(): void;`,
    );
    expect(parsed.exports).toEqual(['f', 'g', 'C', 'a', 'b', 'd', 'I', 'T', 'E', 'default', 'renamed']);
  });

  it('lists exports whose initializers and types contain commas', () => {
    const parsed = parseModule(
      'snippet.ts',
      `export const m: Map<string, number> = new Map([[a, 1], [b, 2]]), f = (x: number, y: number): number => x + y;
export const o = Object.freeze({
  a: 1,
  b: 2,
});
export let late!: number;`,
    );
    expect(parsed.exports).toEqual(['m', 'f', 'o', 'late']);
  });

  it.runIf(process.env.SPLADEX_ARCH_CROSSCHECK === '1')('agrees with the TypeScript parser on every file of the project (SPLADEX_ARCH_CROSSCHECK=1)', async () => {
    const typescript = (await import('typescript')).default;
    const norm = (p: ParsedModule): unknown => ({
      imports: p.imports.map((r) => `${r.line} ${r.kind} ${r.specifier} ${r.typeOnly} ${r.names === '*' ? '*' : r.names.join(',')}`).sort(),
      exports: [...p.exports].sort(),
    });
    const differences: string[] = [];
    const names: string[] = [];
    for (const d of SCANNED_DIRS) listTs(join(ROOT, d), d, names);
    for (const f of names) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      const mine = JSON.stringify(norm(parseModule(f, text)));
      const reference = JSON.stringify(norm(parseModuleWithTypeScript(typescript, f, text)));
      if (mine !== reference) differences.push(`${f}:\n    lexer      ${mine}\n    typescript ${reference}`);
    }
    report('the lexer agrees with the TypeScript parser', differences);
  });

  it('resolves NodeNext specifiers to .ts files and ignores packages', () => {
    const known = new Set(['src/a/x.ts', 'src/dir/index.ts', 'src/data.json']);
    const exists = (f: string): boolean => known.has(f);
    expect(resolveSpecifier('src/a/b.ts', './x.js', exists)).toEqual({ kind: 'file', file: 'src/a/x.ts' });
    expect(resolveSpecifier('src/a/b.ts', '../dir/index.js', exists)).toEqual({ kind: 'file', file: 'src/dir/index.ts' });
    expect(resolveSpecifier('src/a/b.ts', '../data.json', exists)).toEqual({ kind: 'file', file: 'src/data.json' });
    expect(resolveSpecifier('src/a/b.ts', './missing.js', exists)).toEqual({ kind: 'unresolved', tried: 'src/a/missing.ts' });
    expect(resolveSpecifier('src/a/b.ts', 'node:fs', exists)).toEqual({ kind: 'package' });
    expect(resolveSpecifier('src/a/b.ts', 'vitest/config', exists)).toEqual({ kind: 'package' });
  });

  it('places modules in layers (entries first)', () => {
    expect(layerOf('src/util/rng.ts')).toBe(0);
    expect(layerOf('src/errors.ts')).toBe(0);
    expect(layerOf('src/segment/forward.ts')).toBe(3);
    expect(layerOf('src/encode/encoder.ts')).toBe(2);
    expect(layerOf('src/encode/index.ts')).toBe(ENTRY_LAYER);
    expect(layerOf('src/index.ts')).toBe(ENTRY_LAYER);
    expect(layerOf('src/pool/pool.ts')).toBe(9);
    expect(layerOf('src/spladex-index.ts')).toBe(10);
    expect(layerOf('src/index/build.ts')).toBeUndefined();
    expect(layerOf('src/utility.ts')).toBeUndefined();
  });

  it('finds every cycle, as a list of files', () => {
    const graph = new Map<string, Set<string>>([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'd'])],
      ['d', new Set(['d'])],
      ['e', new Set(['a'])],
    ]);
    const components = cyclicComponents(graph);
    expect(components).toEqual([['a', 'b', 'c'], ['d']]);
    expect(cyclesOf(components[0], graph)).toEqual([['a', 'b', 'c']]);
    expect(cyclesOf(components[1], graph)).toEqual([['d']]);
    const two = new Map<string, Set<string>>([
      ['a', new Set(['b', 'c'])],
      ['b', new Set(['a'])],
      ['c', new Set(['a'])],
    ]);
    expect(cyclesOf(cyclicComponents(two)[0], two)).toEqual([
      ['a', 'b'],
      ['a', 'c'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The rules.
// ---------------------------------------------------------------------------------------------

describe('architecture rules', () => {
  const project = loadProject();
  const all = [...project.files.keys()];
  const srcModules = all.filter((f) => under(f, 'src') && !isTest(f));
  const bySource = new Map<string, Edge[]>();
  for (const e of project.edges) bySource.set(e.from, [...(bySource.get(e.from) ?? []), e]);
  const edgesFrom = (f: string): Edge[] => bySource.get(f) ?? [];

  it('reads the project (sanity)', () => {
    expect(project.files.size).toBeGreaterThan(50);
    expect(project.edges.length).toBeGreaterThan(100);
  });

  it('every relative import resolves to a file', () => {
    report('every relative import resolves to a file', project.unresolved);
  });

  it('every public entry exists', () => {
    report(
      'every public entry exists',
      [...PUBLIC_ENTRIES].filter((f) => !project.files.has(f)).map((f) => `${f} (listed in ENTRY_LIST or package.json "exports") does not exist`),
    );
  });

  it('every src/ module is in a layer', () => {
    report(
      'every src/ module is in a layer (module in no layer)',
      srcModules.filter((f) => layerOf(f) === undefined).map((f) => `${f}: module in no layer (move it into one of the layer folders)`),
    );
  });

  it('src/ modules import only their own or lower layers (type-only and dynamic imports included)', () => {
    const violations: string[] = [];
    for (const from of srcModules) {
      const source = layerOf(from);
      for (const e of edgesFrom(from)) {
        if (!under(e.to, 'src')) {
          violations.push(`${describeEdge(e)}: src/ must not import outside src/`);
          continue;
        }
        if (isTest(e.to)) {
          violations.push(`${describeEdge(e)}: a module must not import a test file`);
          continue;
        }
        const target = layerOf(e.to);
        // Modules in no layer are reported by their own rule; entries may import anything.
        if (source === undefined || target === undefined || source === ENTRY_LAYER) continue;
        if (target > source) violations.push(`${describeEdge(e)}: layer ${layerName(source)} imports layer ${layerName(target)}`);
      }
    }
    report('layering', violations);
  });

  it('storage (src/segment/**, src/store/**) never imports src/query/**', () => {
    const violations = srcModules
      .filter(isStorage)
      .flatMap(edgesFrom)
      .filter((e) => under(e.to, 'src/query'))
      .map(describeEdge);
    report('storage never imports query', violations);
  });

  it('no import cycles among src/ and cli/ modules (type-only imports included, dynamic imports excluded)', () => {
    const nodes = all.filter((f) => (under(f, 'src') || under(f, 'cli')) && !isTest(f));
    const graph = new Map<string, Set<string>>(nodes.map((f) => [f, new Set<string>()]));
    const runtime = new Set<string>(); // "from to" of pairs with at least one import that is not type-only
    for (const e of project.edges) {
      if (e.kind === 'dynamic' || !graph.has(e.from) || !graph.has(e.to)) continue;
      graph.get(e.from)!.add(e.to);
      if (!e.typeOnly) runtime.add(`${e.from} ${e.to}`);
    }
    const arrow = (from: string, to: string): string => (runtime.has(`${from} ${to}`) ? ' → ' : ' → (type-only) ');
    const violations: string[] = [];
    for (const component of cyclicComponents(graph)) {
      const cycles = cyclesOf(component, graph);
      const group = component.length > cycles[0].length ? `   [${component.length} mutually dependent files: ${component.join(', ')}]` : '';
      for (const cycle of cycles) {
        const path = cycle.map((f, i) => `${i === 0 ? '' : arrow(cycle[i - 1], f)}${f}`).join('') + arrow(cycle[cycle.length - 1], cycle[0]) + cycle[0];
        violations.push(`${path}${cycle === cycles[0] ? group : ''}`);
      }
    }
    report('no import cycles', violations);
  });

  /** Imports of src/ modules that are not public entries, from the given folder. */
  const nonEntryImports = (dir: string): string[] =>
    all
      .filter((f) => under(f, dir) && !isTest(f))
      .flatMap(edgesFrom)
      .filter((e) => under(e.to, 'src') && !PUBLIC_ENTRIES.has(e.to))
      .map((e) => `${describeEdge(e)}: not a public entry (${[...PUBLIC_ENTRIES].join(', ')})`);

  it('cli/ imports src/ only through public entries', () => {
    report('cli/ imports src/ only through public entries', nonEntryImports('cli'));
  });

  it('scripts/ imports src/ only through public entries', () => {
    report('scripts/ imports src/ only through public entries', nonEntryImports('scripts'));
  });

  it('every export of a src/ module is used by another file (public entries, generated and test files exempt)', () => {
    const used = new Map<string, Set<string>>();
    const everything = new Set<string>();
    for (const e of project.edges) {
      if (e.from === e.to) continue;
      if (e.names === '*') everything.add(e.to);
      else for (const n of e.names) (used.get(e.to) ?? used.set(e.to, new Set()).get(e.to)!).add(n);
    }
    const violations: string[] = [];
    for (const f of srcModules) {
      if (PUBLIC_ENTRIES.has(f) || isGenerated(f) || everything.has(f)) continue;
      const names = used.get(f) ?? new Set<string>();
      const text = readFileSync(join(ROOT, f), 'utf8');
      // A type named by another declaration of its file (a parameter, a field, a return type) must
      // stay exported for declaration emit (TS4xxx "has or is using private name"): it is part of
      // that declaration's shape, not an unused export.
      const shapeOfAnother = (n: string): boolean =>
        new RegExp(`export\\s+(?:declare\\s+)?(?:interface|type)\\s+${n}\\b`).test(text) && (text.match(new RegExp(`\\b${n}\\b`, 'g'))?.length ?? 0) > 1;
      const unused = [...new Set(project.files.get(f)!.parsed.exports)].filter((n) => !names.has(n) && !shapeOfAnother(n));
      if (unused.length > 0) violations.push(`${f}: ${unused.join(', ')} (drop the export, or the code)`);
    }
    report('no unused exports', violations);
  });

  it(`no source file of src/, cli/, scripts/ is over ${MAX_LINES} lines (generated and test files exempt)`, () => {
    const violations = all
      .filter((f) => (under(f, 'src') || under(f, 'cli') || under(f, 'scripts')) && !isTest(f) && !isGenerated(f))
      .filter((f) => project.files.get(f)!.lines > MAX_LINES)
      .map((f) => `${f}: ${project.files.get(f)!.lines} lines`);
    report(`files of at most ${MAX_LINES} lines`, violations);
  });
});
