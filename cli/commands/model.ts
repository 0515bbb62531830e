/**
 * `spladex model pull|list|rm`: models from the Hugging Face Hub, in the huggingface_hub cache
 * (shared with Python: a model pulled by either is used by both). `register` returns the `model`
 * command so that further subcommands (`model convert`) are added with one `.command(…)` on it.
 */
import type { Command } from 'commander';
import { ensureOnnx, hubSettings, listCachedModels, pullModel, removeCachedModel, type PullResult } from '../../src/encode/index.js';
import { downloadProgress } from '../download-progress.js';
import { action, formatBytes, writeLine } from '../util.js';

const ENVIRONMENT_HELP = `
Environment (as huggingface_hub reads it):
  HF_ENDPOINT     the Hub (default https://huggingface.co)
  HF_TOKEN        access token for gated and private models (default: the file $HF_HOME/token)
  HF_HOME         default ~/.cache/huggingface
  HF_HUB_CACHE    the model cache (default $HF_HOME/hub)
  HF_HUB_OFFLINE  1: use the cache only, never the network`;

interface PullCliOptions {
  json: boolean;
  quiet: boolean;
}

export function register(program: Command): Command {
  const model = program
    .command('model')
    .description('models from the Hugging Face Hub: pull, list and remove them in the Hub cache (shared with Python\'s huggingface_hub); --model org/name pulls on first use too')
    .addHelpText('after', ENVIRONMENT_HELP);

  model
    .command('pull')
    .description('download the files an encoder needs (the ONNX export, else the checkpoint; config, tokenizer, idf.json) of one revision into the Hub cache; a no-op when cached')
    .argument('<repo>', 'org/name[@revision]: a branch, a tag or a 40-hex commit (default main)')
    .option('--json', 'print the summary as one JSON object', false)
    .option('--quiet', 'no progress bar', false)
    .addHelpText('after', `\nExamples:\n  spladex model pull naver/splade-v3\n  spladex model pull opensearch-project/opensearch-neural-sparse-encoding-doc-v2-distill@main\n${ENVIRONMENT_HELP}`)
    .action(
      action(async (reference: string, opts: PullCliOptions) => {
        const result = await pullModel(reference, { onProgress: downloadProgress(opts.quiet || opts.json) });
        let modelDir: string | null = null;
        try {
          modelDir = await ensureOnnx(result.dir);
        } finally {
          printPull(result, modelDir, opts.json);
        }
      }),
    );

  model
    .command('list')
    .description('list the models in the Hub cache: revisions (commits and the branches or tags naming them) and sizes')
    .option('--json', 'print one JSON object', false)
    .action(
      action(async (opts: { json: boolean }) => {
        const { cacheDir } = hubSettings();
        const models = await listCachedModels();
        if (opts.json) {
          writeLine(JSON.stringify({ cacheDir, models }));
          return;
        }
        if (models.length === 0) {
          writeLine(`no models in the Hub cache at ${cacheDir} ("spladex model pull <org/name>" adds one)`);
          return;
        }
        writeLine(`Hub cache ${cacheDir}`);
        for (const m of models) {
          writeLine(`${m.repo}  ${formatBytes(m.size)}`);
          for (const r of m.revisions) writeLine(`  ${r.commit.slice(0, 12)}  ${(r.refs.join(', ') || '(commit)').padEnd(12)}  ${r.files.length} files, ${formatBytes(r.size)}`);
        }
      }),
    );

  model
    .command('rm')
    .description('remove a model from the Hub cache: all of it, or with @revision one snapshot (blobs other snapshots use are kept)')
    .argument('<repo>', 'org/name or org/name@revision')
    .option('--json', 'print the summary as one JSON object', false)
    .action(
      action(async (reference: string, opts: { json: boolean }) => {
        const removed = await removeCachedModel(reference);
        if (opts.json) writeLine(JSON.stringify(removed));
        else writeLine(`removed ${reference} from the Hub cache: ${removed.commits.length} revision${removed.commits.length === 1 ? '' : 's'}, ${formatBytes(removed.bytes)} freed`);
      }),
    );
  return model;
}

function printPull(result: PullResult, modelDir: string | null, json: boolean): void {
  if (json) {
    writeLine(JSON.stringify({ ...result, modelDir }));
    return;
  }
  const downloaded = result.files.filter((f) => f.status === 'downloaded').length;
  writeLine(
    `pulled ${result.repo}@${result.revision}: commit ${result.commit} (${result.files.length} files, ${downloaded} downloaded, ${formatBytes(result.downloadedBytes)})`,
  );
  if (result.note !== null) writeLine(`  note      ${result.note}`);
  writeLine(`  snapshot  ${result.dir}`);
  for (const f of result.files) writeLine(`  ${f.file.padEnd(24)} ${formatBytes(f.size).padStart(10)}  ${f.status}`);
  if (modelDir !== null) writeLine(`  use       --model ${result.repo}${result.revision === 'main' ? '' : `@${result.revision}`} (or --model ${modelDir})`);
}
