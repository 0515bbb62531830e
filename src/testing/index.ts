/**
 * `spladex/testing` — a generator of tiny random-weight SPLADE models (a real ONNX masked-LM graph
 * and its tokenizer files) for tests of the encoder path without downloading a model, and of
 * random-weight BERT checkpoints (safetensors, any size) for the converter and its benchmark. Kept out of
 * the main entry so that `import 'spladex'` never loads onnx-proto. Re-exports only.
 */
export { writeTinyMaskedLm, TINY_VOCABULARY } from './tiny-model.js';
export type { TinyMaskedLm, TinyMaskedLmOptions } from './tiny-model.js';
export { writeRandomBertCheckpoint } from './random-checkpoint.js';
export type { RandomBertOptions } from './random-checkpoint.js';
