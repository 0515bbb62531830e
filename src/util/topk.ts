/**
 * Bounded min-heap of the best k (score, document key) pairs, on two flat arrays.
 *
 * Order is total and deterministic: a higher score wins; equal scores go to the lower document
 * key (segment ordinal × 2^32 + local id, i.e. insertion order). The root is the current k-th
 * best, which the pruned search compares block bounds against.
 */
export class TopK {
  readonly scores: Float64Array;
  readonly keys: Float64Array;
  size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.keys = new Float64Array(k);
  }

  reset(): void {
    this.size = 0;
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** The k-th best score so far, or -Infinity while fewer than k results are held. */
  threshold(): number {
    return this.size === this.k ? this.scores[0] : -Infinity;
  }

  push(score: number, key: number): void {
    const scores = this.scores;
    const keys = this.keys;
    if (this.size < this.k) {
      // Sift up from the new leaf.
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const ps = scores[parent];
        if (ps < score || (ps === score && keys[parent] > key)) break;
        scores[i] = ps;
        keys[i] = keys[parent];
        i = parent;
      }
      scores[i] = score;
      keys[i] = key;
      return;
    }
    const rootScore = scores[0];
    if (score < rootScore || (score === rootScore && key > keys[0])) return;
    // Replace the root and sift down: the "worse" child (lower score, or equal and higher key) rises.
    const n = this.size;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      const right = left + 1;
      if (right < n && (scores[right] < scores[left] || (scores[right] === scores[left] && keys[right] > keys[left]))) child = right;
      const cs = scores[child];
      if (cs > score || (cs === score && keys[child] < key)) break;
      scores[i] = cs;
      keys[i] = keys[child];
      i = child;
    }
    scores[i] = score;
    keys[i] = key;
  }

  /** The held pairs, best first. */
  sorted(): Array<{ score: number; key: number }> {
    const out: Array<{ score: number; key: number }> = [];
    for (let i = 0; i < this.size; i++) out.push({ score: this.scores[i], key: this.keys[i] });
    return out.sort((a, b) => b.score - a.score || a.key - b.key);
  }
}

/** Document keys pack (segment ordinal, local id) into one exact float64. */
export const SEGMENT_KEY_STRIDE = 2 ** 32;
