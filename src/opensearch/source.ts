/**
 * An index's live documents in export order — segments in manifest order, local ids ascending,
 * deleted documents skipped — each with its full stored vector (the forward index, streamed from
 * the segment file, not the pruned lists), its text and its metadata. The ordinal of a document in
 * this order is what an export checkpoints, so one committed state always yields the same order;
 * the state is identified by its generation and manifest CRC, and a resumed export refuses another.
 */
import { resolve } from 'node:path';
import { DocumentStore, type StoredDocument } from '../store/store.js';
import type { Manifest } from '../store/manifest.js';
import { closeCommitted, openCommittedSegments, StringCursor, valueDecoder, type CommittedSegment } from '../reader/segment-stream.js';

/** One live document as exported. */
export interface ExportDocument extends StoredDocument {
  /** Position among the live documents, 0-based. */
  ordinal: number;
  tokens: string[];
  weights: number[];
}


/** The committed state's live documents, read once in order. */
export class LiveDocuments {
  private constructor(
    readonly dir: string,
    private readonly store: DocumentStore,
    private readonly segments: CommittedSegment[],
    /** Identifies the committed state: `<generation>:<manifest CRC>`. */
    readonly source: string,
    readonly live: number,
    readonly manifest: Manifest,
  ) {}

  static open(dir: string): LiveDocuments {
    dir = resolve(dir);
    const { store, manifest, manifestCrc, segments } = openCommittedSegments(dir);
    const live = segments.reduce((sum, s) => sum + s.nDocs - s.deleted.size, 0);
    return new LiveDocuments(dir, store, segments, `${manifest.generation}:${manifestCrc}`, live, manifest);
  }

  /** Stored metadata of every live document, in order (the mapping's type inference reads it). */
  *metadata(): Generator<Record<string, unknown> | undefined> {
    for (const s of this.segments) {
      for (const row of this.store.segmentRows(s.entry.number)) {
        if (s.deleted.has(row.local)) continue;
        yield this.store.decodeRow(row).metadata;
      }
    }
  }

  /** Live documents from ordinal `from` on (the ones before are read and skipped: their order must be checked anyway). */
  *documents(from = 0): Generator<ExportDocument> {
    let ordinal = 0;
    for (const s of this.segments) {
      const decode = valueDecoder(s.file, s.valueType);
      const offsets = s.file.cursor('fwd.offsets');
      const terms = s.file.cursor('fwd.terms');
      const values = s.file.cursor('fwd.values');
      const ids = new StringCursor(s.file, 'ids');
      const rows = this.store.segmentRows(s.entry.number);
      try {
        let start = offsets.next();
        for (let d = 0; d < s.nDocs; d++) {
          const end = offsets.next();
          const id = ids.next();
          const live = !s.deleted.has(d);
          const wanted = live && ordinal >= from;
          const tokens: string[] = [];
          const weights: number[] = [];
          for (let j = start; j < end; j++) {
            const term = terms.next();
            const raw = values.next();
            if (!wanted) continue;
            tokens.push(s.vocabulary[term]);
            weights.push(decode === undefined ? raw : decode[raw]);
          }
          start = end;
          const row = rows.next();
          if (row.done === true || row.value.local !== d || row.value.id !== id) throw this.store.corrupt(`the stored row of document ${JSON.stringify(id)} is missing or does not match segment ${s.entry.number}`);
          if (!live) continue;
          if (wanted) yield { ...this.store.decodeRow(row.value), ordinal, tokens, weights };
          ordinal++;
        }
      } finally {
        // An unfinished SQLite iterator keeps the connection busy (and unclosable).
        rows.return(undefined);
      }
      offsets.finish();
      terms.finish();
      values.finish();
      ids.finish();
    }
  }

  close(): void {
    closeCommitted(this.store, this.segments);
  }
}
