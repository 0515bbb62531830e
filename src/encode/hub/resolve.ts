/**
 * `--model` values: a local model directory (or .onnx file in one), or a Hub model `org/name[@revision]`.
 * `resolveModelReference` is the single place that tells them apart, used by the encoder factory
 * (src/encode/encoder.ts) for new encoders and for reopening an index's encoder, so the library and
 * every CLI command accept the same values. An existing path always wins: `models/splade-v3` is the
 * local directory when there is one, the Hub repo otherwise.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SpladexError, isSpladexError } from '../../errors.js';
import { pathExists } from '../../util/fs.js';
import { ensureOnnx } from './ensure-onnx.js';
import { pullModel, type PullOptions } from './pull.js';
import { isCommitHash, parseRepoReference, repoOfFolderName } from './reference.js';

/** Which Hub snapshot a model directory is. */
export interface HubOrigin {
  repo: string;
  /** The revision it was asked for (the commit itself when only the commit is known). */
  revision: string;
  commit: string;
}

export interface ModelLocation {
  /** A path for readModelDirectory: the value itself, or the snapshot (or converted) directory. */
  path: string;
  /** The Hub snapshot the path is, or null for a model outside the Hub cache. */
  hub: HubOrigin | null;
}

/**
 * Resolves a `--model` value. An existing path is returned as it is (with its Hub origin when it lies
 * in a Hub cache snapshot, pulled by spladex or by Python); a value shaped like `org/name[@revision]`
 * is pulled into the cache (a no-op when cached) and its snapshot returned with an ONNX file
 * (`ensureOnnx`); anything else is returned as it is, for the model directory reader to report.
 */
export async function resolveModelReference(value: string, options: PullOptions = {}): Promise<ModelLocation> {
  const absolute = resolve(value);
  if (await pathExists(absolute)) return { path: value, hub: await hubOriginOfPath(absolute) };
  const reference = parseRepoReference(value);
  if (reference === null) return { path: value, hub: null };
  let pulled;
  try {
    pulled = await pullModel(value, options);
  } catch (error) {
    if (isSpladexError(error, 'E_HUB_NOT_FOUND') && !value.includes('@')) {
      throw new SpladexError('E_HUB_NOT_FOUND', `${error.message} (and there is no local model directory ${absolute})`, { cause: error });
    }
    throw error;
  }
  return { path: await ensureOnnx(pulled.dir), hub: { repo: pulled.repo, revision: pulled.revision, commit: pulled.commit } };
}

/** `<cache>/models--org--name/snapshots/<commit>[/…]` → its repo, commit and a ref naming it. */
async function hubOriginOfPath(absolute: string): Promise<HubOrigin | null> {
  const match = /^(.*)[/\\](models--[^/\\]+)[/\\]snapshots[/\\]([0-9a-f]{40})(?:[/\\]|$)/.exec(absolute);
  if (match === null) return null;
  const repo = repoOfFolderName(match[2]);
  if (repo === null || !isCommitHash(match[3])) return null;
  const commit = match[3];
  const refsDir = join(match[1], match[2], 'refs');
  const names = await readdir(refsDir).catch(() => [] as string[]);
  // main first: the revision a bare `org/name` means.
  for (const name of names.sort((a, b) => (a === 'main' ? -1 : b === 'main' ? 1 : a.localeCompare(b)))) {
    const text = await readFile(join(refsDir, name), 'utf8').catch(() => '');
    if (text.trim() === commit) return { repo, revision: name, commit };
  }
  return { repo, revision: commit, commit };
}
