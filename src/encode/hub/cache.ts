/**
 * The Hub cache, laid out exactly as huggingface_hub lays it out, so a model pulled by Python is
 * used by spladex and the other way round:
 *
 *   <cache>/models--org--name/
 *     blobs/<etag>                 file contents, named by the Hub's ETag: the SHA-256 of an LFS
 *                                  file, the git blob hash of a small one (shared across revisions)
 *     blobs/<etag>.incomplete      a download in progress, resumed from its length
 *     refs/<revision>              the commit a branch or tag pointed to when last resolved
 *     snapshots/<commit>/<file>    relative symlinks to ../../blobs/<etag> (deeper for onnx/…)
 *
 * Everything is written by temp + rename, so a reader (another process, Python) sees a complete
 * blob, ref or link or none; a snapshot link is made only once its blob is complete and checked.
 */
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { SpladexError } from '../../errors.js';
import { ioFailure, isIoFailure } from '../../util/io-failure.js';
import { isCommitHash, repoFolderName, repoOfFolderName, requireRepoReference } from './reference.js';
import { hubSettings, type HubSettingsOverrides } from './settings.js';

/** Runs an async file operation, turning an OS failure (ENOSPC, EACCES, …) into E_IO. */
export async function guardCache<T>(file: string, action: string, fn: () => Promise<T>, outcome = 'the cache is unchanged'): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (isIoFailure(cause)) throw ioFailure(cause, file, action, outcome);
    throw cause;
  }
}

