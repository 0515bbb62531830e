/**
 * External id → local id lookup for one segment, built from the segment's (checksummed) id list.
 *
 * 8 bytes per document (a 32-bit hash and a local id, sorted by hash) instead of a Map of strings
 * (~60 bytes per entry), and independent of SQLite's id index: a damaged database page can make
 * an SQL lookup miss a row silently, this table cannot.
 */

/** FNV-1a over UTF-16 code units. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class IdLookup {
  private constructor(
    private readonly hashes: Uint32Array,
    private readonly locals: Uint32Array,
    private readonly ids: readonly string[],
  ) {}

  static build(ids: readonly string[]): IdLookup {
    const n = ids.length;
    let keys = new Uint32Array(n);
    let locals = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = hashId(ids[i]);
      locals[i] = i;
    }
    // Two 16-bit LSD radix passes: linear time, stable, no comparator calls.
    let outKeys = new Uint32Array(n);
    let outLocals = new Uint32Array(n);
    const counts = new Uint32Array(65537);
    for (const shift of [0, 16]) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[((keys[i] >>> shift) & 0xffff) + 1]++;
      for (let b = 0; b < 65536; b++) counts[b + 1] += counts[b];
      for (let i = 0; i < n; i++) {
        const slot = counts[(keys[i] >>> shift) & 0xffff]++;
        outKeys[slot] = keys[i];
        outLocals[slot] = locals[i];
      }
      [keys, outKeys] = [outKeys, keys];
      [locals, outLocals] = [outLocals, locals];
    }
    return new IdLookup(keys, locals, ids);
  }

  /** Local ids whose external id is `id` (several only if a segment were damaged), ascending. */
  find(id: string): number[] {
    const h = hashId(id);
    const { hashes, locals, ids } = this;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < hashes.length && hashes[i] === h; i++) if (ids[locals[i]] === id) out.push(locals[i]);
    return out;
  }

  get bytes(): number {
    return this.hashes.byteLength + this.locals.byteLength;
  }
}
