/**
 * Where the Hub is, where its cache lives and who the user is, read from the environment the way
 * huggingface_hub reads it, so that one set of variables serves Python and spladex alike and a
 * model pulled by one is found by the other:
 *
 *   HF_ENDPOINT              the Hub (default https://huggingface.co), e.g. a mirror or a test server
 *   HF_HOME                  default $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
 *   HF_HUB_CACHE             the model cache (default $HF_HOME/hub; HUGGINGFACE_HUB_CACHE is its old name)
 *   HF_TOKEN                 access token (HUGGING_FACE_HUB_TOKEN is its old name), else the file
 *                            HF_TOKEN_PATH (default $HF_HOME/token) that `hf auth login` writes
 *   HF_HUB_OFFLINE           1/ON/YES/TRUE: never touch the network, use the cache only
 *   HF_HUB_ETAG_TIMEOUT      seconds to wait for a metadata answer (default 10)
 *   HF_HUB_DOWNLOAD_TIMEOUT  seconds a download may stall without a byte (default 10)
 *
 * Read on every call rather than once, so a long-running process (or a test) that changes the
 * environment is obeyed.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** The Hub's base URL, without a trailing slash. */
  endpoint: string;
  /** The cache directory (`models--org--name/{blobs,refs,snapshots}` inside). */
  cacheDir: string;
  /** Sent as `Authorization: Bearer …` to the endpoint (never to another host), or null. */
  token: string | null;
  /** Use the cache only: no request is made. */
  offline: boolean;
  /** Milliseconds to wait for a metadata answer (API, HEAD). */
  metadataTimeoutMs: number;
  /** Milliseconds a download may go without receiving a byte before the attempt is abandoned (and resumed). */
  downloadTimeoutMs: number;
}

/** What a caller may set instead of the environment (library use, tests). */
export type HubSettingsOverrides = Partial<Pick<HubSettings, 'endpoint' | 'cacheDir' | 'token' | 'offline'>>;

/** huggingface_hub's truthy spellings of a boolean variable. */
const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);

export function hubSettings(overrides: HubSettingsOverrides = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const home = resolve(value('HF_HOME') ?? join(value('XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'huggingface'));
  const cacheDir = resolve(overrides.cacheDir ?? value('HF_HUB_CACHE') ?? value('HUGGINGFACE_HUB_CACHE') ?? join(home, 'hub'));
  const token = overrides.token !== undefined ? overrides.token : (value('HF_TOKEN') ?? value('HUGGING_FACE_HUB_TOKEN') ?? readToken(value('HF_TOKEN_PATH') ?? join(home, 'token')));
  return {
    endpoint: (overrides.endpoint ?? value('HF_ENDPOINT') ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir,
    token,
    offline: overrides.offline ?? TRUE_VALUES.has((value('HF_HUB_OFFLINE') ?? '').toUpperCase()),
    metadataTimeoutMs: seconds(value('HF_HUB_ETAG_TIMEOUT'), 10) * 1000,
    downloadTimeoutMs: seconds(value('HF_HUB_DOWNLOAD_TIMEOUT'), 10) * 1000,
  };
}

/** The saved token, or null when there is no (non-empty) token file. */
function readToken(path: string): string | null {
  try {
    const token = readFileSync(path, 'utf8').trim();
    return token === '' ? null : token;
  } catch {
    // No token file: anonymous access, as huggingface_hub does.
    return null;
  }
}

function seconds(text: string | undefined, fallback: number): number {
  const n = text === undefined ? NaN : Number(text);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
