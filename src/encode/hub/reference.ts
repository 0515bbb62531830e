/**
 * Names on the Hub: a model reference `org/name[@revision]` (or a bare `name`, the Hub's
 * canonical repositories such as `bert-base-uncased`), revisions (branch, tag or 40-hex commit)
 * and the cache folder name huggingface_hub gives a repository (`models--org--name`).
 *
 * Names and revisions end up as paths in the cache, so anything that could leave its folder
 * (`..`, a leading `/`, a backslash) is refused here, before any request or file operation.
 */
import { SpladexError } from '../../errors.js';

const DEFAULT_REVISION = 'main';

export interface RepoReference {
  /** `org/name` or `name`. */
  repo: string;
  /** Branch, tag or commit; `main` when the reference names none. */
  revision: string;
}

const COMMIT_HASH = /^[0-9a-f]{40}$/;
/** huggingface_hub's repo id rule: `[namespace/]name`, word characters, `-` and `.`, at most 96 per part. */
const REPO_ID = /^(?:[\w.-]{1,96}\/)?[\w.-]{1,96}$/;
/** Local file names that are never repositories (an .onnx file, a JSON file) even when they do not exist. */
const FILE_LIKE = /\.(?:onnx|json|txt|safetensors|bin)$/i;

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/**
 * The repository and revision `value` names, or null when it is not shaped like a repo id (an
 * absolute or dotted path, more than one `/`, a file name): such values are local paths only.
 */
export function parseRepoReference(value: string): RepoReference | null {
  const at = value.indexOf('@');
  const repo = at < 0 ? value : value.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : value.slice(at + 1);
  if (!isRepoId(repo) || FILE_LIKE.test(repo)) return null;
  if (!isSafeRevision(revision)) return null;
  return { repo, revision };
}

/** Like parseRepoReference, for a value that must be a reference: E_OPTION otherwise. */
export function requireRepoReference(value: string): RepoReference {
  const reference = parseRepoReference(value);
  if (reference === null) {
    throw new SpladexError('E_OPTION', `"${value}" is not a Hub model reference: give org/name or org/name@revision (a branch, a tag or a 40-hex commit), e.g. naver/splade-v3`);
  }
  return reference;
}

function isRepoId(repo: string): boolean {
  if (!REPO_ID.test(repo) || repo.includes('--') || repo.includes('..') || repo.endsWith('.git')) return false;
  return repo.split('/').every((part) => /^[\w]/.test(part) && /[\w]$/.test(part));
}

function isSafeRevision(revision: string): boolean {
  if (revision === '' || revision.length > 255 || /[\s\\~^:?*[\]]|\.\.|\/\/|^\/|\/$|@\{/.test(revision)) return false;
  return revision.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

/** The cache folder of a model repository, as huggingface_hub names it. */
export function repoFolderName(repo: string): string {
  return `models--${repo.replaceAll('/', '--')}`;
}

/** The repo id of a cache folder name (`models--org--name` → `org/name`), or null for other folders. */
export function repoOfFolderName(folder: string): string | null {
  if (!folder.startsWith('models--')) return null;
  const repo = folder.slice('models--'.length).replaceAll('--', '/');
  return isRepoId(repo) ? repo : null;
}
