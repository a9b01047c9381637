// The conformance suite every Store implementation passes: idempotent writes, every query form,
// pagination, aggregations, history and retention, and what the store keeps for detection (alerts, the
// outbox, the engine's state: detection-conformance.ts). Call it from a test file of the implementation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { compileJs, parseQuery } from '../query/index.js';
import { runDetectionConformance } from './detection-conformance.js';
import { makeEvent, rec } from './events.js';
import type { Store } from '../store/store.js';

const T0 = Date.UTC(2024, 4, 1, 10) * 1000;
const iso = (us: number) =>
  `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;

/** A fixed data set: 60 events a minute apart, several users, verbs and namespaces. */
export function conformanceRecords(): EventRecord[] {
  const users = ['alice', 'bob', 'system:serviceaccount:kube-system:x'];
  const verbs = ['get', 'list', 'create', 'delete'];
  const out: EventRecord[] = [];
  for (let i = 0; i < 60; i++) {
    const t = iso(T0 + i * 60_000_000);
    out.push(
      rec(
        makeEvent({
          auditID: `aud-${i}`,
          verb: verbs[i % 4]!,
          user: {
            username: users[i % 3]!,
            groups: i % 2 ? ['devs', 'system:authenticated'] : ['system:authenticated'],
          },
          objectRef:
            i % 10 === 0
              ? undefined
              : {
                  resource: i % 5 === 0 ? 'secrets' : 'pods',
                  namespace: `ns-${i % 3}`,
                  name: `obj-${i % 4}`,
                  apiVersion: 'v1',
                },
          responseStatus: { code: i % 7 === 0 ? 403 : 200 },
          ...(i % 6 === 0
            ? {
                requestObject: {
                  kind: 'Pod',
                  spec: { containers: [{ image: 'nginx' }, { image: i % 12 === 0 ? 'nginx' : 'redis' }] },
                },
              }
            : {}),
          requestReceivedTimestamp: t,
          stageTimestamp: t,
        }),
        i % 2 ? 'east' : 'west',
      ),
    );
  }
  return out;
}

export function runStoreConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    const records = conformanceRecords();
    const expectIds = async (filter: string, range: { since?: number; until?: number } = {}) => {
      const page = await store.query({ filter: parseQuery(filter), ...range, limit: 1000 });
      const accept = compileJs(parseQuery(filter));
      const want = records
        .filter(accept)
        .filter((r) => {
          const t = Date.parse(r.event.stageTimestamp) * 1000;
          return (
            (range.since === undefined || t >= range.since) && (range.until === undefined || t < range.until)
          );
        })
        .map((r) => r.event.auditID);
      expect(page.records.map((r) => r.event.auditID).sort()).toEqual([...want].sort());
    };

    beforeAll(async () => {
      store = await makeStore();
      const w = await store.write(records);
      expect(w).toEqual({ stored: 60, duplicates: 0 });
    });
    afterAll(async () => store.close());

    it('stores nothing twice: same batch, overlapping batches, duplicates inside a batch', async () => {
      expect(await store.write(records)).toEqual({ stored: 0, duplicates: 60 });
      expect(await store.write([...records.slice(50), ...records.slice(55)])).toEqual({
        stored: 0,
        duplicates: 15,
      });
      expect(await store.count(parseQuery('*'))).toBe(60);
    });

    it('says which records of a write were newly stored, when asked', async () => {
      // An hour before the data set, removed again at the end.
      const t = iso(T0 - 3_600_000_000);
      const at = (id: string) =>
        rec(makeEvent({ auditID: id, requestReceivedTimestamp: t, stageTimestamp: t }), 'west');
      const [a, b, c] = [at('new-a'), at('new-b'), at('new-c')];
      // Nothing stored in the range yet, then some of it stored: both ways of writing.
      expect(await store.write([a, b, a], { reportNew: true })).toEqual({
        stored: 2,
        duplicates: 1,
        fresh: [0, 1],
      });
      expect(await store.write([b, c, c, a], { reportNew: true })).toEqual({
        stored: 1,
        duplicates: 3,
        fresh: [1],
      });
      expect(await store.write([a, c], { reportNew: true })).toEqual({ stored: 0, duplicates: 2, fresh: [] });
      expect(await store.deleteBefore(T0)).toBe(3);
    });

    it('keeps distinct events that share an auditID and stage', async () => {
      const a = records[0]!;
      const twin = rec({ ...a.event, userAgent: 'another-client' }, a.cluster);
      expect(await store.write([twin, twin])).toEqual({ stored: 1, duplicates: 1 });
      expect(await store.getByAuditId('aud-0')).toHaveLength(2);
      expect(await store.deleteBefore(T0 + 1)).toBe(2);
      expect(await store.write([a])).toEqual({ stored: 1, duplicates: 0 });
    });

    it('returns events newest first and pages without gaps or repeats', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query({ filter: parseQuery('*'), limit: 7, ...(cursor ? { cursor } : {}) });
        seen.push(...page.records.map((r) => r.event.auditID));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(records.map((r) => r.event.auditID).reverse());
      const asc = await store.query({ filter: parseQuery('*'), limit: 3, order: 'asc' });
      expect(asc.records.map((r) => r.event.auditID)).toEqual(['aud-0', 'aud-1', 'aud-2']);
    });

    it.each([
      'verb:delete',
      'user:system:serviceaccount:*',
      '-ns:*',
      'resource:secrets code:403',
      'NOT code:403 group:devs',
      'cluster:east verb:(get OR list)',
      'code>=400',
      'name:obj-1 OR name:obj-3',
    ])('filters: %s', async (f) => expectIds(f));

    it('applies time ranges (until is exclusive)', async () => {
      await expectIds('*', { since: T0 + 10 * 60_000_000, until: T0 + 20 * 60_000_000 });
      expect(await store.count(parseQuery('*'), { since: T0 + 59 * 60_000_000 })).toBe(1);
    });

    it('counts by field, with values of multi-valued fields counted once per event', async () => {
      const byUser = await store.stats({ filter: parseQuery('*'), by: 'user', limit: 10 });
      expect(byUser).toEqual([
        { value: 'alice', count: 20 },
        { value: 'bob', count: 20 },
        { value: 'system:serviceaccount:kube-system:x', count: 20 },
      ]);
      const byGroup = await store.stats({ filter: parseQuery('*'), by: 'group', limit: 10 });
      expect(byGroup).toEqual([
        { value: 'system:authenticated', count: 60 },
        { value: 'devs', count: 30 },
      ]);
      const byNs = await store.stats({ filter: parseQuery('*'), by: 'ns', limit: 2 });
      expect(byNs[0]!.count).toBeGreaterThanOrEqual(byNs[1]!.count);
      const byCode = await store.stats({ filter: parseQuery('code:403'), by: 'code', limit: 5 });
      expect(byCode).toEqual([{ value: 403, count: 9 }]);
    });

    it('counts by JSON path, each distinct value once per event, absent as null', async () => {
      const byKind = await store.stats({ filter: parseQuery('*'), by: 'requestObject.kind', limit: 10 });
      expect(byKind).toEqual([
        { value: null, count: 50 },
        { value: 'Pod', count: 10 },
      ]);
      const byImage = await store.stats({
        filter: parseQuery('verb:(get OR create)'),
        by: 'requestObject.spec.containers.image',
        limit: 10,
      });
      // Events 0, 6, …, 54 carry images; verb get (i % 4 = 0) or create (i % 4 = 2) keeps every one of them.
      expect(byImage).toEqual([
        { value: null, count: 20 },
        { value: 'nginx', count: 10 },
        { value: 'redis', count: 5 },
      ]);
    });

    it('builds a time histogram, optionally split by a field', async () => {
      const h = await store.histogram({ filter: parseQuery('*'), intervalMs: 10 * 60_000 });
      expect(h).toHaveLength(6);
      expect(h.reduce((a, b) => a + (b.counts[''] ?? 0), 0)).toBe(60);
      expect(h[0]!.start).toBe(T0);
      const split = await store.histogram({
        filter: parseQuery('*'),
        intervalMs: 30 * 60_000,
        splitBy: 'verb',
        splitLimit: 2,
      });
      const totals: Record<string, number> = {};
      for (const b of split) for (const [k, v] of Object.entries(b.counts)) totals[k] = (totals[k] ?? 0) + v;
      expect(Object.keys(totals).sort()).toEqual(
        ['create', 'delete', 'other'].filter((k) => k in totals).sort(),
      );
      expect(Object.values(totals).reduce((a, b) => a + b, 0)).toBe(60);
    });

    it('builds an empty histogram when nothing matches, split or not', async () => {
      for (const splitBy of [
        undefined,
        'verb',
        'user',
        'code',
        'annotations.authorization.k8s.io/decision',
      ]) {
        const h = await store.histogram({
          filter: parseQuery('user:nobody'),
          intervalMs: 10 * 60_000,
          ...(splitBy ? { splitBy } : {}),
        });
        expect(h, `split by ${splitBy ?? '(none)'}`).toEqual([]);
      }
      // A time range that holds no event, split: the same empty answer.
      const late = await store.histogram({
        filter: parseQuery('*'),
        intervalMs: 10 * 60_000,
        splitBy: 'verb',
        since: T0 + 3600 * 1_000_000 * 24,
      });
      expect(late).toEqual([]);
    });

    it('finds every stage of a request and the history of an object', async () => {
      const r = await store.getByAuditId('aud-7');
      expect(r.map((x) => x.event.auditID)).toEqual(['aud-7']);
      const h = await store.history({ resource: 'pods', name: 'obj-1', namespace: 'ns-1' });
      const want = records.filter(
        (x) =>
          x.event.objectRef?.resource === 'pods' &&
          x.event.objectRef.name === 'obj-1' &&
          x.event.objectRef.namespace === 'ns-1',
      );
      expect(h.map((x) => x.event.auditID)).toEqual(want.map((x) => x.event.auditID));
      expect(
        await store.history({ resource: 'pods', name: 'obj-1', namespace: 'ns-1', cluster: 'nowhere' }),
      ).toEqual([]);
    });

    it('reports its span and removes old events', async () => {
      expect(await store.span()).toEqual({ first: T0, last: T0 + 59 * 60_000_000, events: 60 });
      expect(await store.deleteBefore(T0 + 30 * 60_000_000)).toBe(30);
      expect(await store.count(parseQuery('*'))).toBe(30);
    });
  });

  describe(`Store conformance: ${name}, paging across days`, () => {
    let store: Store;
    // Five UTC days, 36 events a day 40 minutes apart, one get in three; distinct times.
    const DAY = 86_400_000_000;
    const D0 = Date.UTC(2024, 5, 1) * 1000;
    const records: EventRecord[] = [];
    for (let d = 0; d < 5; d++) {
      for (let i = 0; i < 36; i++) {
        const t = iso(D0 + d * DAY + i * 40 * 60_000_000 + d * 1000);
        records.push(
          rec(
            makeEvent({
              auditID: `day${d}-${i}`,
              verb: i % 3 === 0 ? 'get' : 'list',
              // Two events on the first day only are deletes: a sparse filter.
              ...(d === 0 && i < 2 ? { verb: 'delete' } : {}),
              requestReceivedTimestamp: t,
              stageTimestamp: t,
            }),
          ),
        );
      }
    }
    const timeOf = (r: EventRecord) => Date.parse(r.event.stageTimestamp) * 1000;
    const pageAll = async (
      filter: string,
      order: 'asc' | 'desc',
      range: { since?: number; until?: number },
    ) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query({
          filter: parseQuery(filter),
          limit: 7,
          order,
          ...range,
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...page.records.map((r) => r.event.auditID));
        cursor = page.nextCursor;
      } while (cursor && seen.length < 1000);
      return seen;
    };

    beforeAll(async () => {
      store = await makeStore();
      expect(await store.write(records)).toEqual({ stored: records.length, duplicates: 0 });
    });
    afterAll(async () => store.close());

    it.each([
      ['*', {}],
      ['verb:get', {}],
      ['verb:delete', {}],
      ['verb:get', { since: D0 + DAY + 5 * 3_600_000_000, until: D0 + 3 * DAY + 7 * 3_600_000_000 }],
      ['*', { until: D0 + 2 * DAY }],
      ['*', { since: D0 + 4 * DAY + 1 }],
      ['*', { since: D0 + 9 * DAY }],
    ] as const)('pages %s %j in both orders, across days, without gaps or repeats', async (filter, range) => {
      const accept = compileJs(parseQuery(filter));
      const want = records
        .filter(accept)
        .filter((r) => {
          const t = timeOf(r);
          return (!('since' in range) || t >= range.since!) && (!('until' in range) || t < range.until!);
        })
        .map((r) => r.event.auditID);
      expect(await pageAll(filter, 'asc', range)).toEqual(want);
      expect(await pageAll(filter, 'desc', range)).toEqual([...want].reverse());
    });
  });

  runDetectionConformance(name, makeStore);
}
