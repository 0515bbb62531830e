/**
 * The request channel of the search pool, both ends on one thread: a request written by the main
 * side is read by the thread side as written, answers and errors come back through the slot, a
 * message posted before a request is seen before it, and a request larger than a slot gets a
 * larger one, given back by the next small request.
 */
import { describe, expect, it } from 'vitest';
import { TopK } from '../util/topk.js';
import { MainChannel, requestBytes, SLOT_BYTES, Status, WorkerChannel } from './channel.js';
import { buildTokenTable, decodeQueries, QueryEncoder } from './query-codec.js';

const table = buildTokenTable(['a', 'b', 'c']);

function heapOf(k: number, pairs: Array<[score: number, key: number]>): TopK {
  const heap = new TopK(k);
  for (const [score, key] of pairs) heap.push(score, key);
  return heap;
}

/** Writes `queries` as request `id` (replacing the slot first when the channel asks to). */
function send(main: MainChannel, thread: WorkerChannel, encoder: QueryEncoder, id: number, queries: Array<Record<string, number>>, k: number): number {
  const words = encoder.encode(queries);
  const { index, replacement } = main.slotFor(requestBytes(words, queries.length, k));
  if (replacement !== undefined) {
    thread.replaceSlot(index, replacement); // what the 'slot' message does on the thread
    main.replaceSlot(index, replacement);
  }
  main.write(index, { id, state: 7, settings: 3, plans: 4, k }, queries.length, encoder.words, words);
  return index;
}

describe('pool request channel', () => {
  it('carries requests, answers and errors through its slots, in order', () => {
    const main = new MainChannel();
    const thread = new WorkerChannel(main.buffers());
    const encoder = new QueryEncoder();
    send(main, thread, encoder, 11, [{ a: 1, c: 2 }, { b: 0.5, zz: 3 }], 10);
    main.posted();
    send(main, thread, encoder, 12, [{ c: 1 }], 10);
    expect(main.hasAnswer()).toBe(false);
    let signals = 0;
    const signal = (): void => void signals++;

    // A message was posted: the thread reads its port first, then finds the request.
    expect(thread.waitForWork()).toBe(false);
    expect(thread.hasMessages()).toBe(true);
    expect(thread.hasMessages()).toBe(false);
    expect(thread.waitForWork()).toBe(true);
    const first = thread.request();
    expect(first).toMatchObject({ id: 11, state: 7, settings: 3, plans: 4, count: 2 });
    const prepared = decodeQueries(first.slot, first.at, first.count, [table]);
    expect(prepared.map(([q]) => Array.from(q.terms))).toEqual([[0, 2], [1]]);
    thread.writeResult(heapOf(10, [[1.5, 4], [2.5, 2 ** 32 + 9]]));
    thread.writeResult(heapOf(10, []));
    thread.finish(Status.Answered, signal);

    expect(signals).toBe(1);
    main.takeSignal();
    expect(main.hasAnswer()).toBe(true);
    expect(main.answer()).toEqual({ id: 11, status: Status.Answered });
    expect(main.answerRanked().map(({ keys, scores }) => [Array.from(keys), Array.from(scores)])).toEqual([
      [
        [2 ** 32 + 9, 4],
        [2.5, 1.5],
      ],
      [[], []],
    ]);
    main.read++;

    expect(thread.waitForWork()).toBe(true);
    expect(thread.request().id).toBe(12);
    const stack = 'x'.repeat(3 * SLOT_BYTES);
    thread.finish(Status.Failed, signal, { name: 'Error', message: 'it broke', code: 'E_IO', stack });
    expect(signals).toBe(2);
    expect(main.answer()).toEqual({ id: 12, status: Status.Failed });
    // Too long for the slot with its stack: the stack is dropped, the rest arrives.
    expect(main.answerError()).toEqual({ name: 'Error', message: 'it broke', code: 'E_IO' });
    main.read++;

    // Another answer before the main thread took the last signal: no second message, the first covers it.
    send(main, thread, encoder, 13, [{ b: 1 }], 10);
    expect(thread.waitForWork()).toBe(true);
    expect(thread.request().id).toBe(13);
    thread.writeResult(heapOf(10, [[1, 1]]));
    thread.finish(Status.Answered, signal);
    expect(signals).toBe(2);
    main.takeSignal();
    expect(main.hasAnswer()).toBe(true);
    expect(main.answer()).toEqual({ id: 13, status: Status.Answered });
  });

  it('gives a large request a larger slot, and the next small request the standard size again', () => {
    const main = new MainChannel();
    const thread = new WorkerChannel(main.buffers());
    const encoder = new QueryEncoder();
    const queries = Array.from({ length: 40 }, (_, i) => ({ a: i + 1, b: 1 }));
    const k = 1000;
    expect(requestBytes(encoder.encode(queries), queries.length, k)).toBeGreaterThan(SLOT_BYTES);
    const index = send(main, thread, encoder, 1, queries, k);
    expect(main.slots[index].buffer.byteLength).toBeGreaterThan(SLOT_BYTES);
    expect(thread.waitForWork()).toBe(true);
    const request = thread.request();
    const full = heapOf(k, Array.from({ length: k }, (_, i) => [i, i]));
    for (let q = 0; q < request.count; q++) thread.writeResult(full);
    thread.finish(Status.Answered, () => undefined);
    const ranked = main.answerRanked();
    expect(ranked).toHaveLength(40);
    expect(ranked[39].keys[0]).toBe(k - 1);
    expect(ranked[39].scores[k - 1]).toBe(0);
    main.read++;

    // The other slot, then this one again: both back at the standard size.
    send(main, thread, encoder, 2, [{ a: 1 }], 10);
    send(main, thread, encoder, 3, [{ a: 1 }], 10);
    expect(main.slots.map((s) => s.buffer.byteLength)).toEqual([SLOT_BYTES, SLOT_BYTES]);
  });
});
