import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint, openEncoder } from '../encode/index.js';
import { writeRandomBertCheckpoint } from './random-checkpoint.js';
import { TINY_VOCABULARY } from './tiny-model.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spladex-random-bert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeRandomBertCheckpoint', () => {
  it('writes a save_pretrained-like directory that converts and encodes', async () => {
    const checkpoint = join(dir, 'bert');
    const bytes = await writeRandomBertCheckpoint(checkpoint, { vocabulary: TINY_VOCABULARY, hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 32, maxPositions: 64, seed: 3 });
    expect(bytes).toBeGreaterThan(TINY_VOCABULARY.length * 16 * 4);
    expect((await readdir(checkpoint)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    const converted = await convertCheckpoint(checkpoint);
    expect(converted).toMatchObject({ dir: join(checkpoint, 'spladex-onnx'), architecture: 'BertForMaskedLM', reused: false });
    const encoder = await openEncoder({ model: converted.dir, threads: 1 });
    try {
      const [a, b] = await encoder.encodeDocuments(['sparse retrieval of cells', 'sparse retrieval of cells']);
      expect(Object.keys(a).length).toBeGreaterThan(0);
      expect(b).toEqual(a);
      expect(encoder.spec.maxLength).toBe(64);
    } finally {
      await encoder.dispose();
    }
  });
});
