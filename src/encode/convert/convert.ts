/**
 * `convertCheckpoint(dir)`: a Hugging Face checkpoint directory (config.json + model.safetensors or
 * a plain-state-dict pytorch_model.bin, tokenizer files) → a model directory the encoder opens
 * (model.onnx + the tokenizer files + `spladex-conversion.json`).
 *
 * The record names the SHA-256 of the checkpoint and of config.json and the converter version: a
 * later call reuses the ONNX file only when all three match, so a changed checkpoint (a new Hub
 * revision, a fine-tuned file copied over the old one) is always converted again, never silently
 * served from the old graph. Every file is written to a temporary name, fsynced and renamed, so an
 * interrupted conversion leaves no model.onnx that looks finished.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpladexError } from '../../errors.js';
import { fsyncPath, pathExists } from '../../util/fs.js';
import { ioFailure } from '../../util/io-failure.js';
import { sha256Bytes, sha256File } from '../checksum.js';
import { parseTransformerConfig, type Architecture } from './config.js';
import { openSafetensors } from './safetensors.js';
import type { TensorSource } from './tensors.js';
import { openTorchBin } from './torch-bin.js';

/** Bumped whenever the graph the converter writes changes, so older conversions are redone. */
const CONVERTER_VERSION = 1;
const RECORD_FILE = 'spladex-conversion.json';
const RECORD_FORMAT = 'spladex-conversion';
/** Files of the checkpoint directory the encoder reads besides the model, copied as they are. */
const COMPANION_FILES = ['config.json', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'idf.json', 'spladex.json'] as const;

export interface ConvertOptions {
  /** Output model directory. Default `<dir>/spladex-onnx`. */
  outDir?: string;
  /** Convert even when the recorded conversion matches. Default false. */
  force?: boolean;
}

export interface ConversionResult {
  /** The model directory to give the encoder (`--model`). */
  dir: string;
  modelFile: string;
  architecture: Architecture;
  /** The checkpoint file converted and its SHA-256. */
  source: string;
  sha256: string;
  /** True when an earlier conversion of the same checkpoint was reused. */
  reused: boolean;
  /** Size of model.onnx. */
  bytes: number;
  /** Companion files copied next to the model (tokenizer, config). */
  files: string[];
  seconds: number;
}

/** What spladex-conversion.json holds. */
interface ConversionRecord {
  format: typeof RECORD_FORMAT;
  converter: number;
  spladexVersion: string;
  architecture: Architecture;
  source: { file: string; sha256: string; bytes: number };
  config: { sha256: string };
  model: { file: 'model.onnx'; bytes: number };
  convertedAt: string;
}

/**
 * Converts the checkpoint in `dir` (or the checkpoint file `dir` names) to ONNX, or reuses the
 * conversion already in the output directory when it was made from the same bytes.
 */
export async function convertCheckpoint(dir: string, options: ConvertOptions = {}): Promise<ConversionResult> {
  const started = performance.now();
  const { root, checkpoint } = await locateCheckpoint(resolve(dir));
  const outDir = resolve(options.outDir ?? join(root, 'spladex-onnx'));
  const configFile = join(root, 'config.json');
  const configBytes = await readFile(configFile).catch((cause: NodeJS.ErrnoException) => {
    throw cause.code === 'ENOENT'
      ? new SpladexError('E_MODEL', `no config.json next to ${basename(checkpoint)}; the converter needs the model's config.json from the same repository`, { file: root })
      : ioFailure(cause, configFile, 'reading config.json', 'nothing was converted');
  });
  const config = parseConfigJson(configBytes, configFile);
  const transformer = parseTransformerConfig(config, configFile);
  const [sha256, bytes] = [await sha256File(checkpoint), (await stat(checkpoint)).size];
  const configSha = sha256Bytes(configBytes);
  const modelFile = join(outDir, 'model.onnx');

  const previous = options.force === true ? null : await readRecord(outDir);
  const reusable =
    previous !== null &&
    previous.converter === CONVERTER_VERSION &&
    previous.source.sha256 === sha256 &&
    previous.config.sha256 === configSha &&
    (await stat(modelFile).then((s) => s.size === previous.model.bytes, () => false));
  await mkdirOut(outDir);
  const files = await copyCompanions(root, outDir);
  if (reusable) {
    return { dir: outDir, modelFile, architecture: previous.architecture, source: checkpoint, sha256, reused: true, bytes: previous.model.bytes, files, seconds: (performance.now() - started) / 1000 };
  }

  // Loaded here, not at import: the graph builder brings onnx-proto, which `spladex/encode` must not load up front.
  const { buildMaskedLmOnnx } = await import('./masked-lm-graph.js');
  const source = await openCheckpoint(checkpoint);
  let onnx: Uint8Array;
  try {
    onnx = await buildMaskedLmOnnx(transformer, source, {
      'spladex.converter': String(CONVERTER_VERSION),
      'spladex.architecture': transformer.architecture,
      'spladex.source': basename(checkpoint),
      'spladex.source.sha256': sha256,
    });
  } finally {
    await source.close();
  }
  await writeAtomically(modelFile, onnx);
  const record: ConversionRecord = {
    format: RECORD_FORMAT,
    converter: CONVERTER_VERSION,
    spladexVersion: spladexVersion(),
    architecture: transformer.architecture,
    source: { file: basename(checkpoint), sha256, bytes },
    config: { sha256: configSha },
    model: { file: 'model.onnx', bytes: onnx.byteLength },
    convertedAt: new Date().toISOString(),
  };
  await writeAtomically(join(outDir, RECORD_FILE), JSON.stringify(record, null, 2) + '\n');
  return { dir: outDir, modelFile, architecture: transformer.architecture, source: checkpoint, sha256, reused: false, bytes: onnx.byteLength, files, seconds: (performance.now() - started) / 1000 };
}

