/** The benchmark suite's generated collections (cached under --data) and its log. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readVocabFile, writeSynthetic, type SynthOptions } from '../src/bench/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED = resolve(ROOT, '../shared/data');
export const MSMARCO_QUERIES = join(SHARED, 'vectors/msmarco-dev-subset.splade-pp-ed.queries.jsonl');
export const BERT_VOCAB = join(SHARED, 'vocab/bert-base-uncased.vocab.txt');
/** The MS MARCO query file stores weights ×10 relative to the model output (see src/bench/synth.ts). */
export const MSMARCO_WEIGHT_SCALE = 0.1;

export const log = (message: string): void => {
  process.stderr.write(`[bench-suite ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** A path relative to the repository when it is inside it (for messages and the report). */
export const shown = (path: string): string => (path.startsWith(ROOT) ? relative(ROOT, path) : path);

/** Generates a synthetic collection into `dir` unless the same one (its stamp) is there already. */
export async function ensureSynthetic(dir: string, options: Partial<SynthOptions>, stampExtra: Record<string, unknown> = {}): Promise<void> {
  const stampFile = join(dir, 'synth.json');
  const { vocab: _vocab, ...described } = options;
  const stamp = JSON.stringify({ ...described, ...stampExtra });
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(join(dir, 'documents.jsonl'))) {
    log(`reusing ${shown(dir)}`);
    return;
  }
  log(`generating ${options.docs} synthetic documents into ${shown(dir)}`);
  const written = await writeSynthetic({ ...options, outDir: dir, overwrite: true });
  writeFileSync(stampFile, stamp);
  log(`generated in ${(written.elapsedMs / 1000).toFixed(0)} s`);
}

/**
 * The MS MARCO collection of part (b) and the yardstick: a synthetic BERT-vocabulary collection
 * (generated once, cached) and the first queries of the MS MARCO file, weights divided by 10 to
 * the documents' scale.
 */
export async function ensureMsmarcoCollection(o: { docs: number; queries: number; seed: number }, dataDir: string): Promise<{ dir: string; queries: string; count: number }> {
  const dir = join(dataDir, `synthetic-bert-${o.docs}`);
  const vocab = await readVocabFile(BERT_VOCAB);
  await ensureSynthetic(dir, { docs: o.docs, queries: 0, seed: o.seed + 1, vocab }, { vocabFile: 'bert-base-uncased.vocab.txt', vocabSize: vocab.length });
  const queries = join(dataDir, `msmarco-dev-${o.queries}.scaled.jsonl`);
  const lines = readFileSync(MSMARCO_QUERIES, 'utf8').split('\n').filter((line) => line.trim() !== '').slice(0, o.queries);
  writeFileSync(
    queries,
    lines
      .map((line) => {
        const { id, vector } = JSON.parse(line) as { id: string; vector: Record<string, number> };
        const scaled: Record<string, number> = {};
        for (const token in vector) scaled[token] = vector[token] * MSMARCO_WEIGHT_SCALE;
        return JSON.stringify({ id, vector: scaled });
      })
      .join('\n') + '\n',
  );
  return { dir, queries, count: lines.length };
}

