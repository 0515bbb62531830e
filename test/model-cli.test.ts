/**
 * `spladex model pull|list|rm` and `--model org/name` through the built CLI (dist/cli/main.js)
 * against the loopback Hub emulator (test/helpers/hub-emulator.ts), pointed at by HF_ENDPOINT,
 * with HF_HOME in a fresh temporary directory for every test: the huggingface_hub cache layout,
 * no-op re-pulls, resumed and corrupted downloads, gated and missing repositories, offline use, a
 * cache written by another client, and `index --input text --model org/tiny` end to end (the
 * index keeps encoding queries with the commit it was built with after the branch moves).
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hasBuild, runCliAsync, type CliResult } from './helpers/cli.js';
import { seededHub, tinyModelFiles, type HubEmulator } from './helpers/hub-emulator.js';
import { fill, mountSmallTmpfs } from './helpers/full-disk.js';
import { fixtureModelDir, fixtureTexts, hasFixtureSharedData, MODEL_FIXTURES } from './helpers/model-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'spladex-model-cli-'));
let hub: HubEmulator;
let files7: Record<string, Buffer>;
let commitA: string;
let checkpointCommit: string;
let home: string;
let homes = 0;

const DOCS = [
  { _id: 'd1', title: 'Brain development', text: 'White matter development in the human brain of patients.' },
  { _id: 'd2', text: 'Sparse retrieval with learned sparse vectors: a neural search model for document retrieval.' },
  { _id: 'd3', title: 'Cancer', text: 'Cancer cells and protein genes in cancer patients.' },
  { _id: 'd4', text: 'Sleep, memory and the heart: blood, water and energy.' },
  { _id: 'd5', text: 'Gene expression in human cells: a study of cell data.' },
  { _id: 'd6', text: 'Cancer genes: protein expression data of tumour cells.' },
];
const corpus = join(root, 'corpus.jsonl');
writeFileSync(corpus, DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
const LOSSLESS = ['--pruning', 'none', '--summary-energy', '1', '--max-summary-terms', '0'];

beforeAll(async () => {
  ({ hub, files: files7, tinyCommit: commitA, checkpointCommit } = await seededHub());
});
afterAll(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  home = join(root, `home-${++homes}`);
  hub.requests.length = 0;
});

/** The CLI with the Hub environment of this test (no token, online, the emulator, a fresh HF_HOME). */
function spladex(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCliAsync(args, { HF_HOME: home, HF_ENDPOINT: hub.endpoint, HF_TOKEN: '', HF_HUB_CACHE: '', HF_HUB_OFFLINE: '', HUGGING_FACE_HUB_TOKEN: '', ...env });
}

function expectFailure(result: CliResult, code: string, text?: string): void {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stderr).toContain(`[${code}]`);
  if (text !== undefined) expect(result.stderr).toContain(text);
}

interface SearchResult {
  id: string;
  hits: Array<{ id: string; score: number }>;
}
const results = (stdout: string): SearchResult[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SearchResult);

