/**
 * `--model` values through resolveModelReference and the encoder factory: a local path wins, a
 * Hub model is pulled and its commit stored in the encoder spec, a reopened spec encodes with that
 * commit even after the branch moved (pulling it into a cache that lacks it), a repo without ONNX
 * (here a damaged one) goes through ensureOnnx's conversion. The Hub settings come from the environment here, as for a user.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HubEmulator, tinyModelFiles } from '../../../test/helpers/hub-emulator.js';
import { openEncoder, openEncoderFromSpec } from '../encoder.js';
import { resolveModelReference } from './resolve.js';

let hub: HubEmulator;
const root = mkdtempSync(join(tmpdir(), 'spladex-hub-resolve-'));
let commitA: string;
let n = 0;

beforeAll(async () => {
  hub = await HubEmulator.start();
  hub.addRepo('org/tiny');
  commitA = hub.commit('org/tiny', await tinyModelFiles(7));
  hub.addRepo('org/checkpoint');
  const { 'model.onnx': _onnx, ...rest } = await tinyModelFiles(7);
  hub.commit('org/checkpoint', { ...rest, 'model.safetensors': Buffer.alloc(1024, 1) });
  process.env.HF_ENDPOINT = hub.endpoint;
  delete process.env.HF_TOKEN;
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_HUB_CACHE;
});
beforeEach(() => {
  process.env.HF_HOME = join(root, `home-${++n}`);
  hub.requests.length = 0;
});
afterAll(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

describe('resolveModelReference', () => {
  it('an existing path wins over a repo of the same name', async () => {
    const cwd = process.cwd();
    mkdirSync(join(root, 'org', 'tiny'), { recursive: true });
    process.chdir(root);
    try {
      expect(await resolveModelReference('org/tiny')).toEqual({ path: 'org/tiny', hub: null });
    } finally {
      process.chdir(cwd);
    }
    expect(hub.requests).toEqual([]);
  });

  it('pulls a Hub model and names its snapshot; a snapshot path keeps its Hub origin', async () => {
    const pulled = await resolveModelReference('org/tiny');
    expect(pulled.hub).toEqual({ repo: 'org/tiny', revision: 'main', commit: commitA });
    expect(pulled.path).toBe(join(process.env.HF_HOME!, 'hub', 'models--org--tiny', 'snapshots', commitA));
    expect(await resolveModelReference(join(pulled.path, 'model.onnx'))).toEqual({ path: join(pulled.path, 'model.onnx'), hub: pulled.hub });
  });

  it('says when neither a directory nor a repo exists, and refuses a repo whose checkpoint does not convert', async () => {
    await expect(resolveModelReference('models/splade-v9')).rejects.toMatchObject({ code: 'E_HUB_NOT_FOUND', message: expect.stringContaining('no local model directory') });
    await expect(resolveModelReference('org/checkpoint')).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('config.json has no valid num_hidden_layers') });
  });

  it('HF_HUB_OFFLINE refuses a model that is not cached', async () => {
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await expect(resolveModelReference('org/tiny')).rejects.toMatchObject({ code: 'E_HUB_OFFLINE' });
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
  });
});

describe('the encoder with a Hub model', () => {
  it('stores repo, revision and commit; a reopened spec keeps the commit after the branch moves', async () => {
    const encoder = await openEncoder({ model: 'org/tiny' });
    const spec = encoder.spec;
    const [expected] = await encoder.encodeQueries(['sparse retrieval model']);
    await encoder.dispose();
    expect(spec.model?.hub).toEqual({ repo: 'org/tiny', revision: 'main', commit: commitA });
    expect(spec.label).toContain('model org/tiny');
    hub.commit('org/tiny', await tinyModelFiles(8));
    try {
      // Another machine (the build's cache is gone, an empty one instead): the stored commit is pulled, not the moved branch.
      rmSync(process.env.HF_HOME!, { recursive: true, force: true });
      process.env.HF_HOME = join(root, 'elsewhere');
      const reopened = await openEncoderFromSpec(spec);
      expect(reopened.spec.model?.hub?.commit).toBe(commitA);
      expect(reopened.spec.model?.dir).toBe(join(root, 'elsewhere', 'hub', 'models--org--tiny', 'snapshots', commitA));
      expect(await reopened.encodeQueries(['sparse retrieval model'])).toEqual([expected]);
      await reopened.dispose();
    } finally {
      hub.setRef('org/tiny', 'main', commitA);
    }
  });
});
