/**
 * Rank fusion: one ranked list out of several (e.g. BM25 and SPLADE hits for the same query).
 *
 * - `rrf`, reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): a document scores
 *   Σ_i w_i / (rrfK + rank_i), rank_i its 1-based rank in list i. It reads ranks only, so lists
 *   whose scores live on unrelated scales (BM25 ≈ 10–40, SPLADE dot products ≈ 10–100) fuse
 *   without calibration. rrfK = 60 as in the paper and in Anserini/Pyserini's fusion.
 * - `linear`: Σ_i w_i · norm_i(score), where norm_i is the min–max normalisation of list i over the
 *   hits it returned, (s − min) / (max − min), so each list's best hit is 1 and its last 0 (all 1
 *   when every hit of a list has the same score). Min–max is the common choice (OpenSearch's
 *   hybrid query, Pyserini's `--method normalize`); z-scores need a distribution a top list of a
 *   few hundred hits does not estimate well.
 *
 * Either way a document absent from a list gets 0 from that list (its rank is beyond the depth
 * retrieved, so its contribution is unknown and small). Ties of the fused score are broken by
 * document id (ascending, UTF-16 code units), so the output is a function of the input alone.
 * A document listed twice in one list counts once, at its first (best) rank.
 */
import { SpladexError, checkRange } from '../errors.js';
import type { SearchHit } from '../types.js';
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export type FusionMethod = 'rrf' | 'linear';

export interface FusionOptions {
  /** `rrf` (reciprocal rank fusion, default) or `linear` (weighted sum of min–max-normalised scores). */
  method?: FusionMethod;
  /** One weight per fused list (per index), in order; each ≥ 0, at least one > 0. Default: 1 for every list. */
  weights?: readonly number[];
  /** RRF's constant k: a document at rank r of a list gets w / (rrfK + r). Default 60; range [0, 1e6]. */
  rrfK?: number;
  /**
   * Hybrid search: hits each index retrieves before fusion (its own top-`depth`). Default
   * max(k, 100): a hit below rank 100 adds less than 1/160 of a weight under RRF, and with k
   * documents kept a shallower list could not fill them. Range 1 – 100,000.
   */
  depth?: number;
}

type FusionTable = { method: FusionMethod; weights: number[]; rrfK: number; depth: number };

/** The fusion options: default, range, flag and help of each (see src/util/options-table.ts). */
export const FUSION_OPTIONS: OptionsTable<FusionTable> = defineOptions<FusionTable>({
  method: { type: 'enum', values: ['rrf', 'linear'], default: 'rrf', flag: 'fusion', placeholder: 'method', help: 'how the hit lists of the indexes are fused (with --fuse): reciprocal rank fusion, or a weighted sum of min–max-normalised scores' },
  weights: {
    type: 'number',
    list: true,
    min: 0,
    defaultText: '1 for every index',
    check: (weights) => (weights.some((w) => w > 0) ? undefined : 'must have at least one weight above 0'),
    help: 'weight of each fused index, comma-separated, in the order <dir>, then each --fuse',
  },
  rrfK: { type: 'number', min: 0, max: 1e6, default: 60, help: 'rrf: a hit at rank r adds weight / (k + r)' },
  depth: { type: 'integer', min: 1, max: 100_000, flag: 'fusion-depth', defaultText: 'max(--k, 100)', help: 'hits each fused index retrieves before fusion' },
});

export const FUSION_DEFAULTS: Readonly<Pick<FusionTable, 'method' | 'rrfK'>> = FUSION_OPTIONS.defaults;

/** Where a fused hit came from in one list. */
export interface HitSource {
  /** 1-based rank in that list. */
  rank: number;
  /** Its score there. */
  score: number;
}

export interface FusedHit extends SearchHit {
  /** The fused score. */
  score: number;
  /** Per list, in list order: the hit's rank and score there, or null when that list did not return it. */
  sources: Array<HitSource | null>;
}

/** The weights of `lists` lists, checked: `E_OPTION` unless one per list. */
export function fusionWeights(lists: number, weights: readonly number[] | undefined): readonly number[] {
  if (weights === undefined) return new Array<number>(lists).fill(1);
  if (weights.length !== lists) throw new SpladexError('E_OPTION', `weights must have one value per fused index (${lists}), got ${weights.length}: ${weights.join(',')}`);
  return weights;
}

/**
 * Fuses ranked hit lists (each best first, as search returns them) into one, best first; `k`
 * keeps the first k (default: every document of any list).
 */
export function fuseHits(lists: readonly (readonly SearchHit[])[], options: FusionOptions & { k?: number } = {}): FusedHit[] {
  const { method, rrfK, weights: given } = FUSION_OPTIONS.resolve({ method: options.method, rrfK: options.rrfK, weights: options.weights as number[] | undefined });
  const weights = fusionWeights(lists.length, given);
  if (options.k !== undefined) checkRange('k', options.k, 1, Number.MAX_SAFE_INTEGER, true);
  const n = lists.length;
  let total = 0;
  for (const list of lists) total += list.length;
  const slotOf = new Map<string, number>();
  const ids: string[] = [];
  const fused = new Float64Array(total);
  // ranks[slot * n + i]: 1-based rank of the slot's document in list i, 0 when absent.
  const ranks = new Int32Array(total * n);
  for (let i = 0; i < n; i++) {
    const list = lists[i];
    const weight = weights[i];
    let min = Infinity;
    let max = -Infinity;
    if (method === 'linear') {
      for (let j = 0; j < list.length; j++) {
        const s = list[j].score;
        if (s < min) min = s;
        if (s > max) max = s;
      }
    }
    const span = max - min;
    for (let j = 0; j < list.length; j++) {
      const id = list[j].id;
      let slot = slotOf.get(id);
      if (slot === undefined) {
        slot = ids.length;
        slotOf.set(id, slot);
        ids.push(id);
      }
      if (ranks[slot * n + i] !== 0) continue;
      ranks[slot * n + i] = j + 1;
      fused[slot] += method === 'rrf' ? weight / (rrfK + j + 1) : weight * (span > 0 ? (list[j].score - min) / span : 1);
    }
  }
  const order = Array.from({ length: ids.length }, (_, s) => s);
  order.sort((a, b) => fused[b] - fused[a] || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
  const keep = options.k === undefined ? order.length : Math.min(order.length, options.k);
  const out: FusedHit[] = new Array(keep);
  for (let r = 0; r < keep; r++) {
    const slot = order[r];
    const sources: Array<HitSource | null> = new Array(n);
    for (let i = 0; i < n; i++) {
      const rank = ranks[slot * n + i];
      sources[i] = rank === 0 ? null : { rank, score: lists[i][rank - 1].score };
    }
    out[r] = { id: ids[slot], score: fused[slot], sources };
  }
  return out;
}

/** True when at least two lists returned hits and no document is in more than one of them (the indexes may not share ids). */
export function listsAreDisjoint(lists: readonly (readonly SearchHit[])[]): boolean {
  if (lists.filter((l) => l.length > 0).length < 2) return false;
  const seen = new Set<string>();
  for (const list of lists) {
    const own = new Set<string>();
    for (const hit of list) {
      if (seen.has(hit.id)) return false;
      own.add(hit.id);
    }
    for (const id of own) seen.add(id);
  }
  return true;
}