describe.skipIf(!hasBuild)('spladex model pull, list, rm', () => {
  it('pull writes the huggingface_hub layout; a re-pull downloads nothing; list and rm', async () => {
    const pulled = await spladex(['model', 'pull', 'org/tiny', '--json']);
    expect(pulled.status, pulled.stderr).toBe(0);
    const summary = JSON.parse(pulled.stdout);
    const repoDir = join(home, 'hub', 'models--org--tiny');
    expect(summary).toMatchObject({ repo: 'org/tiny', revision: 'main', commit: commitA, dir: join(repoDir, 'snapshots', commitA), modelDir: join(repoDir, 'snapshots', commitA) });
    expect(summary.files.map((f: { file: string }) => f.file)).not.toContain('README.md');
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(commitA);
    const link = join(repoDir, 'snapshots', commitA, 'model.onnx');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`../../blobs/${createHash('sha256').update(files7['model.onnx']).digest('hex')}`);

    const again = await spladex(['model', 'pull', 'org/tiny']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`pulled org/tiny@main: commit ${commitA} (5 files, 0 downloaded, 0 B)`);
    expect(hub.requests.filter((r) => r.server === 'cdn').length).toBe(1);

    const listed = await spladex(['model', 'list', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    const list = JSON.parse(listed.stdout);
    expect(list.cacheDir).toBe(join(home, 'hub'));
    expect(list.models).toMatchObject([{ repo: 'org/tiny', revisions: [{ commit: commitA, refs: ['main'] }] }]);
    expect((await spladex(['model', 'list'])).stdout).toContain(`${commitA.slice(0, 12)}  main`);

    const removed = await spladex(['model', 'rm', 'org/tiny']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('removed org/tiny from the Hub cache: 1 revision');
    expect(existsSync(repoDir)).toBe(false);
    expect((await spladex(['model', 'list'])).stdout).toContain('no models in the Hub cache');
    expectFailure(await spladex(['model', 'rm', 'org/tiny']), 'E_HUB_NOT_FOUND', 'is not in the Hub cache');
  });

  it('resumes an interrupted download; a corrupted one is E_CHECKSUM and leaves no file in the snapshot', async () => {
    hub.dropNextDownload('org/flaky', 'model.onnx', 512);
    const resumed = await spladex(['model', 'pull', 'org/flaky', '--quiet']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=512-']);

    const corrupt = await spladex(['model', 'pull', 'org/corrupt']);
    expectFailure(corrupt, 'E_CHECKSUM', 'SHA-256');
    const snapshots = join(home, 'hub', 'models--org--corrupt', 'snapshots');
    for (const commit of existsSync(snapshots) ? readdirSync(snapshots) : []) expect(existsSync(join(snapshots, commit, 'model.onnx'))).toBe(false);
    expect(readdirSync(join(home, 'hub', 'models--org--corrupt', 'blobs'))).toEqual([]);
  });

  it('gated repos need a token (HF_TOKEN or $HF_HOME/token); unknown repos and revisions are E_HUB_NOT_FOUND', async () => {
    expectFailure(await spladex(['model', 'pull', 'org/gated']), 'E_HUB_AUTH', 'set HF_TOKEN');
    expect((await spladex(['model', 'pull', 'org/gated', '--quiet'], { HF_TOKEN: hub.token })).status).toBe(0);
    rmSync(home, { recursive: true, force: true });
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), `${hub.token}\n`);
    expect((await spladex(['model', 'pull', 'org/gated', '--quiet'])).status).toBe(0);
    expectFailure(await spladex(['model', 'pull', 'org/missing'], { HF_TOKEN: hub.token }), 'E_HUB_NOT_FOUND', 'org/missing does not exist');
    expectFailure(await spladex(['model', 'pull', 'org/tiny@nope']), 'E_HUB_NOT_FOUND', 'has no revision "nope"');
  });

  it('HF_HUB_OFFLINE: refused when not cached, served from the cache when it is', async () => {
    expectFailure(await spladex(['model', 'pull', 'org/tiny'], { HF_HUB_OFFLINE: '1' }), 'E_HUB_OFFLINE', 'HF_HUB_OFFLINE is set');
    expect((await spladex(['model', 'pull', 'org/tiny', '--quiet'])).status).toBe(0);
    hub.requests.length = 0;
    const offline = await spladex(['model', 'pull', 'org/tiny'], { HF_HUB_OFFLINE: '1' });
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stdout).toContain('note      HF_HUB_OFFLINE is set');
    expect(hub.requests).toEqual([]);
  });

  it('a repo without ONNX is pulled, and a damaged checkpoint is refused by the conversion', async () => {
    const result = await spladex(['model', 'pull', 'org/checkpoint']);
    expectFailure(result, 'E_MODEL', 'config.json has no valid num_hidden_layers');
    expect(result.stdout).toContain('model.safetensors');
    expect(existsSync(join(home, 'hub', 'models--org--checkpoint', 'spladex-onnx', checkpointCommit, 'model.onnx'))).toBe(false);
  });
});

const diskFull = join(root, 'full');
const mounted = hasBuild && mountSmallTmpfs(diskFull, '4m');
if (!mounted) console.log('the Hub disk-full test on a real tmpfs skipped: it needs root (to mount a 4 MiB tmpfs) and a built CLI');

describe.skipIf(!mounted)('a full disk under the Hub cache (4 MiB tmpfs)', () => {
  it('is E_IO naming ENOSPC; nothing half-written reaches the snapshot; the pull completes once space is freed', async () => {
    const filler = fill(diskFull);
    const env = { HF_HOME: join(diskFull, 'hf') };
    const failed = await spladex(['model', 'pull', 'org/tiny', '--quiet'], env);
    expectFailure(failed, 'E_IO', 'ENOSPC');
    const snapshot = join(diskFull, 'hf', 'hub', 'models--org--tiny', 'snapshots', commitA);
    expect(existsSync(snapshot) ? readdirSync(snapshot) : []).toEqual([]);
    rmSync(filler);
    const pulled = await spladex(['model', 'pull', 'org/tiny', '--json'], env);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(readdirSync(snapshot).sort()).toEqual(Object.keys(files7).sort());
  });
});

