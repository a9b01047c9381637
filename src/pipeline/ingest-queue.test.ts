// The live pipeline's queue on a real DuckDB store in a temporary directory: a full queue makes `offer`
// refuse (OverloadedError) and `submit` wait for room; what is waiting is written in one store write per
// source (group commit) within `maxWrite`; a failing write rejects every submission it held, frees its
// room, and the next write works; each submission settles only after its events are durably stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import type { Transform } from '../core/transform.js';
import { parseQuery } from '../query/index.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { makeEvent, rec } from '../test-support/events.js';
import { IngestQueue, OverloadedError, type QueueOptions } from './ingest-queue.js';
import { SINKS, type SinkFactory } from './sinks/index.js';
import { buildTopology } from './topology.js';

const open: { queue: IngestQueue; store: Store; dir: string }[] = [];

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.queue.close();
    await o.store.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

async function setup(
  opts: Partial<QueueOptions> = {},
  transforms: Transform[] = [],
  sinkFactories: readonly SinkFactory[] = SINKS,
): Promise<{ queue: IngestQueue; store: Store; writes: { source: string; failed: boolean }[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-queue-'));
  const store = await openStore(path.join(dir, 'events.duckdb'));
  const topology = buildTopology({
    maxEventBytes: false,
    extra: transforms,
    sinks: { store },
    sinkFactories,
  });
  const queue = new IngestQueue(topology, { capacity: 100, maxWrite: 100, lingerMs: 0, ...opts });
  open.push({ queue, store, dir });
  const writes: { source: string; failed: boolean }[] = [];
  queue.listen({ wrote: (_s, source, failed) => writes.push({ source, failed }) });
  return { queue, store, writes };
}

const batch = (n: number): EventRecord[] => Array.from({ length: n }, () => rec(makeEvent()));
const stored = (store: Store) => store.count(parseQuery('*'));

/** Settles a promise into a value that can be inspected without awaiting it. */
function track<T>(p: Promise<T>): { settled: boolean; value?: T; error?: unknown; done: Promise<void> } {
  const t: { settled: boolean; value?: T; error?: unknown; done: Promise<void> } = {
    settled: false,
    done: Promise.resolve(),
  };
  t.done = p.then(
    (v) => {
      t.settled = true;
      t.value = v;
    },
    (e: unknown) => {
      t.settled = true;
      t.error = e;
    },
  );
  return t;
}

describe('IngestQueue', () => {
  it('offer refuses at once with OverloadedError when the batch does not fit, and accepts what fits', async () => {
    const { queue, store } = await setup({ capacity: 4, lingerMs: 200 });
    const first = queue.offer(batch(3), 'webhook');
    expect(queue.depth).toBe(3);
    const refused = queue.offer(batch(2), 'webhook');
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toMatchObject({ code: 'KT_OVERLOADED', retryAfterSeconds: 1 });
    expect(queue.depth).toBe(3);
    const fits = queue.offer(batch(1), 'webhook');
    expect(queue.depth).toBe(4);
    // both accepted batches of one source went into one write
    expect(await first).toEqual({ stored: 4, duplicates: 0, dropped: 0 });
    expect(await fits).toEqual({ stored: 4, duplicates: 0, dropped: 0 });
    expect(queue.depth).toBe(0);
    expect(await stored(store)).toBe(4);
    expect(queue.counts.get('webhook')).toEqual({ received: 4, stored: 4, duplicates: 0, dropped: 0 });
  });

  it('offer accepts a batch larger than the whole capacity when the queue is empty', async () => {
    const { queue, store } = await setup({ capacity: 2 });
    expect(await queue.offer(batch(5), 'webhook')).toEqual({ stored: 5, duplicates: 0, dropped: 0 });
    expect(await stored(store)).toBe(5);
  });

  it('submit waits for room instead of refusing, and goes in once a write frees it', async () => {
    const { queue, store } = await setup({ capacity: 4, lingerMs: 50 });
    const first = track(queue.submit(batch(3), 'file-a'));
    const second = track(queue.submit(batch(3), 'file-b'));
    await new Promise((r) => setTimeout(r, 10));
    // the second batch is not in the queue yet: it waits for room
    expect(queue.depth).toBe(3);
    expect(queue.counts.get('file-b')).toBeUndefined();
    expect(second.settled).toBe(false);
    await first.done;
    expect(first.value).toEqual({ stored: 3, duplicates: 0, dropped: 0 });
    await second.done;
    expect(second.value).toEqual({ stored: 3, duplicates: 0, dropped: 0 });
    expect(await stored(store)).toBe(6);
    expect(queue.depth).toBe(0);
  });

  it('writes what waits as one write per source, oldest source first, within maxWrite', async () => {
    const { queue, store, writes } = await setup({ lingerMs: 30, maxWrite: 5 });
    const results = await Promise.all([
      queue.offer(batch(2), 'a'),
      queue.offer(batch(1), 'b'),
      queue.offer(batch(2), 'a'),
      queue.offer(batch(3), 'a'),
      queue.offer(batch(1), 'b'),
    ]);
    // a: 2+2 in the first write (a third batch would pass maxWrite), then b: 1+1, then a: 3
    expect(writes).toEqual([
      { source: 'a', failed: false },
      { source: 'b', failed: false },
      { source: 'a', failed: false },
    ]);
    // each submission reports the totals of the write it was part of
    expect(results.map((r) => r.stored)).toEqual([4, 2, 4, 3, 2]);
    expect(await stored(store)).toBe(9);
  });

  it('reports duplicates of stored events and hands only new records to follower sinks', async () => {
    const seen: number[] = [];
    const follower: SinkFactory = {
      name: 'seen',
      create: () => ({ name: 'seen', role: 'follower', write: (records) => void seen.push(records.length) }),
    };
    const { queue } = await setup({}, [], [...SINKS, follower]);
    const events = batch(3);
    expect(await queue.submit(events, 'a')).toEqual({ stored: 3, duplicates: 0, dropped: 0 });
    expect(await queue.submit([...events, ...batch(1)], 'a')).toEqual({
      stored: 1,
      duplicates: 3,
      dropped: 0,
    });
    expect(await queue.submit(events, 'a')).toEqual({ stored: 0, duplicates: 3, dropped: 0 });
    expect(seen).toEqual([3, 1, 0]);
  });

  it('a failing store write rejects every submission it held, frees its room, and the next write works', async () => {
    const { queue, store, writes } = await setup({ capacity: 10, lingerMs: 30 });
    // An event the store cannot serialize (a BigInt has no JSON form): the whole write fails.
    const bad = rec(makeEvent({ annotations: { n: 1n as unknown as string } }));
    const withBad = queue.offer([bad], 'a');
    const sameWrite = queue.offer(batch(2), 'a');
    const failures = await Promise.allSettled([withBad, sameWrite]);
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    expect(writes).toEqual([{ source: 'a', failed: true }]);
    expect(queue.depth).toBe(0);
    expect(await stored(store)).toBe(0);
    // the queue keeps running: the next write of the same source is stored
    expect(await queue.offer(batch(10), 'a')).toEqual({ stored: 10, duplicates: 0, dropped: 0 });
    expect(writes.at(-1)).toEqual({ source: 'a', failed: false });
    expect(await stored(store)).toBe(10);
  });

  it('counts records a transform drops, and close writes everything already accepted', async () => {
    const dropOdd: Transform = { name: 'filter', apply: (b) => b.filter((_, i) => i % 2 === 0) };
    const { queue, store } = await setup({ lingerMs: 1000 }, [dropOdd]);
    const pending = queue.offer(batch(4), 'a');
    await queue.close();
    expect(await pending).toEqual({ stored: 2, duplicates: 0, dropped: 2 });
    expect(await stored(store)).toBe(2);
    await expect(queue.offer(batch(1), 'a')).rejects.toMatchObject({ code: 'KT_OVERLOADED' });
    await expect(queue.submit(batch(1), 'a')).rejects.toMatchObject({ code: 'KT_OVERLOADED' });
  });
});
