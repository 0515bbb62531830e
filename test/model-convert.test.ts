/**
 * `spladex model convert` through its command module (cli/commands/model-convert.ts) on a
 * throwaway `model` parent command: the wiring into the real `model` command belongs to
 * cli/commands/model.ts. Checks the output lines, --json, the reuse of an unchanged conversion and
 * a typed error's exit status.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerConvert } from '../cli/commands/model-convert.js';

const dir = mkdtempSync(join(tmpdir(), 'spladex-model-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BERT = fileURLToPath(new URL('./fixtures/models/bert-tiny', import.meta.url));

async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const program = new Command().name('spladex').exitOverride();
  registerConvert(program.command('model'));
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'spladex', 'model', 'convert', ...args]);
    return { stdout: out.join(''), stderr: err.join(''), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = before;
  }
}

describe('spladex model convert', () => {
  it('converts, then reports the conversion up to date; --json prints the result', async () => {
    const out = join(dir, 'out');
    const first = await run(BERT, '--out', out);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^converted BertForMaskedLM from .*model\.safetensors \(sha256 [0-9a-f]{12}…\) → .*out\/model\.onnx \(4\.\d+ MiB\) in \d+\.\d\d s\nmodel directory: .*out\n$/);
    const second = await run(BERT, '--out', out, '--json');
    const result = JSON.parse(second.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ dir: out, architecture: 'BertForMaskedLM', reused: true });
    expect((await run(BERT, '--out', out)).stdout).toMatch(/^up to date: .*model\.onnx/);
    expect(JSON.parse((await run(BERT, '--out', out, '--force', '--json')).stdout)).toMatchObject({ reused: false });
  });

  it('a bad checkpoint is a typed error with exit status 2', async () => {
    const copy = join(dir, 'empty');
    cpSync(BERT, copy, { recursive: true });
    rmSync(join(copy, 'model.safetensors'));
    const failed = await run(copy);
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toMatch(/^spladex: error \[E_MODEL\]: .*no model\.safetensors or pytorch_model\.bin/);
  });
});
