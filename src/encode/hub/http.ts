/**
 * The Hub's HTTP protocol, as the official clients (huggingface_hub) speak it:
 *
 * - `GET {endpoint}/api/models/{repo}/revision/{revision}` → `{ sha, siblings: [{ rfilename }] }`:
 *   the commit a branch or tag names now, and the repository's files.
 * - `HEAD {endpoint}/{repo}/resolve/{commit}/{file}` with `Accept-Encoding: identity` (a compressed
 *   answer would change the ETag and the length): `X-Repo-Commit`, `ETag` and `Content-Length` of
 *   the file. Relative redirects (a renamed repository, the Hub's resolve cache) are followed; an
 *   absolute one to another host is the file CDN, used for LFS files, and that answer carries
 *   `X-Linked-Etag` (the SHA-256 of the file) and `X-Linked-Size`.
 * - `GET` of the CDN location (or of the resolve URL itself), with `Range: bytes=n-` to resume.
 *
 * The token goes to the endpoint's origin only, never to the CDN (its URLs are signed). Errors are
 * typed from the status and the Hub's `X-Error-Code` header (RepoNotFound, RevisionNotFound,
 * EntryNotFound, GatedRepo); a connection failure or time-out is E_HUB_OFFLINE.
 */
import { SpladexError } from '../../errors.js';
import type { HubSettings } from './settings.js';

/** What the request was about, for error messages. */
interface HubRequestContext {
  repo: string;
  revision: string;
  file?: string;
}

interface RevisionInfo {
  /** The commit the revision names. */
  commit: string;
  /** The repository's files (repo paths, `onnx/model.onnx`). */
  files: string[];
}

export interface FileMetadata {
  /** The commit the file was resolved at (X-Repo-Commit). */
  commit: string | null;
  /** The blob name: X-Linked-Etag for LFS files, else ETag; quotes and W/ removed. */
  etag: string;
  /** Bytes of the file. */
  size: number;
  /** Where to GET the bytes: the CDN URL of an LFS file, else the resolve URL. */
  location: string;
  /** The SHA-256 the bytes must have (LFS files), or null. */
  sha256: string | null;
}

const USER_AGENT = `spladex; node/${process.versions.node}`;
const MAX_RELATIVE_REDIRECTS = 10;

export class HubClient {
  readonly settings: HubSettings;
  private readonly origin: string;

  constructor(settings: HubSettings) {
    this.settings = settings;
    try {
      this.origin = new URL(settings.endpoint).origin;
    } catch (cause) {
      throw new SpladexError('E_OPTION', `HF_ENDPOINT is not a URL: "${settings.endpoint}"; give e.g. https://huggingface.co`, { cause });
    }
  }

