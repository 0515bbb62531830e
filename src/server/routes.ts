/**
 * The routes of the HTTP API, one entry each: method, path, schema and handler. The server
 * registers exactly this list and `openapi/spladex.yaml` documents exactly it (a test compares
 * them). Handlers return the answer's body or throw; server.ts turns errors into
 * `{ "error": { "code", "message" } }` answers.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SearchMode } from '../query/options.js';
import { parseFilterCondition, type Filter } from '../store/filter.js';
import { validateVector } from '../io/documents.js';
import { hitsWithFields, parseFields, type HitWithFields } from '../reader/fields.js';
import type { DocumentInput, SearchHit, SparseVectorInput } from '../types.js';
import type { TextDocumentInput } from '../text/text-source.js';
import { SpladexError } from '../errors.js';
import { ApiError } from './errors.js';
import type { ServeLimits, ServeOptions } from './options.js';
import { addBodySchema, batchBodySchema, deleteBodySchema, searchBodySchema, type JsonSchema } from './schemas.js';
import type { RequestSearchOptions, ServedIndex } from './served-index.js';
import type { WriteQueue } from './writes.js';

/** What handlers work with. */
export interface RouteContext {
  index: ServedIndex;
  writes: WriteQueue;
  dir: string;
  options: Omit<Required<ServeOptions>, 'apiKey'>;
  limits: Required<ServeLimits>;
  /** Moves the served index to the latest commit (after the server's own writes: read your writes). */
  refresh(): Promise<unknown>;
  /** Why the last refresh failed (the previous commit is still served), or undefined. */
  stale(): Error | undefined;
  metricsText(): Promise<{ contentType: string; text: string }>;
}

