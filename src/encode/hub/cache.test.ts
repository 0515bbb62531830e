/** The Hub cache's listing and removal, the environment settings and the reference syntax. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubEmulator, tinyModelFiles } from '../../../test/helpers/hub-emulator.js';
import { listCachedModels, removeCachedModel } from './cache.js';
import { pullModel } from './pull.js';
import { parseRepoReference, repoOfFolderName } from './reference.js';
import { hubSettings } from './settings.js';

describe('hubSettings: the environment as huggingface_hub reads it', () => {
  it('defaults to the public Hub and ~/.cache/huggingface/hub', () => {
    const s = hubSettings({}, {});
    expect(s).toMatchObject({ endpoint: 'https://huggingface.co', cacheDir: join(homedir(), '.cache', 'huggingface', 'hub'), offline: false, metadataTimeoutMs: 10_000 });
    expect(hubSettings({}, { XDG_CACHE_HOME: '/x/cache' }).cacheDir).toBe('/x/cache/huggingface/hub');
  });

  it('reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE and the token (variable, then file)', () => {
    const home = mkdtempSync(join(tmpdir(), 'spladex-hf-home-'));
    try {
      expect(hubSettings({}, { HF_HOME: home }).token).toBeNull();
      writeFileSync(join(home, 'token'), 'hf_from_file\n');
      const s = hubSettings({}, { HF_HOME: home, HF_ENDPOINT: 'http://127.0.0.1:9/', HF_HUB_OFFLINE: 'yes' });
      expect(s).toMatchObject({ endpoint: 'http://127.0.0.1:9', cacheDir: join(home, 'hub'), token: 'hf_from_file', offline: true });
      expect(hubSettings({}, { HF_HOME: home, HF_TOKEN: 'hf_var', HF_HUB_CACHE: '/c' })).toMatchObject({ token: 'hf_var', cacheDir: '/c' });
      expect(hubSettings({}, { HF_HOME: home, HF_HUB_OFFLINE: '0' }).offline).toBe(false);
      expect(hubSettings({ token: null, offline: false }, { HF_HOME: home, HF_HUB_OFFLINE: '1' })).toMatchObject({ token: null, offline: false });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('model references', () => {
  it('accepts org/name[@revision] and name, refuses paths', () => {
    expect(parseRepoReference('naver/splade-v3')).toEqual({ repo: 'naver/splade-v3', revision: 'main' });
    expect(parseRepoReference('naver/splade-v3@v1.0')).toEqual({ repo: 'naver/splade-v3', revision: 'v1.0' });
    expect(parseRepoReference('org/x@refs/pr/1')).toEqual({ repo: 'org/x', revision: 'refs/pr/1' });
    expect(parseRepoReference('bert-base-uncased')).toEqual({ repo: 'bert-base-uncased', revision: 'main' });
    for (const path of ['/abs/dir', './dir', '../dir', 'a/b/c', 'model.onnx', 'org/x@', 'org/x@a..b', 'org--x/y', '.hidden', 'org/x@/main']) expect(parseRepoReference(path), path).toBeNull();
  });

  it('maps repositories to cache folders and back', () => {
    expect(repoOfFolderName('models--naver--splade-v3')).toBe('naver/splade-v3');
    expect(repoOfFolderName('models--bert-base-uncased')).toBe('bert-base-uncased');
    expect(repoOfFolderName('datasets--x--y')).toBeNull();
  });
});

describe('listCachedModels and removeCachedModel', () => {
  let hub: HubEmulator;
  const cacheDir = mkdtempSync(join(tmpdir(), 'spladex-hub-cache-'));
  const options = (): { endpoint: string; cacheDir: string; token: null; offline: false } => ({ endpoint: hub.endpoint, cacheDir, token: null, offline: false });
  let first: string;
  let second: string;

  beforeAll(async () => {
    hub = await HubEmulator.start();
    const files = await tinyModelFiles(3);
    hub.addRepo('org/a');
    first = hub.commit('org/a', files);
    second = hub.commit('org/a', { ...files, 'config.json': '{"max_position_embeddings": 64}' });
    hub.addRepo('b');
    hub.commit('b', files);
  });
  afterAll(async () => {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('lists repositories, their revisions, refs and sizes; ignores what is not a model', async () => {
    await pullModel(`org/a@${first}`, options());
    await pullModel('org/a', options());
    await pullModel('b', options());
    mkdirSync(join(cacheDir, 'datasets--x--y'));
    const models = await listCachedModels({ cacheDir });
    expect(models.map((m) => m.repo)).toEqual(['b', 'org/a']);
    const a = models[1];
    expect(a.revisions.map((r) => r.commit).sort()).toEqual([first, second].sort());
    expect(a.revisions.find((r) => r.commit === second)?.refs).toEqual(['main']);
    expect(a.revisions.find((r) => r.commit === first)?.refs).toEqual([]);
    // The model file is shared: the blobs total less than the two snapshots.
    const snapshots = a.revisions.reduce((sum, r) => sum + r.size, 0);
    expect(a.size).toBeLessThan(snapshots);
    expect(await listCachedModels({ cacheDir: join(cacheDir, 'missing') })).toEqual([]);
  });

  it('removes one revision (keeping shared blobs), then the whole model', async () => {
    const removed = await removeCachedModel(`org/a@main`, { cacheDir });
    expect(removed.commits).toEqual([second]);
    // Only config.json was not shared with the other revision.
    expect(removed.bytes).toBe('{"max_position_embeddings": 64}'.length);
    const left = (await listCachedModels({ cacheDir })).find((m) => m.repo === 'org/a')!;
    expect(left.revisions.map((r) => r.commit)).toEqual([first]);
    expect(existsSync(join(left.revisions[0].dir, 'model.onnx'))).toBe(true);
    const all = await removeCachedModel('org/a', { cacheDir });
    expect(all.commits).toEqual([first]);
    expect(existsSync(join(cacheDir, 'models--org--a'))).toBe(false);
    await expect(removeCachedModel('org/a', { cacheDir })).rejects.toMatchObject({ code: 'E_HUB_NOT_FOUND' });
  });
});
