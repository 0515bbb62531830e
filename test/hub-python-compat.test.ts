/**
 * Opt-in: the official Python client (huggingface_hub) against the loopback Hub emulator, and the
 * cache shared both ways. It checks that the emulator speaks the protocol as huggingface_hub
 * expects it, that a model Python downloaded is found by spladex offline, and that one spladex
 * pulled is found by Python offline, with the same blob names, links and refs.
 *
 * Run with a Python that has huggingface_hub (.ci/run installs huggingface_hub 2.4.0 into
 * bench-data/hub-venv and sets SPLADEX_HF_PYTHON):
 *   python3 -m venv /tmp/hf && /tmp/hf/bin/pip install huggingface_hub
 *   SPLADEX_HF_PYTHON=/tmp/hf/bin/python npx vitest run test/hub-python-compat.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullModel } from '../src/encode/hub/pull.js';
import { HubEmulator, tinyModelFiles } from './helpers/hub-emulator.js';

const PYTHON = process.env.SPLADEX_HF_PYTHON;
const FILES = ['config.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'];
const root = mkdtempSync(join(tmpdir(), 'spladex-hub-python-'));
let hub: HubEmulator;
let commit: string;

/** Runs a Python snippet with the Hub environment; resolves with its stdout, rejects with its stderr. */
function python(code: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON as string, ['-c', code], { env: { ...process.env, HF_HUB_DISABLE_TELEMETRY: '1', HF_HUB_DISABLE_XET: '1', HF_TOKEN: '', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(out);
      else reject(new Error(`python exited ${status}: ${err}`));
    });
  });
}

/** Every path under a repo's cache folder: files with their size, links with their target. */
function tree(repoDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const key = relative(repoDir, path);
      if (entry.isDirectory()) walk(path);
      else if (entry.isSymbolicLink()) out[key] = `-> ${readlinkSync(path)}`;
      else out[key] = key.startsWith('refs') ? readFileSync(path, 'utf8') : `${statSync(path).size} bytes`;
    }
  };
  walk(repoDir);
  return out;
}

describe.skipIf(PYTHON === undefined)('huggingface_hub (Python) and spladex share the cache', () => {
  beforeAll(async () => {
    hub = await HubEmulator.start();
    hub.addRepo('org/tiny');
    commit = hub.commit('org/tiny', { ...(await tinyModelFiles(7)), 'README.md': '# tiny\n' });
    hub.addRepo('org/gated', 'gated');
    hub.commit('org/gated', await tinyModelFiles(7));
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('Python downloads from the emulator; spladex uses that cache offline; the layouts are identical', async () => {
    const pythonHome = join(root, 'python-home');
    const printed = await python(
      `from huggingface_hub import hf_hub_download\nfor f in ${JSON.stringify(FILES)}: print(hf_hub_download("org/tiny", f))`,
      { HF_HOME: pythonHome, HF_ENDPOINT: hub.endpoint },
    );
    const snapshot = join(pythonHome, 'hub', 'models--org--tiny', 'snapshots', commit);
    expect(printed.trim().split('\n')).toEqual(FILES.map((f) => join(snapshot, f)));
    const offline = await pullModel('org/tiny', { cacheDir: join(pythonHome, 'hub'), offline: true });
    expect(offline).toMatchObject({ commit, dir: snapshot, source: 'cache' });

    const spladexCache = join(root, 'spladex-cache');
    await pullModel('org/tiny', { endpoint: hub.endpoint, cacheDir: spladexCache, token: null, offline: false });
    const pythonTree = tree(join(pythonHome, 'hub', 'models--org--tiny'));
    const spladexTree = tree(join(spladexCache, 'models--org--tiny'));
    expect(spladexTree).toEqual(Object.fromEntries(Object.entries(pythonTree).filter(([k]) => !k.startsWith('.no_exist'))));
  });

  it('Python finds what spladex pulled, offline', async () => {
    const home = join(root, 'spladex-home');
    await pullModel('org/tiny', { endpoint: hub.endpoint, cacheDir: join(home, 'hub'), token: null, offline: false });
    const printed = await python(`from huggingface_hub import hf_hub_download\nfor f in ${JSON.stringify(FILES)}: print(hf_hub_download("org/tiny", f))`, {
      HF_HOME: home,
      HF_ENDPOINT: 'http://127.0.0.1:9',
      HF_HUB_OFFLINE: '1',
    });
    expect(printed.trim().split('\n')).toEqual(FILES.map((f) => join(home, 'hub', 'models--org--tiny', 'snapshots', commit, f)));
  });

  it('Python sees the emulator\'s gated repo as gated, and reads it with the token', async () => {
    const env = { HF_HOME: join(root, 'gated-home'), HF_ENDPOINT: hub.endpoint };
    const code = (token: string): string =>
      `from huggingface_hub import hf_hub_download\nfrom huggingface_hub.errors import GatedRepoError\ntry:\n  hf_hub_download("org/gated", "model.onnx"${token === '' ? '' : `, token="${token}"`})\n  print("ok")\nexcept GatedRepoError:\n  print("gated")`;
    expect((await python(code(''), env)).trim()).toBe('gated');
    expect((await python(code(hub.token), env)).trim()).toBe('ok');
  });

  it('Python reads the emulator\'s missing repo, revision and file as the Hub\'s errors', async () => {
    const env = { HF_HOME: join(root, 'errors-home'), HF_ENDPOINT: hub.endpoint };
    const printed = await python(
      [
        'from huggingface_hub import hf_hub_download',
        'from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError',
        'for repo, rev, f in [("org/missing", "main", "config.json"), ("org/tiny", "nope", "config.json"), ("org/tiny", "main", "missing.json")]:',
        '  try:',
        '    hf_hub_download(repo, f, revision=rev)',
        '  except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as e:',
        // huggingface_hub ≥ 1 raises RemoteEntryNotFoundError, a subclass of EntryNotFoundError.
        "    print(type(e).__name__.replace('Remote', ''))",
      ].join('\n'),
      env,
    );
    expect(printed.trim().split('\n')).toEqual(['RepositoryNotFoundError', 'RevisionNotFoundError', 'EntryNotFoundError']);
  });
});
