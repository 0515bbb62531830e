/**
 * A loopback Hugging Face Hub for tests: two real HTTP servers on 127.0.0.1 (port 0), the Hub and
 * its file CDN on another origin, answering as the real ones do:
 *
 * - `GET /api/models/{repo}/revision/{revision}` → `{ id, sha, siblings: [{ rfilename }] … }`
 * - `HEAD|GET /{repo}/resolve/{revision}/{file}`: small files directly (`ETag` = git blob hash,
 *   `X-Repo-Commit`, `Content-Length`); LFS files (.onnx, .safetensors, .bin) as a 302 to the CDN
 *   with `X-Linked-Etag` (SHA-256) and `X-Linked-Size` (the redirect's own Content-Length is not the
 *   file's); a renamed repository as a relative 307 to its new name.
 * - the CDN: `GET|HEAD /blobs/{sha256}` with `Range: bytes=n-` (206 / 416).
 * - errors as the Hub sends them, with `X-Error-Code`: RepoNotFound (401 without a token — the Hub
 *   does not reveal whether a private repo exists — 404 with one), RevisionNotFound, EntryNotFound,
 *   GatedRepo (401 without a token, 403 for a token not granted access); an invalid token is 401.
 *
 * Faults for the client to survive: `dropNextDownload` (the CDN sends part of a blob, then drops
 * the connection, once), `corrupt` (the CDN serves a blob with a flipped byte). Every request is
 * logged (`requests`) so tests can check what the client asked for and that the CDN never saw the
 * token. Repositories, commits, branches and tags are set up by the test (`commit`, `setRef`).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { writeTinyMaskedLm } from '../../src/testing/tiny-model.js';

export type RepoAccess = 'public' | 'gated' | 'private';

export interface HubRequest {
  server: 'hub' | 'cdn';
  method: string;
  /** Path and query as received. */
  url: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

interface EmulatedFile {
  data: Buffer;
  lfs: boolean;
  /** Git blob hash (the ETag of a small file, and the identity of an LFS pointer's content). */
  gitOid: string;
  sha256: string;
}

interface EmulatedRepo {
  access: RepoAccess;
  commits: Map<string, Map<string, EmulatedFile>>;
  refs: Map<string, string>;
}

const LFS_FILE = /\.(?:onnx|onnx_data|safetensors|bin)$/;

