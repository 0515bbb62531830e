/**
 * `spladex model convert <dir> [--out dir]`: a Hugging Face checkpoint directory (config.json +
 * model.safetensors or a plain-state-dict pytorch_model.bin, tokenizer files) → a model directory
 * with model.onnx that `--model` accepts. Registered on the `model` command by its owner
 * (cli/commands/model.ts) through `registerConvert`.
 */
import type { Command } from 'commander';
import { convertCheckpoint, type ConversionResult } from '../../src/encode/index.js';
import { action, formatBytes, formatSeconds, writeLine } from '../util.js';

interface ConvertCliOptions {
  out?: string;
  force: boolean;
  json: boolean;
}

export function registerConvert(model: Command): void {
  model
    .command('convert')
    .description(
      'convert a BertForMaskedLM or DistilBertForMaskedLM checkpoint (config.json + model.safetensors, or a plain state dict in pytorch_model.bin) ' +
        'into model.onnx plus its tokenizer files, a model directory for --model; a conversion of the same checkpoint (same SHA-256) is reused',
    )
    .argument('<dir>', 'checkpoint directory (or the checkpoint file)')
    .option('--out <dir>', 'output model directory (default: <dir>/spladex-onnx)')
    .option('--force', 'convert again even when the recorded conversion matches the checkpoint', false)
    .option('--json', 'print the result as one JSON object', false)
    .action(
      action(async (dir: string, options: ConvertCliOptions) => {
        const result = await convertCheckpoint(dir, { outDir: options.out, force: options.force });
        if (options.json) writeLine(JSON.stringify(result));
        else writeLine(describe(result));
      }),
    );
}

function describe(r: ConversionResult): string {
  const what = `${r.architecture} from ${r.source} (sha256 ${r.sha256.slice(0, 12)}…)`;
  if (r.reused) return `up to date: ${r.modelFile} (${formatBytes(r.bytes)}) was converted from ${what}\nmodel directory: ${r.dir}`;
  return `converted ${what} → ${r.modelFile} (${formatBytes(r.bytes)}) in ${formatSeconds(r.seconds)}\nmodel directory: ${r.dir}`;
}
