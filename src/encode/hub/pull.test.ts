/**
 * pullModel against the loopback Hub emulator (test/helpers/hub-emulator.ts): the huggingface_hub
 * cache layout, no-op re-pulls, moving branches and pinned commits, resumed downloads, checksum
 * failures, gated and missing repositories, offline use and an unreachable Hub.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isSpladexError } from '../../errors.js';
import { HubEmulator, seededHub, tinyModelFiles } from '../../../test/helpers/hub-emulator.js';
import { pullModel, type PullOptions, type PullProgress } from './pull.js';

let hub: HubEmulator;
let files7: Record<string, Buffer>;
let files8: Record<string, Buffer>;
let commitA: string;
let commitB: string;
const root = mkdtempSync(join(tmpdir(), 'spladex-hub-pull-'));
let cacheDir: string;
let cacheCount = 0;


beforeAll(async () => {
  ({ hub, files: files7, tinyCommit: commitA } = await seededHub());
  files8 = await tinyModelFiles(8);
});

afterAll(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  cacheDir = join(root, `cache-${++cacheCount}`);
  hub.requests.length = 0;
});

const options = (extra: PullOptions = {}): PullOptions => ({ endpoint: hub.endpoint, cacheDir, token: null, offline: false, ...extra });
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const gitOid = (data: Buffer): string => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');

async function expectError(promise: Promise<unknown>, code: string, text?: string): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(isSpladexError(error), String(error)).toBe(true);
  expect((error as { code: string }).code, String(error)).toBe(code);
  if (text !== undefined) expect((error as Error).message).toContain(text);
}

describe('pullModel: the huggingface_hub cache layout', () => {
  it('pulls the encoder files into blobs/, refs/main and relative snapshot links', async () => {
    const progress: PullProgress[] = [];
    const result = await pullModel('org/tiny', options({ onProgress: (p) => progress.push(p) }));
    expect(result).toMatchObject({ repo: 'org/tiny', revision: 'main', commit: commitA, source: 'hub', note: null });
    const repoDir = join(cacheDir, 'models--org--tiny');
    expect(result.dir).toBe(join(repoDir, 'snapshots', commitA));
    // Only what the encoder reads: no README, no Flax weights.
    expect(result.files.map((f) => f.file)).toEqual(['config.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    expect(result.files.every((f) => f.status === 'downloaded')).toBe(true);
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(commitA);
    // LFS files are named by their SHA-256, small files by their git blob hash.
    const onnxLink = join(result.dir, 'model.onnx');
    expect(lstatSync(onnxLink).isSymbolicLink()).toBe(true);
    expect(readlinkSync(onnxLink)).toBe(`../../blobs/${sha256(files7['model.onnx'])}`);
    expect(readlinkSync(join(result.dir, 'vocab.txt'))).toBe(`../../blobs/${gitOid(files7['vocab.txt'])}`);
    for (const file of result.files) expect(readFileSync(join(result.dir, file.file)).equals(files7[file.file])).toBe(true);
    expect(readdirSync(join(repoDir, 'blobs')).filter((b) => b.includes('.incomplete'))).toEqual([]);
    // The progress ends with done, at the total.
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ done: true, bytes: last.totalBytes, commit: commitA });
    expect(last.totalBytes).toBe(result.downloadedBytes);
  });

  it('sends the token to the Hub only, never to the CDN', async () => {
    await pullModel('org/tiny', options({ token: hub.token }));
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((r) => r.authorization === undefined)).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${hub.token}`)).toBe(true);
  });

  it('a re-pull downloads nothing; a cached commit needs no request at all', async () => {
    await pullModel('org/tiny', options());
    hub.requests.length = 0;
    const again = await pullModel('org/tiny', options());
    expect(again.files.every((f) => f.status === 'cached')).toBe(true);
    expect(again.downloadedBytes).toBe(0);
    // One API call to see whether main moved; no HEAD, no CDN.
    expect(hub.requests.map((r) => `${r.server} ${r.method}`)).toEqual(['hub GET']);
    hub.requests.length = 0;
    const pinned = await pullModel(`org/tiny@${commitA}`, options());
    expect(pinned).toMatchObject({ commit: commitA, source: 'cache' });
    expect(hub.requests).toEqual([]);
  });

  it('a moving branch gets a new snapshot, sharing unchanged blobs; a pinned commit and a tag stay put', async () => {
    await pullModel('org/tiny', options());
    commitB = hub.commit('org/tiny', { ...files8, 'vocab.txt': files7['vocab.txt'] });
    try {
      const moved = await pullModel('org/tiny', options());
      expect(moved.commit).toBe(commitB);
      expect(readFileSync(join(cacheDir, 'models--org--tiny', 'refs', 'main'), 'utf8')).toBe(commitB);
      // vocab.txt did not change: linked to the blob the first snapshot has, not downloaded again.
      expect(moved.files.find((f) => f.file === 'vocab.txt')?.status).toBe('cached');
      expect(moved.files.find((f) => f.file === 'model.onnx')?.status).toBe('downloaded');
      expect(readFileSync(join(moved.dir, 'model.onnx')).equals(files8['model.onnx'])).toBe(true);
      // The old snapshot is intact, and reachable by commit and by tag.
      const pinned = await pullModel(`org/tiny@${commitA}`, options());
      expect(readFileSync(join(pinned.dir, 'model.onnx')).equals(files7['model.onnx'])).toBe(true);
      const tagged = await pullModel('org/tiny@v1', options());
      expect(tagged.commit).toBe(commitA);
      expect(readFileSync(join(cacheDir, 'models--org--tiny', 'refs', 'v1'), 'utf8')).toBe(commitA);
    } finally {
      hub.setRef('org/tiny', 'main', commitA);
    }
  });

  it('keeps the onnx/ layout of Optimum exports (links one level deeper)', async () => {
    const result = await pullModel('org/optimum', options());
    expect(result.files.map((f) => f.file)).toContain('onnx/model.onnx');
    expect(readlinkSync(join(result.dir, 'onnx', 'model.onnx'))).toBe(`../../../blobs/${sha256(files7['model.onnx'])}`);
  });

  it('follows the relative redirect of a renamed repository', async () => {
    const result = await pullModel('org/old-tiny', options());
    expect(result.commit).toBe(commitA);
    expect(hub.requests.some((r) => r.status === 307)).toBe(true);
  });

  it('a repo without ONNX gets its checkpoint', async () => {
    const result = await pullModel('org/checkpoint', options());
    expect(result.files.map((f) => f.file)).toContain('model.safetensors');
  });
});

describe('pullModel: interrupted and damaged downloads', () => {
  it('resumes a dropped connection with a Range request in the same pull', async () => {
    const size = files7['model.onnx'].length;
    hub.dropNextDownload('org/flaky', 'model.onnx', 1000);
    const result = await pullModel('org/flaky', options());
    expect(readFileSync(join(result.dir, 'model.onnx')).equals(files7['model.onnx'])).toBe(true);
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => r.range)).toEqual([undefined, 'bytes=1000-']);
    expect(cdn[1].status).toBe(206);
    expect(size).toBeGreaterThan(1000);
  });

  it('resumes the .incomplete file an earlier process left', async () => {
    const data = files7['model.onnx'];
    const blobs = join(cacheDir, 'models--org--flaky', 'blobs');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(join(blobs, `${sha256(data)}.incomplete`), data.subarray(0, 777));
    const result = await pullModel('org/flaky', options());
    expect(readFileSync(join(result.dir, 'model.onnx')).equals(data)).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual(['bytes=777-']);
  });

  it('a checksum mismatch is E_CHECKSUM and leaves nothing in blobs/ or snapshots/', async () => {
    await expectError(pullModel('org/corrupt', options()), 'E_CHECKSUM', 'the download was discarded');
    const repoDir = join(cacheDir, 'models--org--corrupt');
    const blobs = readdirSync(join(repoDir, 'blobs'));
    expect(blobs).not.toContain(hub.sha256Of('org/corrupt', 'model.onnx'));
    expect(blobs.filter((b) => b.endsWith('.incomplete'))).toEqual([]);
    expect(existsSync(join(repoDir, 'refs', 'main'))).toBe(false);
    const snapshots = join(repoDir, 'snapshots');
    for (const commit of existsSync(snapshots) ? readdirSync(snapshots) : []) expect(existsSync(join(snapshots, commit, 'model.onnx'))).toBe(false);
  });
});

describe('pullModel: errors', () => {
  it('a gated repo needs the right token', async () => {
    await expectError(pullModel('org/gated', options()), 'E_HUB_AUTH', 'set HF_TOKEN');
    await expectError(pullModel('org/gated', options({ token: hub.ungrantedToken })), 'E_HUB_AUTH', 'has not been granted access');
    await expectError(pullModel('org/gated', options({ token: 'hf_wrong' })), 'E_HUB_AUTH', 'refused the token');
    const result = await pullModel('org/gated', options({ token: hub.token }));
    expect(result.files.length).toBe(5);
  });

  it('unknown repositories and revisions are E_HUB_NOT_FOUND', async () => {
    await expectError(pullModel('org/nothing', options()), 'E_HUB_NOT_FOUND', 'if it is private, set HF_TOKEN');
    await expectError(pullModel('org/nothing', options({ token: hub.token })), 'E_HUB_NOT_FOUND', 'does not exist');
    await expectError(pullModel('org/private', options()), 'E_HUB_NOT_FOUND', 'org/private');
    expect((await pullModel('org/private', options({ token: hub.token }))).commit).toMatch(/^[0-9a-f]{40}$/);
    await expectError(pullModel('org/tiny@no-such-branch', options()), 'E_HUB_NOT_FOUND', 'has no revision "no-such-branch"');
    await expectError(pullModel(`org/tiny@${'0'.repeat(40)}`, options()), 'E_HUB_NOT_FOUND');
    await expectError(pullModel('../etc', options()), 'E_OPTION');
    await expectError(pullModel('org/tiny@../../x', options()), 'E_OPTION');
  });

  it('HF_HUB_OFFLINE uses the cache without a request, and refuses what is not cached', async () => {
    await expectError(pullModel('org/tiny', options({ offline: true })), 'E_HUB_OFFLINE', 'HF_HUB_OFFLINE is set');
    expect(hub.requests).toEqual([]);
    await pullModel('org/tiny', options());
    hub.requests.length = 0;
    const cached = await pullModel('org/tiny', options({ offline: true }));
    expect(cached).toMatchObject({ commit: commitA, source: 'cache', note: 'HF_HUB_OFFLINE is set' });
    expect(hub.requests).toEqual([]);
  });

  it('an unreachable Hub falls back to the cached snapshot, else is E_HUB_OFFLINE', async () => {
    const closed = await HubEmulator.start();
    const endpoint = closed.endpoint;
    await closed.close();
    await expectError(pullModel('org/tiny', options({ endpoint })), 'E_HUB_OFFLINE', 'cannot reach');
    await pullModel('org/tiny', options());
    const fallback = await pullModel('org/tiny', options({ endpoint }));
    expect(fallback).toMatchObject({ commit: commitA, source: 'cache' });
    expect(fallback.note).toContain('could not be reached');
    expect(resolve(fallback.dir)).toBe(join(cacheDir, 'models--org--tiny', 'snapshots', commitA));
  });
});
