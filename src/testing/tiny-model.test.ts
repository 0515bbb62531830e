/**
 * The production encoder (onnxruntime + batching + pooling) against an independent plain-JS forward
 * pass of the tiny model's weights followed by naive SPLADE pooling.
 */

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEncoder } from '../encode/encoder.js';
import { encodeOnnxModel } from '../encode/onnx-writer.js';
import { TINY_VOCABULARY, writeTinyMaskedLm, type TinyMaskedLm, type TinyMaskedLmWeights } from './tiny-model.js';

/** sha256 of model.onnx for seed 42 with default options: changes only when the generator (or the shared Rng) changes. */
const GOLDEN_SHA256 = 'b9d6948ad757def54882c332a50860d8899b0a711a9bdaf3e92ffe97230d05dd';

const CLS = TINY_VOCABULARY.indexOf('[CLS]');
const SEP = TINY_VOCABULARY.indexOf('[SEP]');
const SPECIAL = new Set(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);

/** Logits [seq][vocab] of one unpadded sequence, in float64. */
function forward(w: TinyMaskedLmWeights, ids: number[], options: { tokenTypes: boolean }): Float64Array[] {
  const { hiddenSize: H, ffnSize: F, vocabSize: V } = w;
  const embeddings = ids.map((id, t) => {
    const e = new Float64Array(H);
    for (let h = 0; h < H; h++) e[h] = w.word[id * H + h] + w.position[t * H + h] + (options.tokenTypes ? w.tokenType[h] : 0);
    return e;
  });
  const context = new Float64Array(H);
  for (const e of embeddings) for (let h = 0; h < H; h++) context[h] += e[h] / Math.max(1, ids.length);
  return embeddings.map((e) => {
    const hidden = new Float64Array(F);
    for (let f = 0; f < F; f++) {
      let sum = w.b1[f];
      for (let h = 0; h < H; h++) sum += (e[h] + context[h]) * w.w1[h * F + f];
      hidden[f] = Math.max(0, sum);
    }
    const logits = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      let sum = w.b2[v];
      for (let f = 0; f < F; f++) sum += hidden[f] * w.w2[f * V + v];
      logits[v] = sum;
    }
    return logits;
  });
}

interface ReferenceOptions {
  maxLength: number;
  window?: { overlap: number };
  includeSpecialPositions?: boolean;
  activation?: (x: number) => number;
  tokenTypes?: boolean;
  /** The graph pools itself (over every attention position) with log(1 + ReLU). */
  pooledGraph?: boolean;
}

/** Naive reference: per window, f(x) at every pooled position, max over positions and windows. */
function reference(model: TinyMaskedLm, text: string, options: ReferenceOptions): Record<string, number> {
  const vocab = model.vocabulary;
  const content = text.split(' ').filter((w) => w !== '').map((word) => {
    const id = vocab.indexOf(word);
    if (id < 0) throw new Error(`test text uses a word outside the vocabulary: ${word}`);
    return id;
  });
  const budget = options.maxLength - 2;
  const windows: number[][] = [];
  if (options.window === undefined) windows.push(content.slice(0, budget));
  else for (let s = 0; ; s += budget - options.window.overlap) {
    windows.push(content.slice(s, s + budget));
    if (s + budget >= content.length) break;
  }
  const f = options.activation ?? ((x: number) => Math.log(1 + Math.max(0, x)));
  const best = new Float64Array(vocab.length);
  for (const win of windows) {
    const ids = [CLS, ...win, SEP];
    const logits = forward(model.weights, ids, { tokenTypes: options.tokenTypes ?? true });
    logits.forEach((row, t) => {
      const special = t === 0 || t === ids.length - 1;
      if (special && !(options.includeSpecialPositions || options.pooledGraph)) return;
      for (let v = 0; v < vocab.length; v++) best[v] = Math.max(best[v], f(row[v]));
    });
  }
  const out: Record<string, number> = {};
  best.forEach((weight, v) => {
    if (weight > 0 && !SPECIAL.has(vocab[v])) out[vocab[v]] = weight;
  });
  return out;
}

function expectClose(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [token, weight] of Object.entries(expected)) {
    expect(Math.abs(actual[token] - weight), `${token}: ${actual[token]} vs ${weight}`).toBeLessThan(2e-5 + 1e-4 * weight);
  }
}

const TEXTS = [
  'the brain study of white matter development in human patients',
  'sparse retrieval',
  'cancer',
  'neural network model for fast search of query and document vector in an index with data science and energy',
  '',
  'hello world hello world',
];

