/**
 * The one place where a pulled snapshot becomes a model directory with an ONNX file, so every path
 * that resolves a Hub model — `model pull`, `--model org/name`, reopening an index's encoder — gets
 * the conversion at once. Most SPLADE checkpoints on the Hub ship only safetensors / PyTorch
 * weights: those are converted (src/encode/convert/) into `models--org--name/spladex-onnx/<commit>`,
 * next to the snapshot rather than in it (huggingface_hub owns the snapshots, and a snapshot is
 * shared with Python). The conversion records the checkpoint's SHA-256, so a later call reuses it
 * only for the same bytes.
 */
import { basename, dirname, join } from 'node:path';
import { pathExists } from '../../util/fs.js';
import { convertCheckpoint } from '../convert/convert.js';
import { ONNX_FILES } from './pull.js';

/** Where the ONNX conversion of a snapshot lives: `<repo folder>/spladex-onnx/<commit>`. */
function convertedModelDir(snapshotDir: string): string {
  return join(dirname(dirname(snapshotDir)), 'spladex-onnx', basename(snapshotDir));
}

/** The model directory for a snapshot: the snapshot itself when it has an ONNX file, else its converted checkpoint. */
export async function ensureOnnx(snapshotDir: string): Promise<string> {
  for (const file of ONNX_FILES) if (await pathExists(join(snapshotDir, file))) return snapshotDir;
  const outDir = convertedModelDir(snapshotDir);
  // A conversion of the same checkpoint bytes (its SHA-256 recorded) is reused, not rebuilt.
  return (await convertCheckpoint(snapshotDir, { outDir })).dir;
}