/** A unique suffix for temporary names, so concurrent writers never share one. */
function tempSuffix(): string {
  return `.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export class RepoCache {
  readonly repo: string;
  /** `<cache>/models--org--name`. */
  readonly dir: string;

  constructor(cacheDir: string, repo: string) {
    this.repo = repo;
    this.dir = join(cacheDir, repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return join(this.dir, 'blobs', etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  snapshotDir(commit: string): string {
    return join(this.dir, 'snapshots', commit);
  }

  pointerPath(commit: string, file: string): string {
    return join(this.snapshotDir(commit), ...file.split('/'));
  }

  /** The commit `revision` names in the cache: itself for a cached commit, else what refs/<revision> holds; null when unknown. */
  async commitOf(revision: string): Promise<string | null> {
    if (isCommitHash(revision)) return (await isDirectory(this.snapshotDir(revision))) ? revision : null;
    let text: string;
    try {
      text = await readFile(join(this.dir, 'refs', ...revision.split('/')), 'utf8');
    } catch {
      return null;
    }
    const commit = text.trim();
    return isCommitHash(commit) ? commit : null;
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    const path = join(this.dir, 'refs', ...revision.split('/'));
    await guardCache(path, `recording ${this.repo}@${revision}`, async () => {
      await mkdir(dirname(path), { recursive: true });
      const temp = `${path}${tempSuffix()}`;
      // huggingface_hub writes the bare hash, without a newline.
      await writeFile(temp, commit);
      await rename(temp, path);
    });
  }

  /** Whether the snapshot of `commit` has `file`, as a link to a blob that is there. */
  async hasFile(commit: string, file: string): Promise<boolean> {
    try {
      return (await stat(this.pointerPath(commit, file))).isFile();
    } catch {
      return false;
    }
  }

  /** Links snapshots/<commit>/<file> to blobs/<etag> by a relative symlink (replacing an older link). */
  async link(commit: string, file: string, etag: string): Promise<void> {
    const pointer = this.pointerPath(commit, file);
    await guardCache(pointer, `linking ${file} into the snapshot`, async () => {
      await mkdir(dirname(pointer), { recursive: true });
      const temp = `${pointer}${tempSuffix()}`;
      await symlink(relative(dirname(pointer), this.blobPath(etag)), temp);
      await rename(temp, pointer);
    });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The files of a snapshot, as repo paths (`onnx/model.onnx`), with the size of what each links to. */
export async function snapshotFiles(snapshotDir: string): Promise<Array<{ file: string; size: number; blob: string | null }>> {
  const out: Array<{ file: string; size: number; blob: string | null }> = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
      else if (!entry.name.includes('.tmp-')) {
        const target = entry.isSymbolicLink() ? resolve(dir, await readlink(path)) : null;
        const size = await stat(path).then((s) => s.size, () => -1);
        // A dangling link (its blob removed) is not a file of the snapshot.
        if (size >= 0) out.push({ file: `${prefix}${entry.name}`, size, blob: target });
      }
    }
  };
  await walk(snapshotDir, '');
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** One cached revision of a model. */
export interface CachedRevision {
  commit: string;
  /** Branches and tags whose ref names this commit. */
  refs: string[];
  /** Absolute snapshot directory. */
  dir: string;
  files: string[];
  /** Bytes of the files of this snapshot. */
  size: number;
}

/** One cached model repository. */
export interface CachedModel {
  repo: string;
  /** Absolute `models--org--name` directory. */
  dir: string;
  revisions: CachedRevision[];
  /** Bytes of its blobs on disk (files shared by revisions count once). */
  size: number;
}

/** The models in the Hub cache (huggingface_hub's and spladex's: the same thing), by repo id. */
export async function listCachedModels(options: HubSettingsOverrides = {}): Promise<CachedModel[]> {
  const { cacheDir } = hubSettings(options);
  let folders: string[];
  try {
    folders = await readdir(cacheDir);
  } catch {
    return [];
  }
  const models: CachedModel[] = [];
  for (const folder of folders.sort()) {
    const repo = repoOfFolderName(folder);
    if (repo !== null) models.push(await cachedModel(new RepoCache(cacheDir, repo)));
  }
  return models;
}

async function cachedModel(cache: RepoCache): Promise<CachedModel> {
  const refs = await readRefs(join(cache.dir, 'refs'), '');
  const commits = await readdir(join(cache.dir, 'snapshots')).catch(() => [] as string[]);
  const revisions: CachedRevision[] = [];
  for (const commit of commits.filter(isCommitHash).sort()) {
    const files = await snapshotFiles(cache.snapshotDir(commit));
    revisions.push({
      commit,
      refs: refs.filter((r) => r.commit === commit).map((r) => r.name),
      dir: cache.snapshotDir(commit),
      files: files.map((f) => f.file),
      size: files.reduce((sum, f) => sum + f.size, 0),
    });
  }
  let size = 0;
  for (const blob of await readdir(join(cache.dir, 'blobs')).catch(() => [] as string[])) size += await lstat(join(cache.dir, 'blobs', blob)).then((s) => s.size, () => 0);
  return { repo: cache.repo, dir: cache.dir, revisions, size };
}

async function readRefs(dir: string, prefix: string): Promise<Array<{ name: string; commit: string }>> {
  const out: Array<{ name: string; commit: string }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) out.push(...(await readRefs(join(dir, entry.name), `${prefix}${entry.name}/`)));
    else if (!entry.name.includes('.tmp-')) {
      const commit = (await readFile(join(dir, entry.name), 'utf8').catch(() => '')).trim();
      if (isCommitHash(commit)) out.push({ name: `${prefix}${entry.name}`, commit });
    }
  }
  return out;
}

/** What `removeCachedModel` removed. */
export interface RemovedModel {
  repo: string;
  /** The commits whose snapshots were removed. */
  commits: string[];
  /** Bytes freed (blobs no other revision uses). */
  bytes: number;
}

/**
 * Removes a model from the Hub cache: `org/name` all of it, `org/name@revision` one snapshot, the
 * refs naming it and the blobs no other snapshot links to. E_HUB_NOT_FOUND when it is not cached.
 */
export async function removeCachedModel(reference: string, options: HubSettingsOverrides = {}): Promise<RemovedModel> {
  const { cacheDir } = hubSettings(options);
  const { repo } = requireRepoReference(reference);
  const revision = reference.includes('@') ? requireRepoReference(reference).revision : undefined;
  const cache = new RepoCache(cacheDir, repo);
  const model = (await isDirectory(cache.dir)) ? await cachedModel(cache) : null;
  const target = revision === undefined ? undefined : await cache.commitOf(revision);
  if (model === null || target === null) {
    const what = revision === undefined ? repo : `${repo}@${revision}`;
    throw new SpladexError('E_HUB_NOT_FOUND', `${what} is not in the Hub cache at ${cacheDir}; "spladex model list" shows what is`);
  }
  if (target === undefined) {
    await guardCache(cache.dir, `removing ${repo} from the cache`, async () => {
      await rm(cache.dir, { recursive: true, force: true });
      await rm(join(cacheDir, '.locks', repoFolderName(repo)), { recursive: true, force: true });
    });
    return { repo, commits: model.revisions.map((r) => r.commit), bytes: model.size };
  }
  const kept = new Set<string>();
  for (const other of model.revisions.filter((r) => r.commit !== target)) for (const f of await snapshotFiles(other.dir)) if (f.blob !== null) kept.add(f.blob);
  let bytes = 0;
  await guardCache(cache.snapshotDir(target), `removing ${repo}@${revision} from the cache`, async () => {
    for (const f of await snapshotFiles(cache.snapshotDir(target))) {
      if (f.blob === null || kept.has(f.blob) || !f.blob.startsWith(join(cache.dir, 'blobs') + sep)) continue;
      kept.add(f.blob);
      bytes += f.size;
      await rm(f.blob, { force: true });
    }
    await rm(cache.snapshotDir(target), { recursive: true, force: true });
    for (const ref of model.revisions.find((r) => r.commit === target)?.refs ?? []) await rm(join(cache.dir, 'refs', ...ref.split('/')), { force: true });
  });
  return { repo, commits: [target], bytes };
}