function gitBlobOid(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** The files of the tiny generated masked-LM (model.onnx, vocab.txt, tokenizer.json, config.json, tokenizer_config.json). */
export async function tinyModelFiles(seed: number): Promise<Record<string, Buffer>> {
  const dir = mkdtempSync(join(tmpdir(), 'spladex-hub-model-'));
  try {
    await writeTinyMaskedLm(dir, { seed });
    const files: Record<string, Buffer> = {};
    const walk = (at: string): void => {
      for (const name of readdirSync(at)) {
        const path = join(at, name);
        if (statSync(path).isDirectory()) walk(path);
        else files[relative(dir, path).split('\\').join('/')] = readFileSync(path);
      }
    };
    walk(dir);
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class HubEmulator {
  /** The token that reads every repository (gated ones included). */
  readonly token = 'hf_emulator_good_token';
  /** A valid token whose account was not granted access to gated repositories. */
  readonly ungrantedToken = 'hf_emulator_ungranted_token';
  readonly requests: HubRequest[] = [];
  private readonly repos = new Map<string, EmulatedRepo>();
  private readonly aliases = new Map<string, string>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly drops = new Map<string, number>();
  private readonly corrupted = new Set<string>();
  private commitCounter = 0;

  private constructor(
    private readonly hub: Server,
    private readonly cdn: Server,
  ) {}

  static async start(): Promise<HubEmulator> {
    const emulator = new HubEmulator(createServer(), createServer());
    emulator.hub.on('request', (req, res) => emulator.serveHub(req, res));
    emulator.cdn.on('request', (req, res) => emulator.serveCdn(req, res));
    await Promise.all([listen(emulator.hub), listen(emulator.cdn)]);
    return emulator;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
  }

  private get cdnOrigin(): string {
    return `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) server.closeAllConnections();
    await Promise.all([this.hub, this.cdn].map((server) => new Promise<void>((done) => server.close(() => done()))));
  }

  addRepo(repo: string, access: RepoAccess = 'public'): void {
    this.repos.set(repo, { access, commits: new Map(), refs: new Map() });
  }

  /** `from` answers with a relative redirect to `to`, as the Hub does for a renamed repository. */
  rename(from: string, to: string): void {
    this.aliases.set(from, to);
  }

  /** Adds a commit holding exactly `files` and points `branch` at it; returns its hash. */
  commit(repo: string, files: Record<string, Buffer | string>, branch = 'main'): string {
    const r = this.repo(repo);
    const tree = new Map<string, EmulatedFile>();
    const hash = createHash('sha1').update(`${repo}\0${++this.commitCounter}`);
    for (const [path, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
      const file = { data, lfs: LFS_FILE.test(path), gitOid: gitBlobOid(data), sha256: createHash('sha256').update(data).digest('hex') };
      tree.set(path, file);
      this.blobs.set(file.sha256, data);
      hash.update(`${path}\0${file.gitOid}\0`);
    }
    const sha = hash.digest('hex');
    r.commits.set(sha, tree);
    r.refs.set(branch, sha);
    return sha;
  }

  /** Points a branch or tag at a commit (moves a branch). */
  setRef(repo: string, name: string, sha: string): void {
    this.repo(repo).refs.set(name, sha);
  }

  /** The SHA-256 of a file at a revision (the blob the CDN serves). */
  sha256Of(repo: string, path: string, revision = 'main'): string {
    const file = this.tree(repo, revision)?.get(path);
    if (file === undefined) throw new Error(`${repo}@${revision} has no ${path}`);
    return file.sha256;
  }

  /** The next CDN download of this file's blob sends `afterBytes` bytes, then drops the connection. */
  dropNextDownload(repo: string, path: string, afterBytes: number): void {
    this.drops.set(this.sha256Of(repo, path), afterBytes);
  }

  /** The CDN serves this file's blob with one byte flipped (the Hub still announces the true SHA-256). */
  corrupt(repo: string, path: string): void {
    this.corrupted.add(this.sha256Of(repo, path));
  }

  private repo(repo: string): EmulatedRepo {
    const r = this.repos.get(repo);
    if (r === undefined) throw new Error(`no emulated repo ${repo}`);
    return r;
  }

  private tree(repo: string, revision: string): Map<string, EmulatedFile> | undefined {
    const r = this.repos.get(repo);
    if (r === undefined) return undefined;
    return r.commits.get(r.refs.get(revision) ?? revision);
  }

  private log(server: 'hub' | 'cdn', req: IncomingMessage, res: ServerResponse): void {
    const entry: HubRequest = { server, method: req.method ?? '', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization, status: 0 };
    this.requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => (entry.status ||= res.statusCode));
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    this.log('hub', req, res);
    const url = new URL(req.url ?? '/', this.endpoint);
    const path = url.pathname;
    const fail = (status: number, code: string | null, message: string): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...(code === null ? {} : { 'x-error-code': code }), 'x-error-message': message });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ error: message }));
    };
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token !== undefined && token !== this.token && token !== this.ungrantedToken) return fail(401, null, 'Invalid credentials in Authorization header');
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(path);
    const resolve = api === null ? /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path) : null;
    if (api === null && resolve === null) return fail(404, null, 'Not found');
    const repoId = decodeURIComponent((api ?? resolve)![1]);
    const revision = decodeURIComponent((api ?? resolve)![2]);
    const alias = this.aliases.get(repoId);
    if (alias !== undefined) {
      res.writeHead(307, { location: path.replace(`/${repoId}/`, `/${alias}/`) + url.search });
      return void res.end();
    }
    const repo = this.repos.get(repoId);
    // The Hub answers 401 for an unknown repository without a token, not to reveal private ones.
    if (repo === undefined || (repo.access === 'private' && token !== this.token)) return fail(token === undefined ? 401 : 404, 'RepoNotFound', 'Repository not found');
    const sha = repo.refs.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);
    if (sha === undefined) return fail(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    const tree = repo.commits.get(sha)!;
    if (api !== null) {
      const withBlobs = url.searchParams.get('blobs') === 'true';
      const siblings = [...tree].map(([rfilename, f]) => ({ rfilename, ...(withBlobs ? { size: f.data.length, blobId: f.gitOid, ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.data.length } } : {}) } : {}) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ _id: sha.slice(0, 24), id: repoId, modelId: repoId, sha, private: repo.access === 'private', gated: repo.access === 'gated' ? 'manual' : false, siblings }));
    }
    if (repo.access === 'gated' && token !== this.token) {
      return token === undefined
        ? fail(401, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`)
        : fail(403, 'GatedRepo', `Access to model ${repoId} is restricted and you are not in the authorized list.`);
    }
    const file = tree.get(decodeURIComponent(resolve![3]));
    if (file === undefined) return fail(404, 'EntryNotFound', 'Entry not found');
    if (file.lfs) {
      const body = `Found. Redirecting to ${this.cdnOrigin}/blobs/${file.sha256}`;
      res.writeHead(302, {
        location: `${this.cdnOrigin}/blobs/${file.sha256}?X-Amz-Signature=emulated`,
        etag: `"${gitBlobOid(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.data.length}\n`))}"`,
        'x-repo-commit': sha,
        'x-linked-etag': `"${file.sha256}"`,
        'x-linked-size': String(file.data.length),
        'content-length': String(Buffer.byteLength(body)),
      });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    serveBytes(req, res, file.data, { etag: `"${file.gitOid}"`, 'x-repo-commit': sha });
  }

  private serveCdn(req: IncomingMessage, res: ServerResponse): void {
    this.log('cdn', req, res);
    const sha256 = /^\/blobs\/([0-9a-f]{64})$/.exec(new URL(req.url ?? '/', this.cdnOrigin).pathname)?.[1];
    const blob = sha256 === undefined ? undefined : this.blobs.get(sha256);
    if (sha256 === undefined || blob === undefined) {
      res.writeHead(404);
      return void res.end();
    }
    let data = blob;
    if (this.corrupted.has(sha256)) {
      data = Buffer.from(blob);
      data[data.length >> 1] ^= 0x40;
    }
    const drop = req.method === 'GET' ? this.drops.get(sha256) : undefined;
    if (drop !== undefined) {
      this.drops.delete(sha256);
      const start = rangeStart(req.headers.range) ?? 0;
      res.writeHead(start > 0 ? 206 : 200, { 'content-length': String(data.length - start), ...(start > 0 ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}) });
      // Flushed before the socket goes, so the client holds a partial body when the connection drops.
      res.write(data.subarray(start, start + drop), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    serveBytes(req, res, data, { etag: `"${sha256}"` });
  }
}

