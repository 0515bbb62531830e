/**
 * Writes the tiny deterministic masked-LM test model (model.onnx, vocab.txt, tokenizer.json,
 * config.json, tokenizer_config.json) into a directory.
 *
 *   node dist/scripts/make-tiny-model.js <dir> [--seed 42] [--pooled]
 */

import { writeTinyMaskedLm } from '../src/testing/index.js';

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  let seed = 42;
  let pooled = false;
  let dir: string | undefined;
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--seed') seed = Number(args.shift());
    else if (arg === '--pooled') pooled = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: make-tiny-model <dir> [--seed <int>] [--pooled]');
      return;
    } else dir = arg;
  }
  if (dir === undefined || !Number.isInteger(seed)) {
    console.error('usage: make-tiny-model <dir> [--seed <int>] [--pooled]');
    process.exitCode = 2;
    return;
  }
  const model = await writeTinyMaskedLm(dir, { seed, output: pooled ? 'pooled' : 'token-logits' });
  console.log(`wrote ${model.modelFile} (${model.vocabulary.length} tokens, seed ${seed}, ${pooled ? 'pooled [batch, vocab]' : 'logits [batch, seq, vocab]'} output)`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
