/**
 * A random-weight `BertForMaskedLM` checkpoint as Hugging Face's save_pretrained lays it out —
 * config.json, model.safetensors (F32, decoder tied to the word embeddings and so absent),
 * vocab.txt and tokenizer.json, tokenizer_config.json — written without Python, for benchmarks of
 * a converted model of real size (BERT-base: hidden 768, 12 layers, 12 heads, 3072) and for tests
 * of the converter. The weights are seeded uniform noise: the vectors mean nothing, the cost is real.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensors, type SafetensorsTensor } from '../encode/convert/safetensors.js';
import { Rng, uniformFloats } from '../util/rng.js';
import { bertTokenizerJson } from './tiny-model.js';

export interface RandomBertOptions {
  /** Tokens in id order; must contain [PAD] [UNK] [CLS] [SEP] [MASK]. */
  vocabulary: readonly string[];
  /** Default 768 (BERT-base). */
  hiddenSize?: number;
  /** Default 12. */
  layers?: number;
  /** Default 12. */
  heads?: number;
  /** Default 3072. */
  intermediateSize?: number;
  /** Default 512. */
  maxPositions?: number;
  /** Default 1. */
  seed?: number;
}

/** Writes the checkpoint into `dir` (created if needed); returns the bytes of model.safetensors. */
export async function writeRandomBertCheckpoint(dir: string, options: RandomBertOptions): Promise<number> {
  const { vocabulary } = options;
  const H = options.hiddenSize ?? 768;
  const layers = options.layers ?? 12;
  const heads = options.heads ?? 12;
  const I = options.intermediateSize ?? 3072;
  const P = options.maxPositions ?? 512;
  const V = vocabulary.length;
  const rng = new Rng(options.seed ?? 1);
  const tensors: SafetensorsTensor[] = [];
  // Scales of the usual initialisation (std 0.02 ≈ uniform ±0.035), LayerNorm at identity.
  const add = (name: string, shape: number[], scale: number, fill?: number): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, data: fill === undefined ? uniformFloats(rng, n, scale) : new Float32Array(n).fill(fill) });
  };
  const linear = (name: string, out: number, inp: number): void => {
    add(`${name}.weight`, [out, inp], 0.035);
    add(`${name}.bias`, [out], 0.01);
  };
  const norm = (name: string, size: number): void => {
    add(`${name}.weight`, [size], 0, 1);
    add(`${name}.bias`, [size], 0, 0);
  };
  add('bert.embeddings.word_embeddings.weight', [V, H], 0.035);
  add('bert.embeddings.position_embeddings.weight', [P, H], 0.035);
  add('bert.embeddings.token_type_embeddings.weight', [2, H], 0.035);
  norm('bert.embeddings.LayerNorm', H);
  for (let i = 0; i < layers; i++) {
    const l = `bert.encoder.layer.${i}`;
    for (const part of ['query', 'key', 'value']) linear(`${l}.attention.self.${part}`, H, H);
    linear(`${l}.attention.output.dense`, H, H);
    norm(`${l}.attention.output.LayerNorm`, H);
    linear(`${l}.intermediate.dense`, I, H);
    linear(`${l}.output.dense`, H, I);
    norm(`${l}.output.LayerNorm`, H);
  }
  linear('cls.predictions.transform.dense', H, H);
  norm('cls.predictions.transform.LayerNorm', H);
  // A negative bias, as trained SPLADE heads have, so ReLU leaves sparse vectors: 1.5 standard
  // deviations of a logit (LayerNorm output · word embedding ≈ 0.02 · √H) below zero.
  const sigma = 0.02 * Math.sqrt(H);
  add('cls.predictions.bias', [V], sigma);
  const bias = tensors[tensors.length - 1].data;
  for (let v = 0; v < V; v++) bias[v] -= 1.5 * sigma;

  await mkdir(dir, { recursive: true });
  const bytes = encodeSafetensors(tensors);
  await writeFile(join(dir, 'model.safetensors'), bytes);
  const config = {
    architectures: ['BertForMaskedLM'],
    model_type: 'bert',
    vocab_size: V,
    hidden_size: H,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: I,
    hidden_act: 'gelu',
    max_position_embeddings: P,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    _spladex_note: `random weights (seed ${options.seed ?? 1}), for benchmarks and tests; not a trained model`,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(dir, 'vocab.txt'), vocabulary.join('\n') + '\n');
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocabulary)));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: P, tokenizer_class: 'BertTokenizer' }, null, 2));
  return bytes.byteLength;
}