let root: string;
let model: TinyMaskedLm;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'spladex-tiny-'));
  model = await writeTinyMaskedLm(join(root, 'logits'), { seed: 7, maxPositions: 32 });
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('tiny masked-LM through onnxruntime', () => {
  it('matches a plain-JS forward pass and pooling, for length-sorted padded batches', async () => {
    const encoder = await openEncoder({ model: model.dir, batchSize: 3, threads: 1 });
    try {
      const vectors = await encoder.encodeDocuments(TEXTS);
      TEXTS.forEach((text, i) => expectClose(vectors[i], reference(model, text, { maxLength: 32 })));
      expect(vectors[4]).toEqual({});
      // Padding happened: 6 texts of different lengths in batches of 3.
      expect(encoder.stats.paddedTokens).toBeGreaterThan(encoder.stats.tokens);
      expect(encoder.stats.sequences).toBe(6);
      // Results do not depend on batch composition.
      const single = await encoder.encodeDocuments([TEXTS[0]]);
      expectClose(single[0], vectors[0]);
    } finally {
      await encoder.dispose();
    }
  });

  it('truncates to maxLength, special tokens included', async () => {
    const encoder = await openEncoder({ model: model.dir, maxLength: 8, threads: 1 });
    try {
      const [vector] = await encoder.encodeDocuments([TEXTS[3]]);
      expectClose(vector, reference(model, TEXTS[3], { maxLength: 8 }));
      expect(encoder.stats.tokens).toBe(8);
    } finally {
      await encoder.dispose();
    }
  });

  it('max-pools overlapping windows of long documents', async () => {
    const encoder = await openEncoder({ model: model.dir, maxLength: 8, longDocuments: 'window', windowOverlap: 2, batchSize: 2, threads: 1 });
    try {
      const vectors = await encoder.encodeDocuments([TEXTS[3], TEXTS[1], TEXTS[0]]);
      expectClose(vectors[0], reference(model, TEXTS[3], { maxLength: 8, window: { overlap: 2 } }));
      expectClose(vectors[1], reference(model, TEXTS[1], { maxLength: 8, window: { overlap: 2 } }));
      expectClose(vectors[2], reference(model, TEXTS[0], { maxLength: 8, window: { overlap: 2 } }));
      // 19 content tokens, windows of 6 every 4 → 5 windows; 2 tokens → 1; 10 tokens → 2.
      expect(encoder.stats.sequences).toBe(8);
      // Queries are truncated, never windowed.
      const [query] = await encoder.encodeQueries([TEXTS[3]]);
      expectClose(query, reference(model, TEXTS[3], { maxLength: 8 }));
    } finally {
      await encoder.dispose();
    }
  });

  it('supports pooling over [CLS]/[SEP] positions and the log-log activation', async () => {
    const encoder = await openEncoder({ model: model.dir, specialTokenPositions: 'include', activation: 'log1p-log1p-relu', threads: 1 });
    try {
      const vectors = await encoder.encodeDocuments(TEXTS.slice(0, 3));
      const loglog = (x: number): number => Math.log(1 + Math.log(1 + Math.max(0, x)));
      TEXTS.slice(0, 3).forEach((text, i) => expectClose(vectors[i], reference(model, text, { maxLength: 32, includeSpecialPositions: true, activation: loglog })));
    } finally {
      await encoder.dispose();
    }
  });

  it('applies per-document top-k and minimum weight, never to queries', async () => {
    const encoder = await openEncoder({ model: model.dir, topK: 5, minWeight: 0.05, threads: 1 });
    try {
      const [doc] = await encoder.encodeDocuments([TEXTS[0]]);
      const full = reference(model, TEXTS[0], { maxLength: 32 });
      const expected = Object.entries(full)
        .filter(([, w]) => w >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5);
      expectClose(doc, Object.fromEntries(expected));
      const [query] = await encoder.encodeQueries([TEXTS[0]]);
      expectClose(query, full);
    } finally {
      await encoder.dispose();
    }
  });

  it('accepts a graph without token_type_ids (DistilBERT-style inputs)', async () => {
    const noTypes = await writeTinyMaskedLm(join(root, 'no-types'), { seed: 7, maxPositions: 32, inputs: ['input_ids', 'attention_mask'] });
    const encoder = await openEncoder({ model: noTypes.dir, threads: 1 });
    try {
      const vectors = await encoder.encodeDocuments(TEXTS.slice(0, 3));
      TEXTS.slice(0, 3).forEach((text, i) => expectClose(vectors[i], reference(noTypes, text, { maxLength: 32, tokenTypes: false })));
    } finally {
      await encoder.dispose();
    }
  });

  it('uses an already pooled [batch, vocab] output as is', async () => {
    const pooled = await writeTinyMaskedLm(join(root, 'pooled'), { seed: 7, maxPositions: 32, output: 'pooled' });
    const encoder = await openEncoder({ model: pooled.dir, batchSize: 4, threads: 1 });
    try {
      const vectors = await encoder.encodeDocuments(TEXTS);
      TEXTS.forEach((text, i) => expectClose(vectors[i], reference(pooled, text, { maxLength: 32, pooledGraph: true })));
      expect(encoder.spec.model?.output).toBe('pooled');
      expect(encoder.spec.pooling?.activation).toBe('identity');
    } finally {
      await encoder.dispose();
    }
  });

  it('writes byte-identical files for a seed (golden checksum)', async () => {
    const a = await writeTinyMaskedLm(join(root, 'golden'), { seed: 42 });
    const sha = createHash('sha256').update(await readFile(a.modelFile)).digest('hex');
    expect(sha).toBe(GOLDEN_SHA256);
  });

  it('is deterministic for a seed', async () => {
    const again = await writeTinyMaskedLm(join(root, 'again'), { seed: 7, maxPositions: 32 });
    expect(Buffer.compare(Buffer.from(again.weights.w2.buffer), Buffer.from(model.weights.w2.buffer))).toBe(0);
    const other = await writeTinyMaskedLm(join(root, 'other'), { seed: 8, maxPositions: 32 });
    expect(Buffer.compare(Buffer.from(other.weights.w2.buffer), Buffer.from(model.weights.w2.buffer))).not.toBe(0);
  });
});