export interface RouteDefinition {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify's pattern (`/documents/:id`); OpenAPI writes `{id}`. */
  url: string;
  /** Answered without the API key (health checks of load balancers and orchestrators). */
  open?: boolean;
  /** Changes the index: refused by a `--read-only` server. */
  write?: boolean;
  body?: (limits: Required<ServeLimits>) => JsonSchema;
  handle(context: RouteContext, request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

type QueryBody = { id?: string | number; vector?: SparseVectorInput; text?: string };
type FilterBody = Filter | string | Array<Filter | string>;
interface SearchOptionsBody {
  k?: number;
  queryCut?: number;
  queryMass?: number;
  heapFactor?: number;
  graphNeighbors?: number;
  targetRecall?: number;
  filterExactBelow?: number;
  exact?: boolean | 'exhaustive' | 'maxscore';
  filter?: FilterBody;
  fields?: Array<'content' | 'metadata'>;
}

type Hit = HitWithFields;

/** Aborted when the client goes away before its answer, so the pool drops its queued searches. */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** The library's search options from a request body: `exact` as the mode, filters in either form. */
function searchOptionsOf(body: SearchOptionsBody, context: RouteContext, reply: FastifyReply): RequestSearchOptions {
  const { exact, filter, fields: _fields, ...rest } = body;
  const options: RequestSearchOptions = { ...rest, signal: abortOnDisconnect(reply), timeoutMs: context.options.searchTimeout };
  if (exact !== undefined) options.mode = (exact === false ? 'approximate' : exact === true ? 'exhaustive' : exact) satisfies SearchMode;
  if (filter !== undefined) options.filter = (Array.isArray(filter) ? filter : [filter]).map((f) => (typeof f === 'string' ? parseFilterCondition(f) : f));
  return options;
}

/** Checks a query vector with the library's rules (token length, weight limit, UTF-8), naming where it is. */
const checkedVector = (vector: SparseVectorInput, where: string): SparseVectorInput => validateVector(vector, { file: where });

/** Adds the stored fields asked for to every hit (one lookup per distinct id), as `spladex search --fields` does. */
async function withFields(results: SearchHit[][], fields: SearchOptionsBody['fields'], index: ServedIndex): Promise<Hit[][]> {
  if (fields === undefined || fields.length === 0) return results;
  const ids = [...new Set(results.flatMap((hits) => hits.map((h) => h.id)))];
  const documents = await index.getDocuments(ids);
  const byId = new Map(ids.map((id, i) => [id, documents[i]]));
  const selected = parseFields(fields);
  return results.map((hits) => hitsWithFields(hits, byId, selected));
}

async function search(context: RouteContext, request: FastifyRequest, reply: FastifyReply): Promise<{ hits: Hit[] }> {
  const body = request.body as SearchOptionsBody & { query: QueryBody };
  const options = searchOptionsOf(body, context, reply);
  const { query } = body;
  const hits = query.text !== undefined ? await context.index.searchText(query.text, options) : await context.index.search(checkedVector(query.vector!, 'query.vector'), options);
  return { hits: (await withFields([hits], body.fields, context.index))[0] };
}

/** Vector queries go to the pool as one batch; text queries are encoded and searched one by one, side by side. */
async function searchBatch(context: RouteContext, request: FastifyRequest, reply: FastifyReply): Promise<{ results: Array<{ id: string; hits: Hit[] }> }> {
  const body = request.body as SearchOptionsBody & { queries: QueryBody[] };
  const options = searchOptionsOf(body, context, reply);
  const { queries } = body;
  const vectors: SparseVectorInput[] = [];
  const vectorAt: number[] = [];
  queries.forEach((q, i) => {
    if (q.vector === undefined) return;
    vectors.push(checkedVector(q.vector, `queries[${i}].vector`));
    vectorAt.push(i);
  });
  const results: SearchHit[][] = new Array<SearchHit[]>(queries.length);
  const batch = vectors.length === 0 ? Promise.resolve([]) : context.index.searchBatch(vectors, options);
  const texts = queries.map((q, i) => (q.text === undefined ? undefined : context.index.searchText(q.text, options).then((hits) => (results[i] = hits))));
  (await batch).forEach((hits, j) => (results[vectorAt[j]] = hits));
  await Promise.all(texts);
  const withStored = await withFields(results, body.fields, context.index);
  return { results: queries.map((q, i) => ({ id: q.id === undefined ? String(i) : String(q.id), hits: withStored[i] })) };
}

async function getDocument(context: RouteContext, request: FastifyRequest): Promise<unknown> {
  const { id } = request.params as { id: string };
  const [doc] = await context.index.getDocuments([id]);
  if (doc === undefined) throw new ApiError(404, 'E_NOT_FOUND', `no live document has id ${JSON.stringify(id)}`);
  return doc;
}

/** Commits a write, then moves the served index to it, so the answer's generation is already searchable. */
async function commit(context: RouteContext, job: Parameters<WriteQueue['run']>[0]): Promise<Record<string, unknown>> {
  const { summary, generation } = await context.writes.run(job);
  await context.refresh();
  return { ...summary, generation };
}

async function addDocuments(context: RouteContext, request: FastifyRequest): Promise<unknown> {
  const { documents } = request.body as { documents: Array<Record<string, unknown>> };
  const withVector = documents.filter((d) => d.vector !== undefined).length;
  if (withVector > 0 && withVector < documents.length) {
    throw new SpladexError('E_INPUT_VECTOR', `documents mix vectors (${withVector}) and text (${documents.length - withVector}): send all vector documents, or all text documents on an index built from text`);
  }
  const common = { dir: context.dir, lockWait: context.options.lockWait };
  return commit(
    context,
    withVector > 0 ? { ...common, op: 'add', documents: documents as unknown as DocumentInput[] } : { ...common, op: 'addText', documents: documents as TextDocumentInput[] },
  );
}

async function deleteDocuments(context: RouteContext, request: FastifyRequest): Promise<unknown> {
  const { ids } = request.body as { ids: Array<string | number> };
  return commit(context, { op: 'delete', dir: context.dir, lockWait: context.options.lockWait, ids: ids.map(String) });
}

async function info(context: RouteContext): Promise<unknown> {
  const { path: _path, ...index } = await context.index.info();
  const { threads, queueDepth, inFlight, completed } = context.index.stats();
  return { index, server: { threads, readOnly: context.options.readOnly, limits: context.limits, searches: { queueDepth, inFlight, completed } } };
}

/** 200 while the index is served; `stale` when the latest commit could not be loaded (the previous one still is). */
async function health(context: RouteContext): Promise<unknown> {
  const generation = context.index.stats().generation;
  const stale = context.stale();
  if (stale === undefined) return { status: 'ok', generation };
  return { status: 'stale', generation, error: { code: (stale as { code?: string }).code ?? 'E_INTERNAL', message: stale.message } };
}

async function metrics(context: RouteContext, _request: FastifyRequest, reply: FastifyReply): Promise<string> {
  const { contentType, text } = await context.metricsText();
  reply.type(contentType);
  return text;
}

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'POST', url: '/search', body: searchBodySchema, handle: search },
  { method: 'POST', url: '/search/batch', body: batchBodySchema, handle: searchBatch },
  { method: 'GET', url: '/documents/:id', handle: getDocument },
  { method: 'POST', url: '/documents', write: true, body: addBodySchema, handle: addDocuments },
  { method: 'DELETE', url: '/documents', write: true, body: deleteBodySchema, handle: deleteDocuments },
  { method: 'GET', url: '/info', handle: info },
  { method: 'GET', url: '/health', open: true, handle: health },
  { method: 'GET', url: '/metrics', handle: metrics },
];
