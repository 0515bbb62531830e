/**
 * The connection to a cluster: the official client (`@opensearch-project/opensearch`, loaded on
 * first use so `import 'spladex/opensearch'` stays light), authentication and TLS as that client
 * takes them, and the retry policy every request of the bridge goes through — 429 and 5xx answers
 * and requests that got no answer (a node stopped, a connection reset, a time-out) are retried with
 * exponential back-off, other errors fail at once as `E_OPENSEARCH` with the cluster's reason.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@opensearch-project/opensearch';
import { SpladexError } from '../errors.js';
import { OPENSEARCH_CONNECTION_OPTIONS, type OpenSearchConnectionOptions } from './options.js';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/** What a failed request looked like, as far as the retry policy cares. */
interface RequestFailure {
  status: number | undefined;
  reason: string;
}

function describeFailure(error: unknown): RequestFailure {
  const e = error as { name?: string; message?: string; meta?: { statusCode?: number; body?: unknown } };
  const status = e.meta?.statusCode ?? undefined;
  const body = e.meta?.body as { error?: { type?: string; reason?: string; root_cause?: Array<{ reason?: string }> } | string } | undefined;
  const detail = typeof body?.error === 'string' ? body.error : body?.error === undefined ? undefined : [body.error.type, body.error.root_cause?.[0]?.reason ?? body.error.reason].filter(Boolean).join(': ');
  return { status, reason: detail ?? `${e.name ?? 'Error'}: ${e.message ?? String(error)}` };
}

/** Answers worth another try: overload (429), server-side failures (5xx) and no answer at all. */
function isRetryable(failure: { status: number | undefined }): boolean {
  return failure.status === undefined || failure.status === 429 || failure.status >= 500;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A cluster and an index name, with the retry policy. */
export class OpenSearchConnection {
  /** Retries that were needed so far (reported by exports and benchmarks). */
  retried = 0;

  private constructor(
    readonly client: Client,
    readonly index: string,
    readonly urls: readonly string[],
    private readonly retries: number,
  ) {}

  /** Connects (lazily: the first request opens sockets); `E_OPTION` without an index name. */
  static async open(options: OpenSearchConnectionOptions, { requireIndex = true } = {}): Promise<OpenSearchConnection> {
    // Every option but the credentials, the files and the index has a default in the table.
    const o = OPENSEARCH_CONNECTION_OPTIONS.resolve(options) as OpenSearchConnectionOptions & { url: string[]; insecure: boolean; requestTimeout: number; retries: number };
    if (requireIndex && o.index === undefined) throw new SpladexError('E_OPTION', '--index <name> is required: the OpenSearch index to use');
    const password = o.password ?? process.env.SPLADEX_OPENSEARCH_PASSWORD;
    const apiKey = o.apiKey ?? process.env.SPLADEX_OPENSEARCH_API_KEY;
    if (password !== undefined && o.username === undefined) throw new SpladexError('E_OPTION', '--password needs --username (basic authentication)');
    if (apiKey !== undefined && o.username !== undefined) throw new SpladexError('E_OPTION', 'give either --username/--password or --api-key, not both');
    const pem = (file: string | undefined, what: string): string | undefined => {
      if (file === undefined) return undefined;
      try {
        return readFileSync(file, 'utf8');
      } catch (cause) {
        throw new SpladexError('E_IO', `cannot read the ${what}; check the path`, { file, cause });
      }
    };
    const urls = o.url ?? [];
    if (urls.length === 0) throw new SpladexError('E_OPTION', '--url needs at least one cluster URL');
    for (const url of urls) {
      if (!/^https?:\/\/[^/]/.test(url)) throw new SpladexError('E_OPTION', `--url must be http:// or https:// URLs, got ${JSON.stringify(url)}`);
    }
    const { Client } = await import('@opensearch-project/opensearch');
    const ca = pem(o.ca, 'certificate authority file');
    const cert = pem(o.cert, 'client certificate');
    const key = pem(o.key, 'client key');
    const client = new Client({
      nodes: urls,
      // The client's own retries move a request to another node when one does not answer; ours
      // (below) add back-off for overload and for a cluster that is electing or recovering.
      maxRetries: Math.min(2, o.retries),
      requestTimeout: o.requestTimeout,
      ...(o.username !== undefined ? { auth: { username: o.username, password: password ?? '' } } : {}),
      ...(apiKey !== undefined ? { headers: { authorization: `ApiKey ${apiKey}` } } : {}),
      ...(ca !== undefined || cert !== undefined || key !== undefined || o.insecure
        ? { ssl: { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}), rejectUnauthorized: !o.insecure } }
        : {}),
    });
    const connection = new OpenSearchConnection(client, o.index ?? '', urls, o.retries);
    // The client's own retries (another node after a connection failure) count as retries too.
    client.on('response', (_error, result) => {
      connection.retried += (result as { meta?: { attempts?: number } } | null)?.meta?.attempts ?? 0;
    });
    return connection;
  }

  /**
   * Runs `request` under the retry policy; `what` names it in errors ("creating index x").
   * `retryIf` lets a caller retry answers that came back 200 but incomplete (failed shards).
   */
  async call<T>(what: string, request: () => Promise<T>, retryIf?: (result: T) => string | undefined): Promise<T> {
    let backoff = FIRST_BACKOFF_MS;
    for (let attempt = 0; ; attempt++) {
      let failure: RequestFailure;
      try {
        const result = await request();
        const incomplete = retryIf?.(result);
        if (incomplete === undefined) return result;
        failure = { status: 503, reason: incomplete };
      } catch (error) {
        if (error instanceof SpladexError) throw error;
        failure = describeFailure(error);
        if (!isRetryable(failure)) throw this.failed(what, failure, error);
      }
      if (attempt >= this.retries) throw this.failed(what, failure, undefined, attempt);
      this.retried++;
      await sleep(backoff * (0.5 + Math.random() / 2));
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  }

  private failed(what: string, failure: RequestFailure, cause: unknown, attempts?: number): SpladexError {
    const tries = attempts === undefined ? '' : ` after ${attempts + 1} attempts`;
    const advice =
      failure.status === 401 || failure.status === 403
        ? 'check --username/--password or --api-key'
        : failure.status === undefined
          ? `check that the cluster runs and --url (${this.urls.join(', ')}) reaches it`
          : failure.status === 404
            ? 'check --index (an index is made by "spladex export opensearch")'
            : "the reason is the cluster's";
    return new SpladexError('E_OPENSEARCH', `${what} failed${tries}${failure.status === undefined ? '' : ` (HTTP ${failure.status})`}: ${failure.reason}; ${advice}`, { cause });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
