/**
 * `spladex serve` as clients meet it: the real server started through the CLI on a free loopback
 * port. Search answers equal `spladex search --format json` (vectors, text, filters, exact modes,
 * batches), stored fields, documents read, added and deleted through the writer, info, health,
 * metrics, and every refusal with its status and stable code (401, 403, 404, 413, 400). The
 * OpenAPI file is validated and compared with the routes and request schemas the server uses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOSSLESS_BUILD } from '../src/segment/options.js';
import { buildIndex } from '../src/spladex-index.js';
import { createServer } from '../src/server/index.js';
import { SERVE_LIMITS, SERVE_OPTIONS } from '../src/server/options.js';
import { formatInterval } from '../src/util/options-table.js';
import { ROUTES } from '../src/server/routes.js';
import { addBodySchema, batchBodySchema, deleteBodySchema, searchBodySchema } from '../src/server/schemas.js';
import { Rng } from '../src/util/rng.js';
import { hasBuild, runCli } from './helpers/cli.js';
import { makeDocuments, randomQueries } from './helpers/index-model.js';
import { startServe, type ServeProcess } from './helpers/server.js';

const scratch = mkdtempSync(join(tmpdir(), 'spladex-serve-'));
const vectorDir = join(scratch, 'vectors');
const textDir = join(scratch, 'text');
const rng = new Rng(14);
const documents = makeDocuments(rng, Array.from({ length: 400 }, (_, i) => `d${i}`));
const queries = randomQueries(rng, 6);

const TEXTS = [
  { _id: 't1', text: 'White matter development in the human brain.', metadata: { year: 2010 } },
  { _id: 't2', text: 'Sparse retrieval with learned sparse vectors for document retrieval.' },
  { _id: 't3', text: 'Cancer cells and protein genes in cancer patients.' },
  { _id: 't4', text: 'Sleep, memory and the heart: blood, water and energy.' },
  { _id: 't5', text: 'The heart and the brain: blood flow, memory and sleep.' },
];

let server: ServeProcess;
beforeAll(async () => {
  await buildIndex(documents, vectorDir, { ...LOSSLESS_BUILD, forwardValues: 'f32', threads: 1 });
  const corpus = join(scratch, 'corpus.jsonl');
  writeFileSync(corpus, TEXTS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  if (hasBuild) {
    const built = runCli(['index', corpus, '--out', textDir, '--input', 'text', '--quiet', '--threads', '1']);
    expect(built.status, built.stderr).toBe(0);
    server = await startServe(vectorDir, ['--threads', '2']);
  }
});
afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const cliHits = (dir: string, query: string, ...flags: string[]): unknown => {
  const run = runCli(['search', dir, query, '--format', 'json', ...flags]);
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { hits: unknown }).hits;
};

describe.skipIf(!hasBuild)('spladex serve: search', () => {
  it('POST /search answers the hits of `spladex search --format json` (approximate, exact, filtered)', async () => {
    for (const query of queries.slice(0, 3)) {
      const plain = await server.request('POST', '/search', { query: { vector: query }, k: 7 });
      expect(plain.status, plain.text).toBe(200);
      expect(plain.body.hits).toEqual(cliHits(vectorDir, JSON.stringify(query), '--k', '7'));
      const exact = await server.request('POST', '/search', { query: { vector: query }, k: 5, exact: 'maxscore', filter: 'lang=en' });
      expect(exact.body.hits).toEqual(cliHits(vectorDir, JSON.stringify(query), '--k', '5', '--exact', 'maxscore', '--filter', 'lang=en'));
      const object = await server.request('POST', '/search', { query: { vector: query }, k: 5, exact: true, filter: [{ year: { gte: 2000 } }, 'lang!=de'] });
      expect(object.body.hits).toEqual(cliHits(vectorDir, JSON.stringify(query), '--k', '5', '--exact', '--filter', 'year>=2000', '--filter', 'lang!=de'));
    }
  });

  it('POST /search/batch: one result per query, labelled, equal to single searches', async () => {
    const batch = await server.request('POST', '/search/batch', { queries: queries.map((vector, i) => (i % 2 === 0 ? { id: `q${i}`, vector } : { vector })), k: 4, exact: true });
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.results.map((r: { id: string }) => r.id)).toEqual(queries.map((_, i) => (i % 2 === 0 ? `q${i}` : String(i))));
    for (let i = 0; i < queries.length; i++) {
      const one = await server.request('POST', '/search', { query: { vector: queries[i] }, k: 4, exact: true });
      expect(batch.body.results[i].hits).toEqual(one.body.hits);
    }
  });

  it('fields: each hit carries the stored content and metadata asked for', async () => {
    const answer = await server.request('POST', '/search', { query: { vector: queries[0] }, k: 10, fields: ['content', 'metadata'] });
    expect(answer.body.hits.length).toBeGreaterThan(0);
    for (const hit of answer.body.hits) {
      const doc = documents.find((d) => d.id === hit.id)!;
      expect(hit.content).toBe(doc.content);
      expect(hit.metadata).toEqual(doc.metadata);
    }
    const contentOnly = await server.request('POST', '/search', { query: { vector: queries[0] }, k: 3, fields: ['content'] });
    expect(Object.keys(contentOnly.body.hits[0]).sort()).toEqual(['content', 'id', 'score']);
  });

  it('text queries on an index built from text equal `spladex search "<text>"`; on a vector index they are E_INPUT_VECTOR; WordPiece vectors on its analyzer are E_TERM_SPACE', async () => {
    // On the search pool (one thread): text is encoded on the main thread, vectors checked there.
    const text = await startServe(textDir, ['--threads', '1']);
    try {
      for (const q of ['heart blood sleep', 'sparse retrieval', 'cancer genes']) {
        const answer = await text.request('POST', '/search', { query: { text: q }, k: 3 });
        expect(answer.status, answer.text).toBe(200);
        expect(answer.body.hits).toEqual(cliHits(textDir, q, '--k', '3'));
      }
      const batch = await text.request('POST', '/search/batch', { queries: [{ text: 'brain' }, { id: 'b', text: 'cancer' }], k: 2 });
      expect(batch.body.results[1]).toEqual({ id: 'b', hits: cliHits(textDir, 'cancer', '--k', '2') });
      const foreign = await text.request('POST', '/search', { query: { vector: { heart: 1.2, '##ing': 0.8 } } });
      expect(foreign.status, foreign.text).toBe(400);
      expect(foreign.body.error.code).toBe('E_TERM_SPACE');
    } finally {
      await text.stop();
    }
    const refused = await server.request('POST', '/search', { query: { text: 'anything' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('E_INPUT_VECTOR');
  });

  it('bad requests: 400 with the CLI codes, option messages in the tables\' words', async () => {
    const cases: Array<[unknown, string, RegExp?]> = [
      ['{"query": ', 'E_INPUT_JSON', /not valid JSON/],
      ['[1, 2]', 'E_INPUT_JSON', /must be a JSON object/],
      ['{"__proto__": {"k": 1}, "query": {"vector": {"a": 1}}}', 'E_INPUT_JSON'],
      [{ query: { vector: { a: -1 } } }, 'E_INPUT_VECTOR'],
      [{ query: { vector: { a: 'x' } } }, 'E_INPUT_VECTOR'],
      [{ query: {} }, 'E_INPUT_VECTOR', /needs a "vector" object or a "text" string/],
      [{ query: { vector: { a: 1 } }, k: 5000 }, 'E_OPTION', /^k must be an integer in \[1, 1000\], got 5000$/],
      [{ query: { vector: { a: 1 } }, k: '5' }, 'E_OPTION', /^k must be an integer/],
      [{ query: { vector: { a: 1 } }, heapFactor: 0 }, 'E_OPTION', /^heapFactor must be in \(0, 1\], got 0$/],
      [{ query: { vector: { a: 1 } }, extra: true }, 'E_OPTION', /unknown property "extra"/],
      [{ query: { vector: { a: 1 } }, filter: 'year>>2' }, 'E_OPTION'],
      [{ query: { vector: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`t${i}`, 1])) } }, 'E_INPUT_LIMIT'],
      [{ query: { vector: { ['x'.repeat(1001)]: 1 } } }, 'E_INPUT_LIMIT'],
    ];
    for (const [body, code, message] of cases) {
      const answer = await server.request('POST', '/search', body);
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(answer.body.error.code, answer.text).toBe(code);
      if (message !== undefined) expect(answer.body.error.message).toMatch(message);
    }
    const batch = await server.request('POST', '/search/batch', { queries: Array.from({ length: 257 }, () => ({ vector: { a: 1 } })) });
    expect([batch.status, batch.body.error.code]).toEqual([400, 'E_INPUT_LIMIT']);
    const notJson = await server.request('POST', '/search', 'query=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect([notJson.status, notJson.body.error.code]).toEqual([415, 'E_INPUT_JSON']);
    const route = await server.request('GET', '/nowhere');
    expect([route.status, route.body.error.code]).toEqual([404, 'E_NOT_FOUND']);
  });

  it('a stalled upload stalls nothing else: other requests are answered meanwhile', async () => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"query": {"vector": {');
    try {
      const started = performance.now();
      const answers = await Promise.all(queries.map((vector) => server.request('POST', '/search', { query: { vector }, k: 3 })));
      expect(answers.map((a) => a.status)).toEqual(queries.map(() => 200));
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      socket.destroy();
    }
  });
});

describe.skipIf(!hasBuild)('spladex serve: documents, info, health, metrics', () => {
  it('GET, POST and DELETE /documents: committed before the answer and searchable at once', async () => {
    const got = await server.request('GET', `/documents/${encodeURIComponent('d7')}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ id: 'd7', content: documents[7].content, ...(documents[7].metadata === undefined ? {} : { metadata: documents[7].metadata }) });
    expect((await server.request('GET', '/documents/missing')).body.error.code).toBe('E_NOT_FOUND');

    let before = (await server.request('GET', '/health')).body.generation as number;
    const added = await server.request('POST', '/documents', {
      documents: [
        { id: 'new/1', vector: { zzfresh: 3, tok1: 0.5 }, content: 'fresh one', metadata: { lang: 'xx' } },
        { id: 'd3', vector: { zzfresh: 1 }, content: 'replaced' },
      ],
    });
    expect(added.status, added.text).toBe(200);
    expect(added.body).toMatchObject({ documents: 2, replaced: 1, generation: before + 1 });
    const hits = (await server.request('POST', '/search', { query: { vector: { zzfresh: 1 } }, k: 5, exact: true })).body.hits;
    expect(hits.map((h: { id: string }) => h.id)).toEqual(['new/1', 'd3']);
    expect((await server.request('GET', `/documents/${encodeURIComponent('new/1')}`)).body).toEqual({ id: 'new/1', content: 'fresh one', metadata: { lang: 'xx' } });
    expect((await server.request('GET', '/documents/d3')).body.content).toBe('replaced');

    const deleted = await server.request('DELETE', '/documents', { ids: ['new/1', 'nobody'] });
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toMatchObject({ deleted: 1, notFound: ['nobody'], generation: before + 2 });
    expect((await server.request('GET', `/documents/${encodeURIComponent('new/1')}`)).status).toBe(404);

    // Ids of the longest length allowed, beyond ASCII, URL-encoded in the path.
    const longId = 'é'.repeat(1000);
    expect((await server.request('POST', '/documents', { documents: [{ id: longId, vector: { zzlong: 1 } }] })).status).toBe(200);
    expect((await server.request('GET', `/documents/${encodeURIComponent(longId)}`)).body).toEqual({ id: longId });
    expect((await server.request('DELETE', '/documents', { ids: [longId] })).body.deleted).toBe(1);
    before += 2;

    // Checked by the library, reported with its codes and the document's position.
    const bad = await server.request('POST', '/documents', { documents: [{ id: 'ok', vector: {} }, { vector: { a: 1 } }] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'E_INPUT_ID']);
    const mixed = await server.request('POST', '/documents', { documents: [{ id: 'a', vector: { a: 1 } }, { id: 'b', text: 'b' }] });
    expect(mixed.body.error.code).toBe('E_INPUT_VECTOR');
    expect((await server.request('GET', '/health')).body.generation).toBe(before + 2);
  });

  it('GET /info, GET /health, GET /metrics (Prometheus text)', async () => {
    const info = await server.request('GET', '/info');
    expect(info.status).toBe(200);
    expect(info.body.index.documents).toBe(400);
    expect(info.body.index.path).toBeUndefined();
    expect(info.body.server).toMatchObject({ threads: 2, readOnly: false, limits: SERVE_LIMITS.defaults });
    expect((await server.request('GET', '/health')).body).toMatchObject({ status: 'ok' });

    const metrics = await server.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = metrics.text.split('\n');
    const value = (prefix: string): number => Number(lines.find((l) => l.startsWith(prefix))?.split(' ').pop());
    expect(value('spladex_http_requests_total{method="POST",route="/search",status="200"}')).toBeGreaterThan(5);
    expect(value('spladex_http_requests_total{method="POST",route="/search",status="400"}')).toBeGreaterThan(5);
    expect(value('spladex_http_request_duration_seconds_count{method="POST",route="/search"}')).toBeGreaterThan(10);
    expect(lines.some((l) => l.startsWith('spladex_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/search"}'))).toBe(true);
    expect(value('spladex_index_generation')).toBe((await server.request('GET', '/health')).body.generation);
    for (const name of ['spladex_search_queue_depth', 'spladex_search_in_flight', 'process_resident_memory_bytes']) expect(Number.isFinite(value(name)), name).toBe(true);
    // Every sample line is `name{labels} value`: the text format.
    for (const line of lines.filter((l) => l !== '' && !l.startsWith('#'))) expect(line).toMatch(/^[a-zA-Z_:][\w:]*(\{[^}]*\})? [-+0-9.eE]+|NaN|[+-]Inf$/);
  });
});

describe.skipIf(!hasBuild)('spladex serve: API key, read-only, body limit', () => {
  it('an API key (from SPLADEX_API_KEY) is required on every route but /health; --read-only refuses writes; bodies over --body-limit get 413', async () => {
    const guarded = await startServe(vectorDir, ['--threads', '0', '--read-only', '--body-limit', '4096'], { SPLADEX_API_KEY: 's3cret' });
    try {
      const search = { query: { vector: queries[0] }, k: 3 };
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 's3cret' }] as Array<Record<string, string>>) {
        const refused = await guarded.request('POST', '/search', search, headers);
        expect([refused.status, refused.body.error.code]).toEqual([401, 'E_UNAUTHORIZED']);
        expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      expect((await guarded.request('GET', '/info')).status).toBe(401);
      expect((await guarded.request('GET', '/metrics')).status).toBe(401);
      expect((await guarded.request('GET', '/health')).status).toBe(200);
      const auth = { authorization: 'Bearer s3cret' };
      expect((await guarded.request('POST', '/search', search, auth)).status).toBe(200);
      const write = await guarded.request('POST', '/documents', { documents: [{ id: 'x', vector: { a: 1 } }] }, auth);
      expect([write.status, write.body.error.code]).toEqual([403, 'E_READ_ONLY']);
      expect((await guarded.request('DELETE', '/documents', { ids: ['d1'] }, auth)).status).toBe(403);
      const big = { query: { vector: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`tok${i}`, 1])) } };
      const tooLarge = await guarded.request('POST', '/search', big, auth);
      expect([tooLarge.status, tooLarge.body.error.code]).toEqual([413, 'E_INPUT_LIMIT']);
      // The key is checked before the body is read: no key, no parsing, whatever the size.
      expect((await guarded.request('POST', '/search', big)).status).toBe(401);
    } finally {
      await guarded.stop();
    }
  });
});

describe.skipIf(!hasBuild)('spladex serve: command line', () => {
  it('--help shows every flag of the serve tables with its default and range', () => {
    const help = runCli(['serve', '--help']);
    expect(help.status, help.stderr).toBe(0);
    const text = help.stdout.replace(/\s+/g, ' ');
    for (const table of [SERVE_OPTIONS, SERVE_LIMITS] as const) {
      for (const f of table.flags) {
        expect(text).toContain(f.placeholder === undefined ? f.flag : `${f.flag} <${f.placeholder}>`);
        const spec = (table.specs as Record<string, { min?: number; max?: number }>)[f.key];
        if (spec.min !== undefined) expect(text, f.flag).toContain(`in ${formatInterval(spec)}`);
      }
    }
    expect(text).toContain('(default: 127.0.0.1)');
    expect(text).toContain('(default: $SPLADEX_API_KEY, else none)');
  });

  it('refuses bad flags, a bad SPLADEX_API_KEY, a missing index and a port in use with typed errors (exit 2)', () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['serve', vectorDir, '--port', '70000'], {}, 'spladex: error [E_OPTION]: --port must be an integer in [0, 65535], got 70000'],
      [['serve', vectorDir, '--max-k', '0'], {}, 'spladex: error [E_OPTION]: --max-k must be an integer in [1, 100000], got 0'],
      [['serve', vectorDir, '--port', '0'], { SPLADEX_API_KEY: 'two words' }, 'spladex: error [E_OPTION]: SPLADEX_API_KEY must be a non-empty string without whitespace'],
      [['serve', join(scratch, 'nothing-here'), '--port', '0'], {}, 'spladex: error [E_NOT_AN_INDEX]'],
      [['serve', vectorDir, '--host', '127.0.0.1', '--port', new URL(server.url).port, '--threads', '0'], {}, 'spladex: error [E_OPTION]: cannot listen on 127.0.0.1:'],
    ];
    for (const [args, env, message] of cases) {
      const run = runCli(args, undefined, env);
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });
});

describe('createServer (spladex/server) in a program', () => {
  it('answers without listening (Fastify inject), writes on the calling thread under a TypeScript runner, and closes', async () => {
    const dir = join(scratch, 'library');
    await buildIndex(documents.slice(0, 50), dir, { ...LOSSLESS_BUILD, forwardValues: 'f32', threads: 1 });
    const lines: string[] = [];
    const served = await createServer(dir, { threads: 0, refreshInterval: 0, log: (line) => lines.push(line) });
    try {
      const search = await served.app.inject({ method: 'POST', url: '/search', payload: { query: { vector: queries[0] }, k: 3, exact: true } });
      expect(search.statusCode, search.body).toBe(200);
      expect(search.json().hits.length).toBe(3);
      const added = await served.app.inject({ method: 'POST', url: '/documents', payload: { documents: [{ id: 'lib', vector: { only: 1 } }] } });
      expect(added.json()).toMatchObject({ documents: 1, generation: 2 });
      const found = await served.app.inject({ method: 'POST', url: '/search', payload: { query: { vector: { only: 1 } }, k: 1 } });
      expect(found.json().hits.map((h: { id: string }) => h.id)).toEqual(['lib']);
    } finally {
      await served.close();
    }
    expect(lines).toEqual([]);
  });
});

describe('openapi/spladex.yaml', () => {
  const toOpenApi = (url: string): string => url.replace(/:(\w+)/g, '{$1}');
  it('is a valid OpenAPI 3.1 document with exactly the server\'s routes and request schemas', async () => {
    const validator = new Validator();
    const result = await validator.validate(join(import.meta.dirname, '..', 'openapi', 'spladex.yaml'));
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    const spec = validator.resolveRefs() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; security?: unknown[] }>> };
    const documented = Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${toOpenApi(r.url)}`).sort());
    // Descriptions and examples are documentation; everything else must be what the server validates with.
    const strip = (x: unknown): unknown =>
      Array.isArray(x) ? x.map(strip) : x !== null && typeof x === 'object' ? Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'description' && k !== 'example').map(([k, v]) => [k, strip(v)])) : x;
    const code: Record<string, (limits: typeof SERVE_LIMITS.defaults) => unknown> = {
      'POST /search': searchBodySchema,
      'POST /search/batch': batchBodySchema,
      'POST /documents': addBodySchema,
      'DELETE /documents': deleteBodySchema,
    };
    for (const route of ROUTES) {
      const key = `${route.method} ${route.url}`;
      const operation = spec.paths[toOpenApi(route.url)][route.method.toLowerCase()];
      expect(operation.requestBody !== undefined, key).toBe(route.body !== undefined);
      if (route.body === undefined) continue;
      const documentedSchema = strip(JSON.parse(JSON.stringify(operation.requestBody!.content['application/json'].schema)));
      expect(isDeepStrictEqual(documentedSchema, strip(code[key](SERVE_LIMITS.defaults))), `${key}: the documented request schema differs from the server's`).toBe(true);
      expect(code[key]).toBe(route.body);
      // Open routes are exactly those the file exempts from the bearer token.
      expect(operation.security?.length === 0, key).toBe(route.open === true);
    }
    for (const route of ROUTES.filter((r) => r.body === undefined)) {
      const operation = spec.paths[toOpenApi(route.url)][route.method.toLowerCase()];
      expect(operation.security?.length === 0, route.url).toBe(route.open === true);
    }
  });
});