/** The checkpoint file of a directory: model.safetensors first, else pytorch_model.bin. */
async function locateCheckpoint(path: string): Promise<{ root: string; checkpoint: string }> {
  const info = await stat(path).catch((cause: unknown) => {
    throw new SpladexError('E_MODEL', 'the checkpoint path does not exist; give a directory with config.json and model.safetensors (or pytorch_model.bin)', { file: path, cause });
  });
  if (!info.isDirectory()) return { root: dirname(path), checkpoint: path };
  for (const name of ['model.safetensors', 'pytorch_model.bin']) {
    if (await pathExists(join(path, name))) return { root: path, checkpoint: join(path, name) };
  }
  for (const index of ['model.safetensors.index.json', 'pytorch_model.bin.index.json']) {
    if (await pathExists(join(path, index))) {
      throw new SpladexError('E_MODEL', `${index}: sharded checkpoints are not supported (BERT-sized SPLADE models fit one file); merge the shards into one model.safetensors`, { file: path });
    }
  }
  throw new SpladexError('E_MODEL', `no model.safetensors or pytorch_model.bin in ${path}; download the checkpoint files of the model repository there`, { file: path });
}

function openCheckpoint(file: string): Promise<TensorSource> {
  if (file.endsWith('.safetensors')) return openSafetensors(file);
  if (file.endsWith('.bin') || file.endsWith('.pt') || file.endsWith('.pth')) return openTorchBin(file);
  throw new SpladexError('E_MODEL', "the file is neither a .safetensors nor a PyTorch .bin checkpoint", { file });
}

function parseConfigJson(bytes: Buffer, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new SpladexError('E_MODEL', `config.json is not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SpladexError('E_MODEL', 'config.json must hold a JSON object', { file });
  return value as Record<string, unknown>;
}

async function readRecord(outDir: string): Promise<ConversionRecord | null> {
  try {
    const record = JSON.parse(await readFile(join(outDir, RECORD_FILE), 'utf8')) as ConversionRecord;
    // Anything unreadable or of another shape means "not converted here": convert again.
    return record.format === RECORD_FORMAT && typeof record.source?.sha256 === 'string' && typeof record.model?.bytes === 'number' ? record : null;
  } catch {
    return null;
  }
}

async function mkdirOut(outDir: string): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw ioFailure(cause, outDir, 'creating the output directory', 'nothing was converted');
  }
}

/** Copies the tokenizer and config files present in `root`, skipping those already identical. */
async function copyCompanions(root: string, outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of COMPANION_FILES) {
    const from = join(root, name);
    if (!(await pathExists(from))) continue;
    const to = join(outDir, name);
    copied.push(name);
    if (resolve(from) === resolve(to)) continue;
    const same = await Promise.all([readFile(from), readFile(to).catch(() => null)]).then(([a, b]) => b !== null && a.equals(b));
    if (same) continue;
    const temp = tempName(to);
    try {
      await copyFile(from, temp);
      fsyncPath(temp);
      await rename(temp, to);
    } catch (cause) {
      await unlink(temp).catch(() => undefined);
      throw ioFailure(cause, to, `copying ${name}`, 'the previous files are unchanged');
    }
  }
  return copied;
}

function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

/** temp + fsync + rename + directory fsync: the file is either the old one or complete. */
async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temp = tempName(path);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    fsyncPath(dirname(path));
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw ioFailure(cause, path, `writing ${basename(path)}`, 'the previous conversion, if any, is unchanged');
  }
}

/** The version in spladex's package.json (src/ under tests, dist/src/ when built). */
function spladexVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'spladex' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here: look one level up.
    }
  }
  return 'unknown';
}
