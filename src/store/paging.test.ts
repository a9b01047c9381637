// allEvents: every matching event exactly once, oldest first, across page boundaries and with a range,
// and a `max` that stops reading and says whether more matched; on a real DuckDB store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { eventTime, timeToMicros } from '../core/time.js';
import { parseQuery } from '../query/index.js';
import { makeEvent, rec } from '../test-support/events.js';
import { openStore } from './open.js';
import { allEvents, type AllEventsOptions } from './paging.js';
import type { Store } from './store.js';

const N = 23;
let store: Store;
let ids: string[];

beforeAll(async () => {
  store = await openStore(':memory:');
  const events = Array.from({ length: N }, (_, i) => makeEvent({ verb: i % 3 === 0 ? 'delete' : 'get' }));
  ids = events.map((e) => e.auditID);
  // written newest first, in two batches: the pager must still give time order
  await store.write(
    events
      .slice(10)
      .reverse()
      .map((e) => rec(e)),
  );
  await store.write(
    events
      .slice(0, 10)
      .reverse()
      .map((e) => rec(e)),
  );
});

afterAll(async () => {
  await store.close();
});

async function read(opts: AllEventsOptions): Promise<{ pages: EventRecord[][]; ids: string[] }> {
  const pages: EventRecord[][] = [];
  for await (const p of allEvents(store, opts)) pages.push(p);
  return { pages, ids: pages.flat().map((r) => r.event.auditID) };
}

describe('allEvents', () => {
  it('reads every event once, oldest first, whatever the page size', async () => {
    for (const pageSize of [1, 4, N, N + 1, 5000]) {
      const r = await read({ pageSize });
      expect(r.ids).toEqual(ids);
      expect(r.pages.every((p) => p.length > 0 && p.length <= pageSize)).toBe(true);
    }
  });

  it('keeps a filter and a time range', async () => {
    const deletes = ids.filter((_, i) => i % 3 === 0);
    expect((await read({ filter: parseQuery('verb:delete'), pageSize: 2 })).ids).toEqual(deletes);
    const all = (await read({})).pages.flat();
    const at = (i: number) => timeToMicros(eventTime(all[i]!.event))!;
    const since = at(5);
    const until = at(9);
    expect((await read({ since, until, pageSize: 3 })).ids).toEqual(ids.slice(5, 9));
  });

  it('stops at max and says whether more matched', async () => {
    const cut = { events: 0, truncated: false };
    expect((await read({ pageSize: 4, max: 10, progress: cut })).ids).toEqual(ids.slice(0, 10));
    expect(cut).toEqual({ events: 10, truncated: true });
    const whole = { events: 0, truncated: false };
    expect((await read({ pageSize: 4, max: N, progress: whole })).ids).toEqual(ids);
    expect(whole).toEqual({ events: N, truncated: false });
    const over = { events: 0, truncated: false };
    expect((await read({ max: N + 5, progress: over })).ids).toEqual(ids);
    expect(over).toEqual({ events: N, truncated: false });
  });

  it('gives nothing for an empty match', async () => {
    expect((await read({ filter: parseQuery('verb:patch') })).pages).toEqual([]);
  });
});
