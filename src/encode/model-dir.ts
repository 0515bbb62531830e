/**
 * Reads a model directory laid out like a Hugging Face export:
 *
 *   model.onnx (or onnx/model.onnx, as in Optimum-exported Hub repos)
 *   tokenizer.json and/or vocab.txt
 *   idf.json                 optional, token → IDF (inference-free models)
 *   config.json              optional, HF model config (max_position_embeddings)
 *   tokenizer_config.json    optional (model_max_length, do_lower_case)
 *   spladex.json             optional, spladex settings that override the defaults (see SpladexModelSettings)
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SpladexError } from '../errors.js';
import { POOLING_ACTIVATIONS, type PoolingActivation } from './pooling.js';
import { pathExists } from '../util/fs.js';

/** Settings a model author can ship in `spladex.json` next to model.onnx. */
export interface SpladexModelSettings {
  /** Pooling activation the model was trained with. */
  activation?: PoolingActivation;
  /** Whether [CLS]/[SEP] positions take part in max pooling. */
  specialTokenPositions?: 'exclude' | 'include';
  /** Graph output to read. */
  outputName?: string;
  /** Max sequence length (tokens, including special tokens). */
  maxLength?: number;
}

export interface ModelDirectory {
  /** Absolute directory path. */
  dir: string;
  /** Absolute path of the ONNX file, or null when the directory has none. */
  modelFile: string | null;
  tokenizerFile: string | null;
  vocabFile: string | null;
  idfFile: string | null;
  /** Parsed tokenizer_config.json ({} when absent). */
  tokenizerConfig: Record<string, unknown>;
  /** `max_position_embeddings` from config.json: sequences may not be longer. */
  maxPositions: number | null;
  /** The model's own length limit: min(tokenizer_config model_max_length, max_position_embeddings), null when unknown. */
  modelMaxLength: number | null;
  settings: SpladexModelSettings;
}

/**
 * Inspects `path`, a model directory or an `.onnx` file inside one. Missing optional files are
 * reported as null; a missing directory or unreadable/invalid JSON is an E_MODEL error.
 */
export async function readModelDirectory(path: string): Promise<ModelDirectory> {
  const absolute = resolve(path);
  let info;
  try {
    info = await stat(absolute);
  } catch (cause) {
    throw new SpladexError('E_MODEL', 'the model path does not exist; give a directory with model.onnx and tokenizer.json or vocab.txt', { file: absolute, cause });
  }
  // An .onnx file path: its directory, or the export root for the Hub layout <root>/onnx/model.onnx.
  let dir = info.isDirectory() ? absolute : dirname(absolute);
  if (!info.isDirectory() && basename(dir) === 'onnx' && (await pathExists(join(dirname(dir), 'config.json')))) dir = dirname(dir);
  const entries = new Set(await readdir(dir));
  const file = (name: string): string | null => (entries.has(name) ? join(dir, name) : null);

  let modelFile: string | null = null;
  if (!info.isDirectory()) modelFile = absolute;
  else if (entries.has('model.onnx')) modelFile = join(dir, 'model.onnx');
  else if (entries.has('onnx') && (await pathExists(join(dir, 'onnx', 'model.onnx')))) modelFile = join(dir, 'onnx', 'model.onnx');
  else {
    const onnxFiles = [...entries].filter((e) => e.endsWith('.onnx'));
    if (onnxFiles.length === 1) modelFile = join(dir, onnxFiles[0]);
  }

  const config = await readJsonObject(file('config.json'));
  const tokenizerConfig = await readJsonObject(file('tokenizer_config.json'));
  const settings = parseSettings(await readJsonObject(file('spladex.json')), join(dir, 'spladex.json'));

  const maxPositions = positiveInt(config.max_position_embeddings);
  // tokenizer_config uses a huge sentinel (1e30) for "no limit".
  const tokenizerMax = positiveInt(tokenizerConfig.model_max_length);
  const limits = [tokenizerMax !== null && tokenizerMax < 1e6 ? tokenizerMax : null, maxPositions].filter((v): v is number => v !== null);
  const modelMaxLength = limits.length > 0 ? Math.min(...limits) : null;

  return {
    dir,
    modelFile,
    tokenizerFile: file('tokenizer.json'),
    vocabFile: file('vocab.txt'),
    idfFile: file('idf.json'),
    tokenizerConfig,
    maxPositions,
    modelMaxLength,
    settings,
  };
}

/** The E_MODEL error for a directory without an ONNX file, with the command that makes one. */
export function missingModelError(dir: string): SpladexError {
  return new SpladexError(
    'E_MODEL',
    `no model.onnx in ${dir}; a BERT or DistilBERT checkpoint (model.safetensors or pytorch_model.bin with config.json) converts with "spladex model convert ${basename(dir)}", ` +
      `a Hub model converts on first use of --model org/name, and other architectures export with "optimum-cli export onnx --model <repo> --task fill-mask <dir>"`,
    { file: dir },
  );
}

function parseSettings(raw: Record<string, unknown>, file: string): SpladexModelSettings {
  const settings: SpladexModelSettings = {};
  if (raw.activation !== undefined) {
    if (!POOLING_ACTIVATIONS.includes(raw.activation as PoolingActivation)) {
      throw new SpladexError('E_MODEL', `spladex.json activation must be one of ${POOLING_ACTIVATIONS.join(', ')}`, { file });
    }
    settings.activation = raw.activation as PoolingActivation;
  }
  if (raw.specialTokenPositions !== undefined) {
    if (raw.specialTokenPositions !== 'exclude' && raw.specialTokenPositions !== 'include') {
      throw new SpladexError('E_MODEL', 'spladex.json specialTokenPositions must be "exclude" or "include"', { file });
    }
    settings.specialTokenPositions = raw.specialTokenPositions;
  }
  if (raw.outputName !== undefined) {
    if (typeof raw.outputName !== 'string') throw new SpladexError('E_MODEL', 'spladex.json outputName must be a string', { file });
    settings.outputName = raw.outputName;
  }
  if (raw.maxLength !== undefined) {
    const maxLength = positiveInt(raw.maxLength);
    if (maxLength === null) throw new SpladexError('E_MODEL', 'spladex.json maxLength must be a positive integer', { file });
    settings.maxLength = maxLength;
  }
  return settings;
}

async function readJsonObject(path: string | null): Promise<Record<string, unknown>> {
  if (path === null) return {};
  let body: string;
  try {
    body = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SpladexError('E_IO', `cannot read ${basename(path)}: ${(cause as Error).message}`, { file: path, cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (cause) {
    throw new SpladexError('E_MODEL', `${basename(path)} is not valid JSON: ${(cause as Error).message}`, { file: path, cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SpladexError('E_MODEL', `${basename(path)} must hold a JSON object`, { file: path });
  }
  return value as Record<string, unknown>;
}

function positiveInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

