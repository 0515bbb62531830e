/**
 * `createServer(dir)`: the HTTP API of `spladex serve` (Fastify). Searches run on the search pool
 * (or the main thread with `threads: 0`), writes on a write thread of their own (writes.ts), so
 * neither a slow search nor a large write stalls the event loop that parses and answers requests.
 *
 * Around every route: the API key (checked before the body is read, so an unauthenticated upload
 * is refused without parsing it), the read-only switch, JSON-schema validation (strict: no type
 * coercion, no silently dropped properties), errors as `{ "error": { "code", "message" } }`, and
 * the request metrics. `close()` drains: new requests get 503 while in-flight ones finish, for at
 * most `drainTimeout` ms.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { INPUT_LIMITS } from '../io/documents.js';
import { apiErrorOf, ApiError, errorBody } from './errors.js';
import { SERVE_LIMITS, SERVE_OPTIONS, type ServeLimits, type ServeOptions } from './options.js';
import { ROUTES, type RouteContext, type RouteDefinition } from './routes.js';
import { searchOptionChecks } from './schemas.js';
import { openServedIndex, type ServedIndex } from './served-index.js';
import { WriteQueue } from './writes.js';

export interface ServerOptions extends ServeOptions, ServeLimits {
  /** Where the server logs what needs attention (internal errors, a failed refresh, the drain). Default: stderr. */
  log?: (line: string) => void;
}

export interface SpladexServer {
  /** The Fastify instance, e.g. for `inject` in tests. */
  readonly app: FastifyInstance;
  /** Starts listening on the configured host and port; resolves with the address (`http://127.0.0.1:7700`). */
  listen(): Promise<string>;
  /** Stops accepting requests, lets in-flight ones finish (at most `drainTimeout` ms), then closes the index. */
  close(): Promise<void>;
}

/** The time a client gets to send one whole request (headers and body): a slow upload is cut off, never waited for. */
const REQUEST_TIMEOUT_MS = 60_000;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares in constant time (of the digests), so response timing tells nothing about the key. */
function authorized(header: string | undefined, key: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]), key);
}

const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? '(unmatched)';
const configOf = (request: FastifyRequest): Partial<RouteDefinition> => (request.routeOptions.config ?? {}) as Partial<RouteDefinition>;

export async function createServer(dir: string, options: ServerOptions = {}): Promise<SpladexServer> {
  const { apiKey, ...o } = SERVE_OPTIONS.resolve(options);
  const limits = SERVE_LIMITS.resolve(options);
  const index = await openServedIndex(dir, { threads: o.threads, queueLimit: o.queueLimit, timeoutMs: o.searchTimeout });
  try {
    return await serve(dir, index, { ...o, apiKey }, limits, options.log ?? ((line: string) => process.stderr.write(`${line}\n`)));
  } catch (error) {
    await index.close();
    throw error;
  }
}

async function serve(
  dir: string,
  index: ServedIndex,
  { apiKey, ...o }: Omit<Required<ServeOptions>, 'apiKey'> & Pick<ServeOptions, 'apiKey'>,
  limits: Required<ServeLimits>,
  log: (line: string) => void,
): Promise<SpladexServer> {
  // Loaded here, not at import: every CLI command imports this module's entry for serve's flags.
  const [{ default: Fastify }, { ServerMetrics }] = await Promise.all([import('fastify'), import('./metrics.js')]);
  const writes = new WriteQueue();
  const metrics = new ServerMetrics(() => index.stats());

  /** The last refresh's failure (the previous state is still served), cleared by the next success. */
  let stale: Error | undefined;
  let refreshing: Promise<unknown> = Promise.resolve();
  // One refresh at a time, each starting after the previous one: a refresh asked for after a
  // commit must not be folded into one that started before it.
  const refresh = (): Promise<unknown> => {
    const next = refreshing.then(() => index.refresh());
    refreshing = next.then(
      () => (stale = undefined),
      (error: unknown) => {
        if (stale === undefined) log(`spladex serve: cannot move to the latest commit, still serving generation ${index.stats().generation}: ${(error as Error).message}`);
        stale = error as Error;
      },
    );
    return next;
  };
  const context: RouteContext = {
    index,
    writes,
    dir,
    options: o,
    limits,
    refresh,
    stale: () => stale,
    metricsText: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
  };

  const app = Fastify({
    bodyLimit: limits.bodyLimit,
    logger: false,
    // Refused while closing by the hooks below instead, with an error body like every other.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestTimeout: REQUEST_TIMEOUT_MS,
    // An id may have 1000 characters (INPUT_LIMITS.maxIdLength), each up to 12 once URL-encoded.
    routerOptions: { maxParamLength: 12 * INPUT_LIMITS.maxIdLength },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allowUnionTypes: true } },
  });

  const checks = searchOptionChecks(limits);
  const key = apiKey === undefined ? undefined : digest(apiKey);
  let draining = false;
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (draining) {
      reply.header('connection', 'close');
      throw new ApiError(503, 'E_CLOSED', 'the server is shutting down');
    }
    const config = configOf(request);
    if (key !== undefined && config.open !== true && !authorized(request.headers.authorization, key)) {
      reply.header('WWW-Authenticate', 'Bearer realm="spladex"');
      throw new ApiError(401, 'E_UNAUTHORIZED', 'this server needs "Authorization: Bearer <key>" (the key it was started with, --api-key or SPLADEX_API_KEY)');
    }
    if (config.write === true && o.readOnly) throw new ApiError(403, 'E_READ_ONLY', 'this server was started with --read-only: it does not change the index');
  });
  // While draining, a keep-alive connection is closed after its in-flight answer: the drain ends
  // when the last answer is sent, not when idle connections time out.
  app.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply) => {
    if (draining) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    metrics.observe(request.method, routeOf(request), reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler(async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = apiErrorOf(error, routeOf(request), request.body, checks);
    if (e.status >= 500 && e.code === 'E_INTERNAL') log(`spladex serve: internal error on ${request.method} ${request.url}: ${(error as Error)?.stack ?? String(error)}`);
    reply.code(e.status);
    return errorBody(e);
  });
  app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
    reply.code(404);
    return errorBody(new ApiError(404, 'E_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]} (the API is in openapi/spladex.yaml)`));
  });

  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      config: { open: route.open, write: route.write },
      ...(route.body === undefined ? {} : { schema: { body: route.body(limits) } }),
      handler: (request, reply) => route.handle(context, request, reply),
    });
  }
  await app.ready();

  let timerBusy = false;
  const timer =
    o.refreshInterval > 0
      ? setInterval(() => {
          if (timerBusy) return;
          timerBusy = true;
          refresh()
            .catch(() => undefined)
            .finally(() => (timerBusy = false));
        }, o.refreshInterval)
      : undefined;
  timer?.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    async listen() {
      await app.listen({ host: o.host, port: o.port });
      const address = app.server.address();
      if (address === null || typeof address === 'string') return String(address);
      return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    },
    close() {
      closing ??= (async () => {
        if (timer !== undefined) clearInterval(timer);
        draining = true;
        let drained = false;
        const deadline = new Promise<void>((resolve) => setTimeout(resolve, o.drainTimeout).unref());
        await Promise.race([app.close().then(() => (drained = true)), deadline]);
        if (!drained) {
          log(`spladex serve: requests still running after ${o.drainTimeout} ms (--drain-timeout); closing their connections`);
          app.server.closeAllConnections();
        }
        await writes.close();
        await refreshing;
        await index.close();
      })();
      return closing;
    },
  };
}
