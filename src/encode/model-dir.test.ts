import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelDirectory } from './model-dir.js';
import { writeTinyMaskedLm } from '../testing/tiny-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'spladex-dir-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('readModelDirectory', () => {
  it('finds the Hugging Face export files and the model length limit', async () => {
    const dir = join(root, 'plain');
    await writeTinyMaskedLm(dir, { seed: 1, maxPositions: 48 });
    const info = await readModelDirectory(dir);
    expect(info.modelFile).toBe(join(dir, 'model.onnx'));
    expect(info.tokenizerFile).toBe(join(dir, 'tokenizer.json'));
    expect(info.vocabFile).toBe(join(dir, 'vocab.txt'));
    expect(info.idfFile).toBeNull();
    expect(info.maxPositions).toBe(48);
    expect(info.modelMaxLength).toBe(48);
    expect(info.tokenizerConfig.do_lower_case).toBe(true);
  });

  it('accepts the Optimum layout <dir>/onnx/model.onnx, given as the directory or the file', async () => {
    const dir = join(root, 'optimum');
    await writeTinyMaskedLm(dir, { seed: 1 });
    await mkdir(join(dir, 'onnx'));
    await rename(join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx'));
    expect((await readModelDirectory(dir)).modelFile).toBe(join(dir, 'onnx', 'model.onnx'));
    const byFile = await readModelDirectory(join(dir, 'onnx', 'model.onnx'));
    expect(byFile.dir).toBe(dir);
    expect(byFile.tokenizerFile).toBe(join(dir, 'tokenizer.json'));
  });

  it('reads spladex.json settings and rejects bad ones', async () => {
    const dir = join(root, 'settings');
    await writeTinyMaskedLm(dir, { seed: 1 });
    await writeFile(join(dir, 'spladex.json'), JSON.stringify({ activation: 'log1p-log1p-relu', specialTokenPositions: 'include', maxLength: 32 }));
    expect((await readModelDirectory(dir)).settings).toEqual({ activation: 'log1p-log1p-relu', specialTokenPositions: 'include', maxLength: 32 });
    await writeFile(join(dir, 'spladex.json'), JSON.stringify({ activation: 'gelu' }));
    await expect(readModelDirectory(dir)).rejects.toMatchObject({ code: 'E_MODEL' });
    await writeFile(join(dir, 'spladex.json'), '{ not json');
    await expect(readModelDirectory(dir)).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringContaining('spladex.json is not valid JSON') });
  });

  it('reports a missing path as E_MODEL', async () => {
    await expect(readModelDirectory(join(root, 'nope'))).rejects.toMatchObject({ code: 'E_MODEL' });
  });
});