  /** Request headers for `url`: the token only when it goes to the endpoint's own origin. */
  headers(url: string, extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...extra };
    if (this.settings.token !== null && new URL(url).origin === this.origin) headers.authorization = `Bearer ${this.settings.token}`;
    return headers;
  }

  /** The commit `revision` names on the Hub now, and the repository's files. */
  async revisionInfo(repo: string, revision: string): Promise<RevisionInfo> {
    const url = `${this.settings.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
    const response = await this.request(url, { method: 'GET', redirect: 'follow' }, this.settings.metadataTimeoutMs);
    const context = { repo, revision };
    if (!response.ok) throw await this.httpError(response, url, context);
    let body: { sha?: unknown; siblings?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch (cause) {
      throw new SpladexError('E_HUB_RESPONSE', `the Hub's answer for ${repo}@${revision} is not JSON (${(cause as Error).message}); is HF_ENDPOINT (${this.settings.endpoint}) a Hugging Face Hub?`, { cause });
    }
    const commit = typeof body.sha === 'string' ? body.sha : '';
    if (!/^[0-9a-f]{40}$/.test(commit) || !Array.isArray(body.siblings)) {
      throw new SpladexError('E_HUB_RESPONSE', `the Hub's answer for ${repo}@${revision} has no commit or file list; is HF_ENDPOINT (${this.settings.endpoint}) a Hugging Face Hub?`);
    }
    const files = body.siblings.map((s) => (s as { rfilename?: unknown } | null)?.rfilename).filter((f): f is string => typeof f === 'string');
    return { commit, files };
  }

  /** HEAD of a file at a commit: its blob name, size, CDN location and checksum. */
  async fileMetadata(repo: string, commit: string, file: string): Promise<FileMetadata> {
    const context = { repo, revision: commit, file };
    let url = `${this.settings.endpoint}/${repo}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
    let response = await this.request(url, { method: 'HEAD', redirect: 'manual' }, this.settings.metadataTimeoutMs);
    for (let hops = 0; isRedirect(response.status); hops++) {
      const target = new URL(response.headers.get('location') ?? '', url);
      // An absolute redirect elsewhere is the CDN: this answer is the one carrying the metadata.
      if (target.origin !== new URL(url).origin) break;
      if (hops === MAX_RELATIVE_REDIRECTS) throw new SpladexError('E_HUB_RESPONSE', `too many redirects resolving ${file} of ${repo}`);
      url = target.href;
      response = await this.request(url, { method: 'HEAD', redirect: 'manual' }, this.settings.metadataTimeoutMs);
    }
    if (!response.ok && !isRedirect(response.status)) throw await this.httpError(response, url, context);
    const h = response.headers;
    const linkedEtag = h.get('x-linked-etag');
    const etag = normalizeEtag(linkedEtag ?? h.get('etag'));
    const size = Number(h.get('x-linked-size') ?? h.get('content-length'));
    if (etag === null || !/^[\w.-]{1,128}$/.test(etag) || etag.startsWith('.')) {
      throw new SpladexError('E_HUB_RESPONSE', `the Hub gave no usable ETag for ${file} of ${repo} (got ${JSON.stringify(h.get('etag'))}); is HF_ENDPOINT (${this.settings.endpoint}) a Hugging Face Hub, and not a proxy that drops headers?`);
    }
    if (!Number.isSafeInteger(size) || size < 0) throw new SpladexError('E_HUB_RESPONSE', `the Hub gave no size for ${file} of ${repo}`);
    const location = isRedirect(response.status) ? new URL(h.get('location') ?? '', url).href : url;
    return { commit: h.get('x-repo-commit'), etag, size, location, sha256: linkedEtag !== null && /^[0-9a-f]{64}$/.test(etag) ? etag : null };
  }

  /** GET of a file's bytes from `start` on (a Range request when start > 0), answered status checked by the caller. */
  async download(url: string, start: number, signal: AbortSignal): Promise<Response> {
    const extra: Record<string, string> = start > 0 ? { range: `bytes=${start}-` } : {};
    return this.request(url, { method: 'GET', redirect: 'follow', headers: this.headers(url, extra), signal }, null);
  }

  /** fetch, with a connection failure or time-out turned into E_HUB_OFFLINE. */
  private async request(url: string, init: RequestInit, timeoutMs: number | null): Promise<Response> {
    const signal = timeoutMs === null ? init.signal : AbortSignal.timeout(timeoutMs);
    try {
      return await fetch(url, { headers: this.headers(url), ...init, ...(signal === undefined || signal === null ? {} : { signal }) });
    } catch (cause) {
      throw this.networkError(cause, url);
    }
  }

  /** E_HUB_OFFLINE for a request that got no answer. */
  networkError(cause: unknown, url: string): SpladexError {
    const reason = networkReason(cause);
    return new SpladexError(
      'E_HUB_OFFLINE',
      `cannot reach ${new URL(url).origin} (${reason}); check the network connection and HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use models already in the cache`,
      { cause },
    );
  }

  /** The typed error for an HTTP error answer. */
  async httpError(response: Response, url: string, context: HubRequestContext): Promise<SpladexError> {
    const code = response.headers.get('x-error-code');
    const serverMessage = response.headers.get('x-error-message') ?? (await response.text().catch(() => '')).slice(0, 200);
    const said = serverMessage === '' ? '' : ` (the Hub says: ${serverMessage.replace(/\s+/g, ' ').trim()})`;
    const { repo, revision, file } = context;
    const endpoint = this.settings.endpoint;
    const tokenHint = this.settings.token === null ? '; if it is private, set HF_TOKEN (or save a token in $HF_HOME/token)' : '';
    const status = response.status;
    if (code === 'RepoNotFound') {
      return new SpladexError('E_HUB_NOT_FOUND', `the model repository ${repo} does not exist on ${endpoint}${tokenHint}; check the name (org/name)`);
    }
    if (code === 'RevisionNotFound') {
      return new SpladexError('E_HUB_NOT_FOUND', `${repo} has no revision "${revision}"; give a branch, a tag or a 40-hex commit of the repository (default main)`);
    }
    if (code === 'EntryNotFound' || (status === 404 && file !== undefined)) {
      return new SpladexError('E_HUB_NOT_FOUND', `${repo}@${revision} has no file ${file ?? '?'}${said}`);
    }
    if (status === 404) {
      return new SpladexError('E_HUB_NOT_FOUND', `${repo}@${revision} was not found on ${endpoint}${said}${tokenHint}; check the repository name and the revision`);
    }
    if (code === 'GatedRepo') {
      return new SpladexError(
        'E_HUB_AUTH',
        this.settings.token === null
          ? `${repo} is a gated model: accept its conditions at ${endpoint}/${repo}, then set HF_TOKEN to an access token of that account (or save it in $HF_HOME/token)`
          : `${repo} is a gated model and the token's account has not been granted access: accept its conditions at ${endpoint}/${repo} with that account${said}`,
      );
    }
    if (status === 401 || status === 403) {
      return new SpladexError(
        'E_HUB_AUTH',
        this.settings.token === null
          ? `${repo} needs authentication (HTTP ${status}): set HF_TOKEN to an access token that can read it (or save one in $HF_HOME/token)${said}`
          : `the Hub refused the token for ${repo} (HTTP ${status})${said}: check HF_TOKEN or $HF_HOME/token, and that its account can read the repository`,
      );
    }
    return new SpladexError('E_HUB_RESPONSE', `the Hub answered HTTP ${status} ${response.statusText} for ${url}${said}; try again later`);
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** `W/"abc"` → `abc`: the Hub's ETags are quoted, and a weak prefix does not change the blob name. */
function normalizeEtag(etag: string | null): string | null {
  if (etag === null) return null;
  const bare = etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return bare === '' ? null : bare;
}

/** "ECONNREFUSED", "timed out after 10 s", … for a failed fetch. */
function networkReason(cause: unknown): string {
  const error = cause as { name?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') return 'no answer in time';
  return error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(cause);
}
