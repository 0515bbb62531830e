/**
 * `spladex synth --out <dir>`: writes a seeded synthetic SPLADE-like collection (documents.jsonl,
 * queries.jsonl, qrels.txt). See src/bench/synth.ts for the model and its calibration.
 */
import type { Command } from 'commander';
import { SYNTH_DEFAULTS, readVocabFile, writeSynthetic, type SynthOptions, type WriteSyntheticOptions } from '../../src/bench/index.js';import { action, formatBytes, parseInteger, parseNumber, progressBar, writeLine } from '../util.js';

/** Parsed flags: the generator's own options (vocab as a path), plus output handling. */
type SynthCliOptions = Omit<SynthOptions, 'vocab' | 'vocabSize' | 'docIdPrefix' | 'queryIdPrefix'> & {
  out: string;
  vocab?: string;
  qrels: boolean;
  overwrite: boolean;
  quiet: boolean;
};

export function register(program: Command): void {
  const d = SYNTH_DEFAULTS;
  program
    .command('synth')
    .description(
      'write a seeded synthetic SPLADE-like collection: <out>/documents.jsonl, <out>/queries.jsonl and ' +
        "<out>/qrels.txt (each query's source document); the same seed and options give byte-identical files",
    )
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--docs <n>', 'number of documents, 1..1e8', parseInteger, d.docs)
    .option('--queries <n>', 'number of queries, 0..1e7', parseInteger, d.queries)
    .option('--seed <n>', 'PRNG seed, 0..2^32-1', parseInteger, d.seed)
    .option('--vocab <vocab.txt>', `token strings, one per line in id order (e.g. bert-base-uncased vocab.txt; [PAD]-style entries are skipped); default: synthetic t0..t${d.vocabSize - 1}`)
    .option('--avg-doc-terms <n>', 'mean non-zeros per document, 1..1000', parseNumber, d.avgDocTerms)
    .option('--avg-query-terms <n>', 'mean non-zeros per query, 1..1000', parseNumber, d.avgQueryTerms)
    .option('--topics <n>', 'number of latent topics, 1..1e6', parseInteger, d.topics)
    .option('--topic-terms <n>', 'terms per topic, 8..vocabulary size', parseInteger, d.topicTerms)
    .option('--zipf-exponent <s>', 'background term popularity exponent, 0..3 (larger: more very common terms)', parseNumber, d.zipfExponent)
    .option('--topical-fraction <f>', 'share of non-family document terms drawn from its topics, 0..1', parseNumber, d.topicalFraction)
    .option('--query-doc-fraction <f>', 'share of query terms taken from its source document, 0..1 (0: pure topic queries)', parseNumber, d.queryDocFraction)
    .option('--no-qrels', 'do not write qrels.txt')
    .option('--overwrite', 'replace existing output files', false)
    .option('--quiet', 'no progress bar', false)
    .action(
      action(async (opts: SynthCliOptions) => {
        const vocab = opts.vocab !== undefined ? await readVocabFile(opts.vocab) : undefined;
        const bar = progressBar(opts.quiet, '{bar} {percentage}% | {value}/{total} vectors | ETA {eta_formatted}');
        const options: WriteSyntheticOptions = {
          outDir: opts.out,
          docs: opts.docs,
          queries: opts.queries,
          seed: opts.seed,
          vocab,
          avgDocTerms: opts.avgDocTerms,
          avgQueryTerms: opts.avgQueryTerms,
          topics: opts.topics,
          topicTerms: opts.topicTerms,
          zipfExponent: opts.zipfExponent,
          topicalFraction: opts.topicalFraction,
          queryDocFraction: opts.queryDocFraction,
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