function rangeStart(range: string | undefined): number | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
  return match === null ? undefined : Number(match[1]);
}

/** 200, or 206 / 416 for a `Range: bytes=n-[m]` request; HEAD without the body. */
function serveBytes(req: IncomingMessage, res: ServerResponse, data: Buffer, headers: Record<string, string>): void {
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const common = { ...headers, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  if (match === null) {
    res.writeHead(200, { ...common, 'content-length': String(data.length) });
    return void res.end(req.method === 'HEAD' ? undefined : data);
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? data.length - 1 : Math.min(Number(match[2]), data.length - 1);
  if (start >= data.length || start > end) {
    res.writeHead(416, { ...common, 'content-range': `bytes */${data.length}` });
    return void res.end();
  }
  res.writeHead(206, { ...common, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${data.length}` });
  res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
}

function listen(server: Server): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
}

/** The repositories the Hub tests share, on a started emulator. */
export interface SeededHub {
  hub: HubEmulator;
  /** The files of org/tiny (tiny model seed 7). */
  files: Record<string, Buffer>;
  /** org/tiny's first commit (main and the tag v1). */
  tinyCommit: string;
  /** org/checkpoint: the tiny model's files with a damaged model.safetensors instead of model.onnx. */
  checkpointCommit: string;
}

/**
 * Starts an emulator holding org/tiny (with files the encoder does not need, and the tag v1),
 * org/gated, org/private, org/optimum (onnx/model.onnx), org/flaky, org/corrupt (a blob served
 * damaged), org/checkpoint (no ONNX) and the renamed org/old-tiny → org/tiny.
 */
export async function seededHub(): Promise<SeededHub> {
  const hub = await HubEmulator.start();
  const files = await tinyModelFiles(7);
  hub.addRepo('org/tiny');
  const tinyCommit = hub.commit('org/tiny', { ...files, 'README.md': '# tiny\nA generated test model.\n', 'flax_model.msgpack': 'not needed' });
  hub.setRef('org/tiny', 'v1', tinyCommit);
  hub.addRepo('org/gated', 'gated');
  hub.commit('org/gated', files);
  hub.addRepo('org/private', 'private');
  hub.commit('org/private', files);
  const { 'model.onnx': onnx, ...rest } = files;
  hub.addRepo('org/optimum');
  hub.commit('org/optimum', { ...rest, 'onnx/model.onnx': onnx });
  hub.addRepo('org/flaky');
  hub.commit('org/flaky', files);
  hub.addRepo('org/corrupt');
  // Its own model: the emulator corrupts a blob wherever it is served.
  hub.commit('org/corrupt', await tinyModelFiles(9));
  hub.corrupt('org/corrupt', 'model.onnx');
  hub.addRepo('org/checkpoint');
  const checkpointCommit = hub.commit('org/checkpoint', { ...rest, 'model.safetensors': Buffer.alloc(4096, 7) });
  hub.rename('org/old-tiny', 'org/tiny');
  return { hub, files, tinyCommit, checkpointCommit };
}
