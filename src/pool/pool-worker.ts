/**
 * A search thread of the pool (pool.ts). It holds no file, no SQLite connection and no external
 * ids: each segment is a view of the shared memory the main thread read the file into, with this
 * thread's own searchers (visited bitset, heap) and its own scratch slot in the kernel memory.
 * It runs one search at a time, exactly as the synchronous reader does (the same fan-out over the
 * same bytes with the same plan and setting), and answers document keys and scores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { searchSegmentKeys, type SearchableSegment, type SegmentPlan } from '../query/fan-out.js';
import { MaxScoreSearcher } from '../query/maxscore.js';
import { SegmentSearcher } from '../query/segment-searcher.js';
import { attachSharedSegment } from '../query/wasm-kernel.js';
import { viewSegment } from '../segment/segment.js';
import { errorMessage, isCancelled, packRanked, sharedListsFor, type FromWorker, type SegmentDescriptor, type ToWorker, type WorkerInput } from './protocol.js';

const { slot, cancelled } = workerData as WorkerInput;
const port = parentPort!;
const send = (message: FromWorker): void => port.postMessage(message);

/** Segments by key, each with this thread's searchers; kept while a live state names them. */
const segments = new Map<number, SearchableSegment>();
/** Live states: their segments in order, or why they could not be viewed (answered to each search on them). */
const states = new Map<number, SearchableSegment[] | { failed: unknown }>();

function segmentOf({ key, path, bytes }: SegmentDescriptor): SearchableSegment {
  let loaded = segments.get(key);
  if (loaded === undefined) {
    const segment = viewSegment(attachSharedSegment(bytes, slot), path);
    loaded = { segment, searcher: new SegmentSearcher(segment) };
    segments.set(key, loaded);
  }
  return loaded;
}

function dropUnused(): void {
  const used = new Set<SearchableSegment>();
  for (const list of states.values()) if (Array.isArray(list)) for (const s of list) used.add(s);
  for (const [key, s] of segments) if (!used.has(s)) segments.delete(key);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'state') {
    try {
      states.set(message.state, message.segments.map(segmentOf));
    } catch (failed) {
      states.set(message.state, { failed });
    }
  } else if (message.type === 'drop') {
    states.delete(message.state);
    dropUnused();
  } else if (isCancelled(cancelled, message.id)) {
    // Its caller was answered already (timeout, abort): nothing to compute.
    send({ type: 'error', id: message.id, error: { name: 'Cancelled', message: 'cancelled before it ran' } });
  } else {
    try {
      const list = states.get(message.state);
      if (list === undefined) throw new Error(`search pool worker: unknown state ${message.state}`);
      if (!Array.isArray(list)) throw list.failed;
      message.maxScore?.forEach((shared, ordinal) => {
        const loaded = list[ordinal];
        if (shared !== undefined && loaded.maxScore === undefined) loaded.maxScore = new MaxScoreSearcher(loaded.segment, {}, () => sharedListsFor(shared, loaded.segment, slot));
      });
      const plans: SegmentPlan[] = message.plans;
      send({ type: 'result', id: message.id, ranked: packRanked(searchSegmentKeys(list, plans, message.queries, message.settings)) });
    } catch (error) {
      send({ type: 'error', id: message.id, error: errorMessage(error) });
    }
  }
});

send({ type: 'ready' });
