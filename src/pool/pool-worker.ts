/**
 * A search thread of the pool (pool.ts). It holds no file, no SQLite connection and no external
 * ids: each segment is a view of the shared memory the main thread read the file into, with this
 * thread's own searchers (visited bitset, heap) and its own scratch slot in the kernel memory.
 * It runs one search at a time, exactly as the synchronous reader does (the same fan-out over the
 * same bytes with the same plan, setting and prepared query), and answers document keys and scores.
 *
 * It never returns to its event loop: it takes requests from its channel (channel.ts), blocks in
 * `Atomics.wait` when there are none, reads the rare messages with `receiveMessageOnPort`, and
 * posts one number when it answered.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { searchPreparedInto, type SearchableSegment, type SegmentPlan } from '../query/fan-out.js';
import { MaxScoreSearcher } from '../query/maxscore.js';
import type { ResolvedSearchOptions } from '../query/options.js';
import { SegmentSearcher } from '../query/segment-searcher.js';
import { attachSharedSegment } from '../query/wasm-kernel.js';
import { viewSegment } from '../segment/segment.js';
import { TopK } from '../util/topk.js';
import { ANSWER_SIGNAL, Status, WorkerChannel, type IncomingRequest } from './channel.js';
import { decodeQueries, type TokenTable } from './query-codec.js';
import { errorMessage, isCancelled, sharedListsFor, type Control, type FromWorker, type SegmentDescriptor, type ToWorker, type WorkerInput } from './protocol.js';

const { slot, cancelled, channel: buffers } = workerData as WorkerInput;
const port = parentPort!;
const channel = new WorkerChannel(buffers);
const signal = (): void => port.postMessage(ANSWER_SIGNAL satisfies FromWorker);

/** A segment with this thread's searchers, and its shared token table. */
interface ThreadSegment extends SearchableSegment {
  tokens: TokenTable;
}

/** Segments by key; kept while a live state names them. */
const segments = new Map<number, ThreadSegment>();
/** Live states: their segments in order, or why they could not be viewed (answered to each search on them). */
const states = new Map<number, ThreadSegment[] | { failed: unknown }>();
const settingsById = new Map<number, ResolvedSearchOptions>();
const plansById = new Map<number, { state: number; plans: SegmentPlan[] }>();
/** Messages read from the port, not applied yet (each waits for the requests written before it). */
const pending: Control[] = [];

function segmentOf({ key, path, bytes, tokens }: SegmentDescriptor): ThreadSegment {
  let loaded = segments.get(key);
  if (loaded === undefined) {
    const segment = viewSegment(attachSharedSegment(bytes, slot), path);
    loaded = { segment, searcher: new SegmentSearcher(segment), tokens };
    segments.set(key, loaded);
  }
  return loaded;
}

function dropUnused(): void {
  const used = new Set<SearchableSegment>();
  for (const list of states.values()) if (Array.isArray(list)) for (const s of list) used.add(s);
  for (const [key, s] of segments) if (!used.has(s)) segments.delete(key);
}

function apply(message: ToWorker): void {
  switch (message.type) {
    case 'state':
      try {
        states.set(message.state, message.segments.map(segmentOf));
      } catch (failed) {
        states.set(message.state, { failed });
      }
      break;
    case 'drop':
      states.delete(message.state);
      for (const [id, entry] of plansById) if (entry.state === message.state) plansById.delete(id);
      dropUnused();
      break;
    case 'settings':
      settingsById.set(message.id, message.settings);
      break;
    case 'plans':
      plansById.set(message.id, { state: message.state, plans: message.plans });
      break;
    case 'forget':
      if (message.settings !== undefined) settingsById.delete(message.settings);
      if (message.plans !== undefined) plansById.delete(message.plans);
      break;
    case 'maxscore': {
      const loaded = segments.get(message.segment);
      const { lists } = message;
      if (loaded !== undefined && loaded.maxScore === undefined) loaded.maxScore = new MaxScoreSearcher(loaded.segment, {}, () => sharedListsFor(lists, loaded.segment, slot));
      break;
    }
    case 'slot':
      channel.replaceSlot(message.index, message.buffer);
      break;
  }
}

/** Applies the messages meant to take effect before the next request. */
function applyPending(): void {
  if (channel.hasMessages()) for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) pending.push(m.message as Control);
  let applied = 0;
  while (applied < pending.length && pending[applied].after <= channel.answered) apply(pending[applied++].message);
  if (applied > 0) pending.splice(0, applied);
}

/** Heaps by k, reused across requests. */
const heaps = new Map<number, TopK>();

function search(request: IncomingRequest): void {
  const list = states.get(request.state);
  if (list === undefined) throw new Error(`search pool worker: unknown state ${request.state}`);
  if (!Array.isArray(list)) throw list.failed;
  const settings = settingsById.get(request.settings);
  const planned = plansById.get(request.plans);
  if (settings === undefined || planned === undefined) throw new Error(`search pool worker: unknown settings ${request.settings} or plans ${request.plans}`);
  let heap = heaps.get(settings.k);
  if (heap === undefined) {
    if (heaps.size >= 8) heaps.clear();
    heaps.set(settings.k, (heap = new TopK(settings.k)));
  }
  const queries = decodeQueries(request.slot, request.at, request.count, list.map((s, i) => (planned.plans[i].skip ? undefined : s.tokens)));
  for (const prepared of queries) {
    searchPreparedInto(list, planned.plans, prepared, settings, heap);
    channel.writeResult(heap);
  }
}

port.postMessage({ type: 'ready' } satisfies FromWorker);
for (;;) {
  applyPending();
  if (!channel.waitForWork()) continue;
  const request = channel.request();
  if (isCancelled(cancelled, request.id)) {
    // Its caller was answered already (timeout, abort): nothing to compute.
    channel.finish(Status.Skipped, signal);
    continue;
  }
  try {
    search(request);
    channel.finish(Status.Answered, signal);
  } catch (error) {
    channel.finish(Status.Failed, signal, errorMessage(error));
  }
}
