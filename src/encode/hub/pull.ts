/**
 * `pullModel('org/name@revision')`: the files an encoder needs from one revision of a Hub model,
 * in the huggingface_hub cache (cache.ts), downloaded only when the cache does not have them.
 *
 * Online, the revision is resolved to its commit with the API (which also lists the repository's
 * files), each missing file's blob name and size come from a HEAD of its resolve URL, blobs another
 * revision already has are linked, not downloaded, and the ref (`refs/main`) is written last, so it
 * never names a snapshot that is still being filled. A commit already cached with its ONNX file and
 * tokenizer needs no request at all; HF_HUB_OFFLINE=1 never makes one; an unreachable Hub falls
 * back to the cached snapshot of the revision when there is one.
 */
import { stat } from 'node:fs/promises';
import { SpladexError, isSpladexError } from '../../errors.js';
import { RepoCache, snapshotFiles } from './cache.js';
import { downloadBlob } from './download.js';
import { HubClient, type FileMetadata } from './http.js';
import { isCommitHash, requireRepoReference, type RepoReference } from './reference.js';
import { hubSettings, type HubSettingsOverrides } from './settings.js';

/** The ONNX export, where Hub repos keep it: at the root, or under onnx/ (Optimum's layout). */
export const ONNX_FILES: readonly string[] = ['model.onnx', 'onnx/model.onnx'];
/** The checkpoint to convert when a repo ships no ONNX. */
const CHECKPOINT_FILES: readonly string[] = ['model.safetensors', 'pytorch_model.bin'];
/** What src/encode/model-dir.ts reads next to the model, fetched where the repo has them. */
const SIDE_FILES: readonly string[] = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json', 'idf.json', 'spladex.json'];
const TOKENIZER_FILES: readonly string[] = ['tokenizer.json', 'vocab.txt'];

export interface PullProgress {
  repo: string;
  commit: string;
  /** The file being downloaded. */
  file: string;
  /** Bytes of the files to download that are on disk, and their total. */
  bytes: number;
  totalBytes: number;
  /** True once, after the last file. */
  done: boolean;
}

export interface PullOptions extends HubSettingsOverrides {
  /** Called as bytes arrive (only when something is downloaded). */
  onProgress?: (progress: PullProgress) => void;
}

export interface PulledFile {
  /** Repo path, e.g. `onnx/model.onnx`. */
  file: string;
  size: number;
  /** Whether this pull downloaded it or found it in the cache. */
  status: 'downloaded' | 'cached';
}

export interface PullResult {
  repo: string;
  revision: string;
  commit: string;
  /** The snapshot directory: a model directory (`--model <dir>` works with it). */
  dir: string;
  files: PulledFile[];
  /** Bytes of the files this pull downloaded. */
  downloadedBytes: number;
  /** `hub`: resolved online; `cache`: from the cache without asking the Hub (see `note`). */
  source: 'hub' | 'cache';
  /** Why the cache was used without asking the Hub, or null. */
  note: string | null;
}

/**
 * Pulls `reference` (`org/name`, `org/name@branch|tag|commit`) into the Hub cache and returns its
 * snapshot. E_HUB_NOT_FOUND, E_HUB_AUTH, E_HUB_OFFLINE, E_CHECKSUM, E_IO, E_MODEL (no usable files).
 */
