/**
 * `spladex synth --out <dir>`: writes a seeded synthetic SPLADE-like collection (documents.jsonl,
 * queries.jsonl, qrels.txt). See src/bench/synth.ts for the model and its calibration.
 */
import type { Command } from 'commander';
import { SYNTH_DEFAULTS, SYNTH_OPTIONS, readVocabFile, writeSynthetic, type WriteSyntheticOptions } from '../../src/bench/index.js';
import { addTableOptions, tableOptionsFrom } from '../table-options.js';
import { action, formatBytes, progressBar, writeLine } from '../util.js';

/** The flags `synth` reads itself (vocab as a path, output handling); the generator's are read with `tableOptionsFrom`. */
interface SynthCliOptions {
  out: string;
  vocab?: string;
  qrels: boolean;
  overwrite: boolean;
  quiet: boolean;
}

export function register(program: Command): void {
  const d = SYNTH_DEFAULTS;
  const command = program
    .command('synth')
    .description(
      'write a seeded synthetic SPLADE-like collection: <out>/documents.jsonl, <out>/queries.jsonl and ' +
        "<out>/qrels.txt (each query's source document); the same seed and options give byte-identical files",
    )
    .requiredOption('--out <dir>', 'output directory (created if missing)');
  addTableOptions(command, SYNTH_OPTIONS)
    .option('--vocab <vocab.txt>', `token strings, one per line in id order (e.g. bert-base-uncased vocab.txt; [PAD]-style entries are skipped); default: synthetic t0..t${d.vocabSize - 1}`)
    .option('--no-qrels', 'do not write qrels.txt')
    .option('--overwrite', 'replace existing output files', false)
    .option('--quiet', 'no progress bar', false)
    .action(
      action(async (opts: SynthCliOptions) => {
        const vocab = opts.vocab !== undefined ? await readVocabFile(opts.vocab) : undefined;
        const bar = progressBar(opts.quiet, '{bar} {percentage}% | {value}/{total} vectors | ETA {eta_formatted}');
        const options: WriteSyntheticOptions = {
          ...tableOptionsFrom(command, SYNTH_OPTIONS),
          outDir: opts.out,
          vocab,
          qrels: opts.qrels,
          overwrite: opts.overwrite,
        };
        if (bar) {
          let started = false;
          options.onProgress = (done, total) => {
            if (!started) {
              bar.start(total, 0);
              started = true;
            }
            bar.update(done);
          };
        }
        try {
          const r = await writeSynthetic(options);
          bar?.stop();
          writeLine(`wrote ${r.docs} documents and ${r.queries} queries (${formatBytes(r.bytes)}) to ${opts.out} in ${(r.elapsedMs / 1000).toFixed(1)} s`);
        } finally {
          bar?.stop();
        }
      }),
    );
}