describe.skipIf(!hasBuild || !hasFixtureSharedData)('a safetensors SPLADE checkpoint on the Hub', () => {
  const FIXTURES = MODEL_FIXTURES;
  const textCorpus = join(root, 'fixture-texts.jsonl');
  const bertDir = join(root, 'bert-tiny-fixture');
  let commit: string;
  beforeAll(() => {
    const texts = fixtureTexts().slice(0, 12);
    writeFileSync(textCorpus, texts.map((t) => JSON.stringify({ _id: t.id, text: t.text })).join('\n') + '\n');
    fixtureModelDir('bert-tiny', bertDir);
    hub.addRepo('org/bert-tiny');
    const files: Record<string, Buffer> = {};
    for (const file of readdirSync(bertDir)) files[file] = readFileSync(join(bertDir, file));
    commit = hub.commit('org/bert-tiny', files);
  });

  it('converts on pull, next to the snapshot, once; encodes as PyTorch did; indexes and searches like a local conversion', async () => {
    const converted = join(home, 'hub', 'models--org--bert-tiny', 'spladex-onnx', commit);
    const pulled = await spladex(['model', 'pull', 'org/bert-tiny', '--json']);
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ commit, modelDir: converted });
    expect(JSON.parse(readFileSync(join(converted, 'spladex-conversion.json'), 'utf8'))).toMatchObject({ architecture: 'BertForMaskedLM' });
    const convertedAt = lstatSync(join(converted, 'model.onnx')).mtimeMs;
    expect((await spladex(['model', 'pull', 'org/bert-tiny', '--quiet'])).status).toBe(0);
    expect(lstatSync(join(converted, 'model.onnx')).mtimeMs).toBe(convertedAt);

    // The vectors of the Hub model are PyTorch's (the fixture), through --model org/name.
    const vectorsFile = join(root, 'bert-tiny-vectors.jsonl');
    const encoded = await spladex(['encode', textCorpus, '--out', vectorsFile, '--model', 'org/bert-tiny', '--no-content', '--quiet', '--overwrite']);
    expect(encoded.status, encoded.stderr).toBe(0);
    const vocab = (JSON.parse(readFileSync(join(bertDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    const idOf = new Map(Object.entries(vocab));
    const expected = new Map(
      readFileSync(join(FIXTURES, 'bert-tiny.vectors.jsonl'), 'utf8').trim().split('\n').map((l) => {
        const v = JSON.parse(l) as { id: string; terms: number[]; weights: number[] };
        return [v.id, new Map(v.terms.map((t, i) => [t, v.weights[i]]))] as const;
      }),
    );
    // The fixture stores weights from storeThreshold up: a smaller spladex weight has no reference.
    const { storeThreshold } = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { storeThreshold: number };
    let maxAbs = 0;
    for (const line of readFileSync(vectorsFile, 'utf8').trim().split('\n')) {
      const { id, vector } = JSON.parse(line) as { id: string; vector: Record<string, number> };
      const reference = expected.get(id)!;
      for (const [token, weight] of Object.entries(vector)) {
        const stored = reference.get(idOf.get(token)!);
        if (stored === undefined) expect(weight).toBeLessThan(storeThreshold + 1e-4);
        else maxAbs = Math.max(maxAbs, Math.abs(weight - stored));
      }
      for (const [term, weight] of reference) if (weight > 1e-3) expect(Object.keys(vector).some((token) => idOf.get(token) === term)).toBe(true);
    }
    expect(maxAbs).toBeLessThanOrEqual(1e-4);

    // An index built through the Hub answers like one built from `model convert` of the same files.
    const fromHub = join(root, 'bert-hub-index');
    expect((await spladex(['index', textCorpus, '--out', fromHub, '--input', 'text', '--model', 'org/bert-tiny', '--quiet', ...LOSSLESS])).status).toBe(0);
    const local = join(root, 'bert-local');
    const convert = await spladex(['model', 'convert', bertDir, '--out', local, '--json']);
    expect(convert.status, convert.stderr).toBe(0);
    expect(JSON.parse(convert.stdout)).toMatchObject({ dir: local, architecture: 'BertForMaskedLM', reused: false });
    const fromLocal = join(root, 'bert-local-index');
    expect((await spladex(['index', textCorpus, '--out', fromLocal, '--input', 'text', '--model', local, '--quiet', ...LOSSLESS])).status).toBe(0);
    const query = ['carotid intima thickness', '--format', 'json', '--exact'];
    const hubHits = await spladex(['search', fromHub, ...query]);
    expect(hubHits.status, hubHits.stderr).toBe(0);
    expect(results(hubHits.stdout)[0].hits.length).toBeGreaterThan(0);
    expect(results(hubHits.stdout)).toEqual(results((await spladex(['search', fromLocal, ...query])).stdout));
  });
});

describe.skipIf(!hasBuild)('--model org/name', () => {
  it('index --input text --model org/tiny pulls, indexes, and searches with the same commit after the branch moves', async () => {
    const out = join(root, 'hub-index');
    const built = await spladex(['index', corpus, '--out', out, '--input', 'text', '--model', 'org/tiny', '--json', ...LOSSLESS]);
    expect(built.status, built.stderr).toBe(0);
    const snapshot = join(home, 'hub', 'models--org--tiny', 'snapshots', commitA);
    expect(JSON.parse(built.stdout).encoder).toMatchObject({ kind: 'splade', label: expect.stringContaining('org/tiny'), model: { dir: snapshot, file: 'model.onnx' } });

    // The same model from a local directory gives the same index answers.
    const local = join(root, 'tiny-local');
    mkdirSync(local, { recursive: true });
    for (const [file, data] of Object.entries(files7)) writeFileSync(join(local, file), data);
    const reference = join(root, 'local-index');
    expect((await spladex(['index', corpus, '--out', reference, '--input', 'text', '--model', local, '--quiet', ...LOSSLESS])).status).toBe(0);
    const expected = results((await spladex(['search', reference, 'cancer genes', '--format', 'json', '--exact'])).stdout);
    const fromHub = await spladex(['search', out, 'cancer genes', '--format', 'json', '--exact']);
    expect(fromHub.status, fromHub.stderr).toBe(0);
    expect(results(fromHub.stdout)).toEqual(expected);

    // main moves: queries still use the stored commit, without asking the Hub (even offline).
    hub.commit('org/tiny', await tinyModelFiles(8));
    try {
      hub.requests.length = 0;
      const pinned = await spladex(['search', out, 'cancer genes', '--format', 'json', '--exact'], { HF_HUB_OFFLINE: '1' });
      expect(pinned.status, pinned.stderr).toBe(0);
      expect(results(pinned.stdout)).toEqual(expected);
      expect(hub.requests).toEqual([]);
      const info = JSON.parse((await spladex(['info', out, '--json'])).stdout);
      expect(info.encoder.label).toContain('org/tiny');
    } finally {
      hub.setRef('org/tiny', 'main', commitA);
    }
  });

  it('refuses a model that is not cached under HF_HUB_OFFLINE, and an unknown one', async () => {
    const out = join(root, 'never');
    expectFailure(await spladex(['index', corpus, '--out', out, '--input', 'text', '--model', 'org/tiny'], { HF_HUB_OFFLINE: '1' }), 'E_HUB_OFFLINE', 'not in the Hub cache');
    expectFailure(await spladex(['encode', corpus, '--out', join(root, 'v.jsonl'), '--model', 'org/unknown-model']), 'E_HUB_NOT_FOUND', 'no local model directory');
    expect(existsSync(out)).toBe(false);
  });

  it('uses a cache another client wrote (blobs, refs/main, relative snapshot links), offline', async () => {
    const repoDir = join(home, 'hub', 'models--other--tiny');
    const commit = 'c0ffee'.padEnd(40, '0');
    mkdirSync(join(repoDir, 'blobs'), { recursive: true });
    mkdirSync(join(repoDir, 'refs'), { recursive: true });
    mkdirSync(join(repoDir, 'snapshots', commit), { recursive: true });
    for (const [file, data] of Object.entries(files7)) {
      const etag = createHash('sha256').update(data).digest('hex');
      writeFileSync(join(repoDir, 'blobs', etag), data);
      symlinkSync(`../../blobs/${etag}`, join(repoDir, 'snapshots', commit, file));
    }
    writeFileSync(join(repoDir, 'refs', 'main'), commit);
    const listed = JSON.parse((await spladex(['model', 'list', '--json'])).stdout);
    expect(listed.models).toMatchObject([{ repo: 'other/tiny', revisions: [{ commit, refs: ['main'] }] }]);
    const encoded = await spladex(['encode', corpus, '--out', join(root, 'other.jsonl'), '--model', 'other/tiny', '--quiet'], { HF_HUB_OFFLINE: '1' });
    expect(encoded.status, encoded.stderr).toBe(0);
    expect(hub.requests).toEqual([]);
  });
});