export async function pullModel(reference: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = requireRepoReference(reference);
  const settings = hubSettings(options);
  const cache = new RepoCache(settings.cacheDir, ref.repo);
  if (settings.offline) {
    const cached = await fromCache(cache, ref, 'HF_HUB_OFFLINE is set', false);
    if (cached !== null) return cached;
    throw new SpladexError(
      'E_HUB_OFFLINE',
      `HF_HUB_OFFLINE is set and ${ref.repo}@${ref.revision} is not in the Hub cache at ${settings.cacheDir}: unset HF_HUB_OFFLINE to download it ("spladex model pull ${ref.repo}@${ref.revision}"), or copy a cache that has it`,
    );
  }
  if (isCommitHash(ref.revision)) {
    // A commit never changes: once its snapshot has what an encoder needs, the Hub has nothing to add.
    const cached = await fromCache(cache, ref, 'the commit is cached', true);
    if (cached !== null) return cached;
  }
  const client = new HubClient(settings);
  let info;
  try {
    info = await client.revisionInfo(ref.repo, ref.revision);
  } catch (error) {
    if (!isSpladexError(error, 'E_HUB_OFFLINE')) throw error;
    const cached = await fromCache(cache, ref, `the Hub could not be reached (${error.message.replace(/;.*$/, '')}); the cached snapshot was used`, false);
    if (cached !== null) return cached;
    throw new SpladexError('E_HUB_OFFLINE', `${error.message}; ${ref.repo}@${ref.revision} is not in the Hub cache at ${settings.cacheDir} either`, { cause: error });
  }
  const { commit } = info;
  const wanted = selectModelFiles(ref.repo, info.files);
  const files: PulledFile[] = [];
  const downloads: Array<{ file: string; metadata: FileMetadata }> = [];
  for (const file of wanted) {
    if (await cache.hasFile(commit, file)) {
      files.push({ file, size: (await stat(cache.pointerPath(commit, file))).size, status: 'cached' });
      continue;
    }
    const metadata = await client.fileMetadata(ref.repo, commit, file);
    if (metadata.commit !== null && metadata.commit !== commit) {
      throw new SpladexError('E_HUB_RESPONSE', `the Hub resolved ${file} of ${ref.repo} at commit ${metadata.commit}, not ${commit}; try again`);
    }
    if ((await blobSize(cache.blobPath(metadata.etag))) === metadata.size) {
      // Another revision (or Python) already has these bytes.
      await cache.link(commit, file, metadata.etag);
      files.push({ file, size: metadata.size, status: 'cached' });
    } else downloads.push({ file, metadata });
  }
  const totalBytes = downloads.reduce((sum, d) => sum + d.metadata.size, 0);
  let finished = 0;
  for (const { file, metadata } of downloads) {
    const report = (position: number): void => options.onProgress?.({ repo: ref.repo, commit, file, bytes: finished + position, totalBytes, done: false });
    await downloadBlob(client, cache, { repo: ref.repo, file, metadata, onPosition: report });
    await cache.link(commit, file, metadata.etag);
    finished += metadata.size;
    files.push({ file, size: metadata.size, status: 'downloaded' });
  }
  if (downloads.length > 0) options.onProgress?.({ repo: ref.repo, commit, file: '', bytes: totalBytes, totalBytes, done: true });
  if (!isCommitHash(ref.revision)) await cache.writeRef(ref.revision, commit);
  files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { repo: ref.repo, revision: ref.revision, commit, dir: cache.snapshotDir(commit), files, downloadedBytes: totalBytes, source: 'hub', note: null };
}

/**
 * The files of a repository an encoder needs: its ONNX export (and the export's external weights)
 * or else its checkpoint, and the configuration and tokenizer files it has. E_MODEL when the repo
 * has neither a model nor a tokenizer spladex can use.
 */
function selectModelFiles(repo: string, files: readonly string[]): string[] {
  const present = new Set(files);
  const onnx = ONNX_FILES.find((f) => present.has(f));
  const model = onnx !== undefined ? [onnx, ...[`${onnx}_data`, `${onnx}.data`].filter((f) => present.has(f))] : CHECKPOINT_FILES.filter((f) => present.has(f)).slice(0, 1);
  if (model.length === 0 || !TOKENIZER_FILES.some((f) => present.has(f))) {
    const listed = files.slice(0, 12).join(', ') + (files.length > 12 ? ', …' : '');
    throw new SpladexError(
      'E_MODEL',
      `${repo} has no ${model.length === 0 ? `model file spladex can use (${[...ONNX_FILES, ...CHECKPOINT_FILES].join(', ')})` : 'tokenizer (tokenizer.json or vocab.txt)'}; its files: ${listed || 'none'}`,
    );
  }
  return [...model, ...SIDE_FILES.filter((f) => present.has(f))];
}

/**
 * The cached snapshot of a revision as a pull result, or null when the cache does not know the
 * revision or its snapshot lacks a model (an ONNX file when `needOnnx`, else a checkpoint would do)
 * or a tokenizer.
 */
async function fromCache(cache: RepoCache, ref: RepoReference, note: string, needOnnx: boolean): Promise<PullResult | null> {
  const commit = await cache.commitOf(ref.revision);
  if (commit === null) return null;
  const listed = await snapshotFiles(cache.snapshotDir(commit));
  const has = (names: readonly string[]): boolean => listed.some((f) => names.includes(f.file));
  if (!has(needOnnx ? ONNX_FILES : [...ONNX_FILES, ...CHECKPOINT_FILES]) || !has(TOKENIZER_FILES)) return null;
  return {
    repo: ref.repo,
    revision: ref.revision,
    commit,
    dir: cache.snapshotDir(commit),
    files: listed.map((f) => ({ file: f.file, size: f.size, status: 'cached' as const })),
    downloadedBytes: 0,
    source: 'cache',
    note,
  };
}

async function blobSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}
