/**
 * `spladex/encode` — text → sparse vectors: SPLADE (ONNX), inference-free and lexical (BM25)
 * encoders, their persistence spec, tokenizers, corpus streaming, IDF and FLOPS tools.
 * onnxruntime-node loads only when a model session opens. Re-exports only.
 */

export { openEncoder, openEncoderFromSpec, ENCODER_OPTIONS, ENCODER_DEFAULTS } from './encoder.js';
export type { Encoder, EncoderOptions, EncoderStats } from './encoder.js';
export { parseEncoderSpec, ENCODER_KINDS, ENCODER_SPEC_FORMAT, ENCODER_SPEC_VERSION } from './spec.js';
export type { EncoderKind, EncoderSpec } from './spec.js';
export { bm25Idf, idfTableFromJson, idfTableToJson, readIdfJson } from './idf.js';
export type { IdfTable } from './idf.js';
export type { CorpusStats, Bm25Parameters } from './lexical.js';
export { readCorpusJsonl, readCorpusStream, parseCorpusLine, parseCorpusObject, encodeCorpus, encodeChunkSize, collectCorpusStats, recordText } from './corpus.js';
export type { CorpusRecord, EncodedDocument, EncodableRecord, CorpusEncodeOptions, ReadCorpusOptions } from './corpus.js';
export { bm25IdfOf, computeFlops, documentFrequencies, postingsPerDocument, pruneToFlopsBudget, selectPostings, csrFromVectors } from './flops.js';
export type { CsrMatrix, FlopsPruneOptions, FlopsPruneResult, PostingSelection, PostingsPerDocument } from './flops.js';
export { loadTokenizerJson, loadVocabTxtTokenizer } from './tokenizer.js';
export type { TextTokenizer, TokenizerSpec } from './tokenizer.js';
export { EnglishAnalyzer, LUCENE_ENGLISH_STOP_WORDS } from './english-analyzer.js';
export { porterStem } from './porter-stemmer.js';
export type { PoolingActivation } from './pooling.js';
export { pullModel } from './hub/pull.js';
export type { PullOptions, PullProgress, PullResult, PulledFile } from './hub/pull.js';
export { listCachedModels, removeCachedModel } from './hub/cache.js';
export type { CachedModel, CachedRevision, RemovedModel } from './hub/cache.js';
export { resolveModelReference } from './hub/resolve.js';
export type { HubOrigin, ModelLocation } from './hub/resolve.js';
export { ensureOnnx } from './hub/ensure-onnx.js';
export { hubSettings } from './hub/settings.js';
export type { HubSettings, HubSettingsOverrides } from './hub/settings.js';
export { convertCheckpoint } from './convert/convert.js';
export type { ConversionResult, ConvertOptions } from './convert/convert.js';
