/** Build options shared by every command that builds segments (index, add, compact). */
import type { Command } from 'commander';
import { BUILD_DEFAULTS, type BuildOptions } from '../src/index.js';import { choice, parseInteger, parseNumber } from './util.js';

export function addBuildOptions(command: Command): Command {
  const d = BUILD_DEFAULTS;
  return command
    .option('--pruning <strategy>', 'static pruning: global-threshold | fixed-size | none', choice(['global-threshold', 'fixed-size', 'none'] as const), d.pruning)
    .option('--n-postings <n>', 'λ: average (global-threshold) or exact (fixed-size) postings kept per list', parseInteger, d.nPostings)
    .option('--max-fraction <f>', 'global-threshold: cap of one list as a multiple of --n-postings', parseNumber, d.maxFraction)
    .option('--blocking <strategy>', 'blocking of posting lists: kmeans | fixed-size', choice(['kmeans', 'fixed-size'] as const), d.blocking)
    .option('--centroid-fraction <f>', 'k-means: centroids per list as a fraction of its length, in (0, 1]', parseNumber, d.centroidFraction)
    .option('--kmeans-doc-cut <n>', 'k-means: terms of each document used to pick its centroid', parseInteger, d.kmeansDocCut)
    .option('--block-size <n>', 'fixed-size blocking: documents per block', parseInteger, d.blockSize)
    .option('--summary-energy <f>', 'fraction of a block summary\'s L1 mass kept, in (0, 1]; 1 is lossless', parseNumber, d.summaryEnergy)
    .option('--max-summary-terms <n>', 'cap on terms per block summary (0 = no cap)', parseInteger, d.maxSummaryTerms)
    .option('--forward-values <type>', 'forward-index value storage: f16 | u8 | f32', choice(['f16', 'u8', 'f32'] as const), d.forwardValues)
    .option('--knn <n>', 'κ: nearest neighbours stored per document for the κ-NN graph round of search (0 = no graph)', parseInteger, d.knn)
    .option('--seed <n>', 'seed of every random choice (builds are deterministic per seed)', parseInteger, d.seed)
    .option('--threads <n>', 'build threads', parseInteger, d.threads);
}

export function buildOptionsFrom(opts: Record<string, unknown>): BuildOptions {
  return {
    pruning: opts.pruning as BuildOptions['pruning'],
    nPostings: opts.nPostings as number,
    maxFraction: opts.maxFraction as number,
    blocking: opts.blocking as BuildOptions['blocking'],
    centroidFraction: opts.centroidFraction as number,
    kmeansDocCut: opts.kmeansDocCut as number,
    blockSize: opts.blockSize as number,
    summaryEnergy: opts.summaryEnergy as number,
    maxSummaryTerms: opts.maxSummaryTerms as number,
    forwardValues: opts.forwardValues as BuildOptions['forwardValues'],
    knn: opts.knn as number,
    seed: opts.seed as number,
    threads: opts.threads as number,
  };
}
