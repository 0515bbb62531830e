/**
 * The public entries by audience (package.json "exports"): each loads, exports what its audience
 * needs, and the heavy optional modules load only where they are used — `import 'spladex'` loads
 * neither onnx-proto (the test-model generator, `spladex/testing`), vega (plots) nor onnxruntime,
 * and `spladex/server` loads Fastify and prom-client only when a server is created.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasBuild } from './helpers/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const exportsMap = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { exports: Record<string, string | { import: string }> }).exports;

/** Imports `entry` in a fresh process; returns its export names and the heavy packages it loaded. */
function load(entry: string): { names: string[]; heavy: string[] } {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const m = await import(${JSON.stringify(entry)});
    const heavy = [...new Set(Object.keys(require.cache).map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k)?.[1]).filter((n) => /^(onnx-proto|protobufjs|vega|vega-lite|onnxruntime-node|fastify|prom-client|@opensearch-project\\/opensearch)$/.test(n ?? '')))];
    console.log(JSON.stringify({ names: Object.keys(m), heavy }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { names: string[]; heavy: string[] };
}

describe.skipIf(!hasBuild)('public entries', () => {
  const entry = (key: string): string => {
    const target = exportsMap[key];
    return `./${typeof target === 'string' ? target : target.import}`.replace('././', './');
  };

  it('spladex: index, search, errors, types — and nothing heavy', () => {
    const { names, heavy } = load(entry('.'));
    for (const name of ['SpladexIndex', 'IndexReader', 'IndexWriter', 'buildIndex', 'buildTextIndex', 'verifyIndex', 'SpladexError', 'BUILD_DEFAULTS', 'SEARCH_DEFAULTS']) expect(names).toContain(name);
    expect(names).not.toContain('writeTinyMaskedLm');
    expect(heavy).toEqual([]);
  });

  it('spladex/encode, spladex/eval, spladex/bench load without the test-model generator or plots', () => {
    expect(load(entry('./encode'))).toMatchObject({ heavy: [] });
    expect(load(entry('./encode')).names).toContain('openEncoder');
    expect(load(entry('./eval')).names).toContain('evaluateIndex');
    const bench = load(entry('./bench'));
    expect(bench.names).toContain('writeSynthetic');
    expect(bench.heavy).toEqual([]);
  });

  it('spladex/opensearch: export, search and the options tables, without loading the OpenSearch client before a connection', () => {
    const { names, heavy } = load(entry('./opensearch'));
    for (const name of ['exportToOpenSearch', 'OpenSearchSearcher', 'OPENSEARCH_CONNECTION_OPTIONS', 'OPENSEARCH_EXPORT_OPTIONS']) expect(names).toContain(name);
    expect(heavy).toEqual([]);
    expect(load(entry('.')).names).not.toContain('exportToOpenSearch');
  });

  it('spladex/server: createServer and the serve options, without loading Fastify before a server is created', () => {
    const { names, heavy } = load(entry('./server'));
    for (const name of ['createServer', 'SERVE_OPTIONS', 'SERVE_LIMITS']) expect(names).toContain(name);
    expect(heavy).toEqual([]);
  });

  it('spladex/testing carries the tiny model generator (and only it loads onnx-proto)', () => {
    const { names, heavy } = load(entry('./testing'));
    expect(names).toContain('writeTinyMaskedLm');
    expect(heavy).toContain('onnx-proto');
  });
});
