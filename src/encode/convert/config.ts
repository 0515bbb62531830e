/**
 * The masked-LM architectures SPLADE models are trained on, as `config.json` describes them. Kept
 * apart from the graph builder (masked-lm-graph.ts) so that reading a config never loads the ONNX
 * writer (onnx-proto), which `spladex/encode` loads only when a conversion runs.
 *
 * Both are post-LayerNorm transformer encoders that differ in names and details:
 *  - BertForMaskedLM: word + position + token-type embeddings; head `cls.predictions.transform`
 *    (dense, GELU, LayerNorm) and a decoder tied to the word embeddings unless the checkpoint
 *    carries `cls.predictions.decoder.weight`; LayerNorm eps from config.
 *  - DistilBertForMaskedLM: no token types; head `vocab_transform`, GELU, `vocab_layer_norm`,
 *    `vocab_projector` (tied likewise); LayerNorm eps 1e-12 as in transformers.
 */

import { SpladexError } from '../../errors.js';

export type Architecture = 'BertForMaskedLM' | 'DistilBertForMaskedLM';
const ARCHITECTURES: readonly Architecture[] = ['BertForMaskedLM', 'DistilBertForMaskedLM'];

/** The shape of the network, from config.json. */
export interface TransformerConfig {
  architecture: Architecture;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  /** 0 for DistilBERT (no token-type input). */
  typeVocabSize: number;
  eps: number;
}

/** Reads and checks config.json (parsed): a supported architecture with exact GELU. */
export function parseTransformerConfig(config: Record<string, unknown>, file: string): TransformerConfig {
  const declared = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  let architecture = ARCHITECTURES.find((a) => declared.includes(a));
  // Checkpoints saved without `architectures` still name their family.
  if (architecture === undefined && declared.length === 0) {
    architecture = config.model_type === 'bert' ? 'BertForMaskedLM' : config.model_type === 'distilbert' ? 'DistilBertForMaskedLM' : undefined;
  }
  if (architecture === undefined) {
    const what = declared.length > 0 ? `architectures ${declared.join(', ')}` : `model_type ${JSON.stringify(config.model_type)}`;
    throw new SpladexError(
      'E_MODEL',
      `config.json declares ${what}; spladex converts ${ARCHITECTURES.join(' and ')} checkpoints (a SPLADE model needs its masked-LM head); export other models to ONNX with optimum-cli export onnx --task fill-mask`,
      { file },
    );
  }
  const num = (key: string, fallback?: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new SpladexError('E_MODEL', `config.json has no valid ${key} (got ${JSON.stringify(config[key])})`, { file });
    return value;
  };
  const activation = (key: string): void => {
    const act = config[key] ?? 'gelu';
    if (act !== 'gelu') {
      throw new SpladexError('E_MODEL', `config.json sets ${key} to ${JSON.stringify(act)}; the converter implements the exact "gelu" of BERT and DistilBERT only`, { file });
    }
  };
  let c: TransformerConfig;
  if (architecture === 'BertForMaskedLM') {
    activation('hidden_act');
    if (config.position_embedding_type !== undefined && config.position_embedding_type !== 'absolute') {
      throw new SpladexError('E_MODEL', `config.json sets position_embedding_type ${JSON.stringify(config.position_embedding_type)}; only "absolute" is supported`, { file });
    }
    if (config.is_decoder === true) throw new SpladexError('E_MODEL', 'config.json describes a decoder (is_decoder: true); a SPLADE encoder is bidirectional', { file });
    c = {
      architecture,
      vocabSize: num('vocab_size'),
      hidden: num('hidden_size'),
      layers: num('num_hidden_layers'),
      heads: num('num_attention_heads'),
      intermediate: num('intermediate_size'),
      maxPositions: num('max_position_embeddings'),
      typeVocabSize: num('type_vocab_size', 2),
      eps: num('layer_norm_eps', 1e-12),
    };
  } else {
    activation('activation');
    c = {
      architecture,
      vocabSize: num('vocab_size'),
      hidden: num('dim'),
      layers: num('n_layers'),
      heads: num('n_heads'),
      intermediate: num('hidden_dim'),
      maxPositions: num('max_position_embeddings'),
      typeVocabSize: 0,
      eps: 1e-12,
    };
  }
  if (c.hidden % c.heads !== 0) throw new SpladexError('E_MODEL', `config.json: the hidden size ${c.hidden} is not a multiple of the ${c.heads} attention heads`, { file });
  return c;
}