describe('models that do not fit', () => {
  const V = TINY_VOCABULARY.length;
  const ids = { name: 'input_ids', type: 'int64', shape: ['batch', 'seq'] } as const;
  const table = (rows: number, cols: number) => ({ name: 'table', type: 'float32' as const, dims: [rows, cols], data: new Float32Array(rows * cols).fill(0.5) });

  async function modelDir(name: string, bytes: Uint8Array): Promise<string> {
    const dir = join(root, name);
    await writeTinyMaskedLm(dir, { seed: 1, maxPositions: 32 });
    await writeFile(join(dir, 'model.onnx'), bytes);
    return dir;
  }

  it('names an input spladex cannot provide', async () => {
    const bytes = encodeOnnxModel({
      name: 'image',
      inputs: [ids, { name: 'pixel_values', type: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'seq', V] }],
      nodes: [{ op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['logits'] }],
      initializers: [table(V, V)],
    });
    const dir = await modelDir('extra-input', bytes);
    await expect(openEncoder({ model: dir, threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('pixel_values') });
  });

  it('requires input_ids', async () => {
    const bytes = encodeOnnxModel({
      name: 'no-ids',
      inputs: [{ name: 'attention_mask', type: 'int64', shape: ['batch', 'seq'] }],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'seq', V] }],
      nodes: [{ op: 'Gather', inputs: ['table', 'attention_mask'], outputs: ['logits'] }],
      initializers: [table(V, V)],
    });
    const dir = await modelDir('no-ids', bytes);
    await expect(openEncoder({ model: dir, threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('no input_ids') });
  });

  it('rejects a hidden-state output whose size is not the vocabulary', async () => {
    const bytes = encodeOnnxModel({
      name: 'encoder-only',
      inputs: [ids],
      outputs: [{ name: 'last_hidden_state', type: 'float32', shape: ['batch', 'seq', 16] }],
      nodes: [{ op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['last_hidden_state'] }],
      initializers: [table(V, 16)],
    });
    const dir = await modelDir('hidden', bytes);
    await expect(openEncoder({ model: dir, threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining(`scores 16 tokens but the tokenizer has ${V}`) });
  });

  it('rejects outputs of the wrong rank or type', async () => {
    const rank4 = encodeOnnxModel({
      name: 'rank4',
      inputs: [ids],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'seq', V, 1] }],
      nodes: [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['g'] },
        { op: 'Unsqueeze', inputs: ['g', 'axis'], outputs: ['logits'] },
      ],
      initializers: [table(V, V), { name: 'axis', type: 'int64', dims: [1], data: BigInt64Array.of(3n) }],
    });
    await expect(openEncoder({ model: await modelDir('rank4', rank4), threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('rank 4') });
    const int64 = encodeOnnxModel({
      name: 'int',
      inputs: [ids],
      outputs: [{ name: 'logits', type: 'int64', shape: ['batch', 'seq'] }],
      nodes: [{ op: 'Identity', inputs: ['input_ids'], outputs: ['logits'] }],
      initializers: [],
    });
    await expect(openEncoder({ model: await modelDir('int-output', int64), threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('int64') });
  });

  it('explains a file that is not an ONNX model and a directory without one', async () => {
    const dir = await modelDir('garbage', new TextEncoder().encode('not a model'));
    await expect(openEncoder({ model: dir, threads: 1 })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('cannot load the model') });
    const empty = join(root, 'empty');
    await writeTinyMaskedLm(empty, { seed: 1 });
    await rm(join(empty, 'model.onnx'));
    await expect(openEncoder({ model: empty })).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('optimum-cli export onnx') });
  });
});
