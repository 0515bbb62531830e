/**
 * `spladex synth`: write a seeded synthetic SPLADE-like collection (documents.jsonl, queries.jsonl,
 * qrels.txt). See src/bench/synth.ts for the model and its calibration.
 */

import type { Command } from 'commander';
import cliProgress from 'cli-progress';

import { SpladexError } from '../../src/errors.js';
import { SYNTH_DEFAULTS, readVocabFile, writeSynthetic, type WriteSyntheticOptions } from '../../src/bench/synth.js';

interface SynthCliOptions {
  docs: number;
  queries: number;
  seed: number;
  out: string;
  vocab?: string;
  avgDocTerms: number;
  avgQueryTerms: number;
  topics: number;
  topicTerms: number;
  zipfExponent: number;
  topicalFraction: number;
  queryDocFraction: number;
  qrels: boolean;
  force: boolean;
  progress: boolean;
}

/** Parses a numeric option strictly (commander's parseFloat would accept "12abc"). */
function numberOption(flag: string): (value: string) => number {
  return (value: string): number => {
    const n = value.trim() === '' ? NaN : Number(value.replace(/_/g, ''));
    if (!Number.isFinite(n)) throw new SpladexError('E_OPTION', `option ${flag} needs a number, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function register(program: Command): void {
  const d = SYNTH_DEFAULTS;
  program
    .command('synth')
    .description(
      'Write a seeded synthetic SPLADE-like collection: <out>/documents.jsonl, <out>/queries.jsonl and <out>/qrels.txt ' +
        '(each query\'s source document). Same seed and options → byte-identical files.',
    )
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--docs <n>', 'number of documents [1, 1e8]', numberOption('--docs'), d.docs)
    .option('--queries <n>', 'number of queries [0, 1e7]', numberOption('--queries'), d.queries)
    .option('--seed <n>', 'PRNG seed, integer [0, 2^32-1]', numberOption('--seed'), d.seed)
    .option('--vocab <vocab.txt>', `real token strings, one per line (e.g. bert-base-uncased vocab.txt); default: synthetic t0…t${d.vocabSize - 1}`)
    .option('--avg-doc-terms <n>', 'mean non-zeros per document [1, 1000]', numberOption('--avg-doc-terms'), d.avgDocTerms)
    .option('--avg-query-terms <n>', 'mean non-zeros per query [1, 1000]', numberOption('--avg-query-terms'), d.avgQueryTerms)
    .option('--topics <n>', 'number of latent topics [1, 1e6]', numberOption('--topics'), d.topics)
    .option('--topic-terms <n>', 'terms per topic [8, vocabulary size]', numberOption('--topic-terms'), d.topicTerms)
    .option('--zipf-exponent <s>', 'background term popularity exponent [0, 3]', numberOption('--zipf-exponent'), d.zipfExponent)
    .option('--topical-fraction <f>', 'share of document terms drawn from its topics [0, 1]', numberOption('--topical-fraction'), d.topicalFraction)
    .option('--query-doc-fraction <f>', 'share of query terms taken from its source document [0, 1]', numberOption('--query-doc-fraction'), d.queryDocFraction)
    .option('--no-qrels', 'do not write qrels.txt')
    .option('--force', 'overwrite existing output files', false)
    .option('--no-progress', 'do not show a progress bar')
    .action(async (opts: SynthCliOptions) => {
      const vocab = opts.vocab !== undefined ? await readVocabFile(opts.vocab) : undefined;
      const bar = opts.progress && process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'synth [{bar}] {percentage}% | {value}/{total} vectors | ETA {eta}s', etaBuffer: 50 }, cliProgress.Presets.shades_classic) : undefined;
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
        force: opts.force,
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
        const mb = (r.bytes / 1e6).toFixed(1);
        const secs = (r.elapsedMs / 1000).toFixed(1);
        process.stderr.write(`wrote ${r.docs} documents and ${r.queries} queries (${mb} MB) to ${opts.out} in ${secs} s\n`);
      } catch (e) {
        bar?.stop();
        throw e;
      }
    });
}
