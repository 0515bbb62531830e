/**
 * Text in, text out: build an index straight from a text corpus, encoding while indexing, and
 * reopen its encoder to encode queries exactly the way the documents were.
 *
 *   const summary = await buildTextIndex('corpus.jsonl', 'my-index', { encoder: { model: 'models/splade-v3' } });
 *   const index = SpladexIndex.open('my-index');
 *   const hits = await index.searchText('what causes sleep loss', { k: 10 });
 *
 * The index stores the encoder's spec (kind, model path and SHA-256, tokenizer and its checksum,
 * pooling, lengths, BM25 parameters and corpus statistics) and its IDF table in spladex.db (see
 * src/text/encoder-store.ts), so searching needs nothing but the index — plus the model files for
 * the `splade` kind, whose queries run through the model.
 */
import { encodeChunkSize } from '../encode/corpus.js';
import { openEncoder, type EncoderOptions } from '../encode/encoder.js';
import { SpladexError } from '../errors.js';
import { defaultEncoderKind, indexTextCorpus, encoderIdf, type TextCorpusSource } from '../text/text-source.js';
import { buildIndexWith } from './build.js';
import { encoderTermSpace } from '../text/encoder-store.js';
import { precheckBuild, type BuildSummary, type IndexBuildOptions } from './build-plan.js';

export { defaultEncoderKind };
export type { EncoderBuildReport, TextCorpusSource, TextDocumentInput } from '../text/text-source.js';

export interface TextIndexBuildOptions extends IndexBuildOptions {
  /**
   * The encoder (`openEncoder` options). Default kind: `splade` when `model` is given, else
   * `lexical` — lexical (BM25), not a learned model. `idf` here is the inference-free query IDF;
   * the index option `idf` is the posting-pruning IDF of a `splade` index.
   */
  encoder?: EncoderOptions;
  /** Documents per encoder call (sorted by length inside a chunk). Default max(256, 4 × batchSize); range 1 – 1,000,000. */
  chunkSize?: number;
}

/**
 * Builds an index from a text corpus (a JSONL file path, an array, or a function returning a fresh
 * iterable; see `TextCorpusSource`), encoding while indexing. Encoders that need corpus statistics
 * read the corpus twice. The content (`title + " " + text`) and `metadata` of each document are
 * stored with it; the encoder spec and IDF table are stored with the index. The summary adds the
 * encoder's throughput and time split (`summary.encoder`).
 */
export async function buildTextIndex(corpus: TextCorpusSource, out: string, options: TextIndexBuildOptions = {}): Promise<BuildSummary> {
  const started = performance.now();
  const { encoder: encoderOptions = {}, chunkSize, ...indexOptions } = options;
  const kind = defaultEncoderKind(encoderOptions);
  if (indexOptions.idf !== undefined && kind !== 'splade') {
    throw new SpladexError(
      'E_OPTION',
      kind === 'lexical'
        ? 'option idf does not apply to the lexical encoder: BM25 weights and pruning values use the IDF of the corpus'
        : 'give the inference-free IDF table to the encoder (encoder.idf / --idf), not as an index option',
    );
  }
  // Everything that can be refused is refused before the encoder runs over the corpus.
  precheckBuild(out, indexOptions);
  const label = indexOptions.sourceLabel ?? (typeof corpus === 'string' ? corpus : '<documents>');

  const encoder = await openEncoder({ ...encoderOptions, kind });
  try {
    const termSpace = await encoderTermSpace(encoder.spec);
    const pass = {
      label,
      chunkSize: chunkSize ?? encodeChunkSize(encoderOptions.batchSize),
      skipInvalid: indexOptions.skipInvalid ?? false,
      ...(indexOptions.onSkip === undefined ? {} : { onSkip: indexOptions.onSkip }),
      ...(indexOptions.onProgress === undefined ? {} : { onProgress: indexOptions.onProgress }),
    };
    return await indexTextCorpus(encoder, corpus, pass, started, (documents) => {
      // Read the IDF only now: a two-pass encoder computes it in the statistics pass.
      const idf = encoderIdf(encoder);
      return buildIndexWith(documents, out, { ...indexOptions, sourceLabel: label }, { encoder: encoder.spec, ...(idf === undefined ? {} : { idf }), encodeQueries: (texts) => encoder.encodeQueries(texts), termSpace });
    });
  } finally {
    await encoder.dispose();
  }
}
