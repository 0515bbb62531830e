/**
 * Options of CIFF export and import (one table each, src/util/options-table.ts), and the impact
 * quantisation they share: CIFF postings carry integer term frequencies, so a learned weight w is
 * exported as the impact tf = round(w × scale) and imported back as tf / scale. The scale is
 * written into the header's description as `impact-scale=<S>`, which the import reads, so a
 * round trip through CIFF undoes its own quantisation; each weight then moves by at most
 * 0.5 / scale (a weight below that is dropped: its impact is 0).
 */
import { defineOptions, type OptionsTable } from '../util/options-table.js';

/** Pyserini/Anserini's convention for SPLADE impacts: weights × 100, rounded. */
const DEFAULT_IMPACT_SCALE = 100;

export interface CiffExportOptions {
  /** Impacts are round(weight × scale). Default 100 (Anserini's SPLADE impact indexes). */
  scale?: number;
  /** Instead of `scale`: impacts in 1 … 2^bits − 1, scale = (2^bits − 1) / the largest weight (PISA's linear quantisation). 0 = use `scale`. */
  quantizeBits?: number;
  /** Postings sorted in memory at a time before a run goes to disk (about 20 bytes each). Default 1,000,000. */
  runPostings?: number;
}

export const CIFF_EXPORT_OPTIONS: OptionsTable<Required<CiffExportOptions>> = defineOptions<Required<CiffExportOptions>>({
  scale: { type: 'number', min: 0, minOpen: true, max: 1e9, default: DEFAULT_IMPACT_SCALE, placeholder: 's', help: 'impact quantisation: tf = round(weight × s); recorded in the header so import-ciff undoes it' },
  quantizeBits: { type: 'integer', min: 0, max: 31, default: 0, help: 'instead of --scale: tf in 1 … 2^n − 1 with s = (2^n − 1) / the largest weight (0 = use --scale)' },
  runPostings: { type: 'integer', min: 1024, max: 2 ** 28, default: 1_000_000, help: 'postings sorted in memory at a time (about 20 bytes each) before a sorted run goes to a temporary file' },
});

export const CIFF_EXPORT_DEFAULTS: Readonly<Required<CiffExportOptions>> = CIFF_EXPORT_OPTIONS.defaults;

export interface CiffImportOptions {
  /** Weights are tf / scale. Default: the header's `impact-scale=` (a spladex export), else 1 (tf as the weight). */
  scale?: number;
  /** As for export: postings sorted in memory at a time. Default 1,000,000. */
  runPostings?: number;
}

export const CIFF_IMPORT_OPTIONS: OptionsTable<CiffImportOptions> = defineOptions<CiffImportOptions>({
  scale: { type: 'number', min: 0, minOpen: true, max: 1e9, placeholder: 's', defaultText: "the header's impact-scale, else 1", help: 'weights are tf / s (undoes the exporter\'s quantisation)' },
  runPostings: CIFF_EXPORT_OPTIONS.specs.runPostings,
});

const SCALE_TAG = /(?:^|[\s;,(])impact-scale=([0-9][0-9.eE+-]*)/;

/** The header description of a spladex export: human-readable, with the machine-readable scale. */
export function describeExport(source: string, scale: number, how: string): string {
  return `spladex learned sparse index ${source}: tf = round(weight × ${scale}) (${how}); impact-scale=${scale}`;
}

/** The scale a description records (`impact-scale=S`), if any. */
export function scaleFromDescription(description: string): number | undefined {
  const match = SCALE_TAG.exec(description);
  if (match === null) return undefined;
  const scale = Number(match[1]);
  return Number.isFinite(scale) && scale > 0 ? scale : undefined;
}
