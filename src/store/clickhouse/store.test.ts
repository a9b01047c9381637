// The ClickHouse store against a real ClickHouse server: the shared conformance suite, plus what is
// specific to it (migrations, reopening, post-filtered queries, retention by partition, hostile values).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/event.js';
import { DataKey } from '../../crypto/cipher.js';
import { compileJs, parseQuery } from '../../query/index.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { makeEvent, rec } from '../../test-support/events.js';
import { isKubetrailError } from '../../core/errors.js';
import { openStore } from '../open.js';
import { rotateStoreKey } from '../rotate.js';
import { runStoreConformance } from '../../test-support/store-conformance.js';
import { SCHEMA_VERSION } from './migrations.js';
import { DAY_US } from './schema.js';
import { openClickHouseStore, parseClickHouseLocation } from './store.js';

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(async () => ch?.stop());

runStoreConformance('ClickHouse', () => openStore(ch.location()));
// The same answers from an encrypted store (src/store/sealing.ts): SQL reads only the index columns.
const conformanceKey = DataKey.generate();
runStoreConformance('ClickHouse, encrypted', () => openStore(ch.location(), { key: conformanceKey }));

const day = (d: number, h = 0) =>
  new Date(Date.UTC(2024, 4, d, h)).toISOString().replace('.000Z', '.000000Z');

describe('ClickHouse store', () => {
  it('parses locations and hides the password in messages', () => {
    expect(parseClickHouseLocation('clickhouse://u:p%40ss@db.example:9123/audit')).toEqual({
      url: 'http://db.example:9123',
      username: 'u',
      password: 'p@ss',
      database: 'audit',
      display: 'clickhouse://u:…@db.example:9123/audit',
    });
    expect(parseClickHouseLocation('clickhouses://h')).toMatchObject({
      url: 'https://h:8443',
      username: 'default',
      database: 'default',
    });
    expect(() => parseClickHouseLocation('clickhouse://h/bad-name;')).toThrow(/database name/);
  });

  it('keeps events across handles and stays idempotent between them', async () => {
    const loc = ch.location();
    const events = [rec(makeEvent()), rec(makeEvent())];
    const a = await openClickHouseStore(loc);
    expect(await a.write(events)).toEqual({ stored: 2, duplicates: 0 });
    const b = await openClickHouseStore(loc);
    expect(await b.write(events)).toEqual({ stored: 0, duplicates: 2 });
    const ro = await openClickHouseStore(loc, { readOnly: true });
    expect(await ro.count(parseQuery('*'))).toBe(2);
    await expect(ro.write(events)).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
    const m = await b.select<{ n: string; v: number }>(
      `SELECT count() AS n, max(version) AS v FROM ${b.location.database}.kt_schema_migrations FINAL`,
    );
    expect(m.map((r) => [Number(r.n), Number(r.v)])).toEqual([[SCHEMA_VERSION, SCHEMA_VERSION]]);
    await Promise.all([a.close(), b.close(), ro.close()]);
  });

  it('collapses duplicates that concurrent writers race in, at the next merge', async () => {
    const loc = ch.location();
    const events = Array.from({ length: 50 }, () => rec(makeEvent()));
    const writers = await Promise.all([openClickHouseStore(loc), openClickHouseStore(loc)]);
    const results = await Promise.all(writers.map((w) => w.write(events)));
    expect(results.reduce((n, r) => n + r.stored + r.duplicates, 0)).toBe(100);
    const s = writers[0]!;
    await s.command(`OPTIMIZE TABLE ${s.location.database}.events FINAL`);
    expect(await s.count(parseQuery('*'))).toBe(50);
    await Promise.all(writers.map((w) => w.close()));
  });

  it('refuses a database written by a newer schema, and says when there is no store to read', async () => {
    const loc = ch.location();
    const s = await openClickHouseStore(loc);
    await s.command(
      `INSERT INTO ${s.location.database}.kt_schema_migrations (version, description) VALUES (${SCHEMA_VERSION + 1}, 'from the future')`,
    );
    await s.close();
    await expect(openClickHouseStore(loc)).rejects.toMatchObject({ code: 'KT_STORE_SCHEMA' });
    await expect(openStore(ch.location(), { readOnly: true })).rejects.toMatchObject({
      code: 'KT_STORE_OPEN',
    });
    await expect(openStore('clickhouse://127.0.0.1:1/x')).rejects.toMatchObject({ code: 'KT_STORE_OPEN' });
  });

  it('post-filters JSON paths and annotations with the JS predicate, paging and aggregating alike', async () => {
    const s = await openClickHouseStore(ch.location(), { scanBatch: 7 });
    const records: EventRecord[] = Array.from({ length: 40 }, (_, i) =>
      rec(
        makeEvent({
          auditID: `p-${i}`,
          verb: i % 2 ? 'create' : 'get',
          requestObject: {
            spec: { containers: [{ image: i % 3 ? 'nginx' : 'miner', privileged: i % 4 === 0 }] },
          },
          annotations: { 'authorization.k8s.io/decision': i % 5 ? 'allow' : 'forbid', 'a/b~c': `v${i % 3}` },
        }),
        i % 2 ? 'east' : 'west',
      ),
    );
    await s.write(records);
    for (const f of [
      'requestObject.spec.containers.image:miner',
      'verb:create requestObject.spec.containers.privileged:true',
      'annotations.a/b~c:v1 OR verb:get',
      '-annotations.a/b~c:v2 cluster:east',
    ]) {
      const node = parseQuery(f);
      const want = records.filter(compileJs(node)).map((r) => r.event.auditID);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.query({ filter: node, limit: 4, order: 'asc', ...(cursor ? { cursor } : {}) });
        seen.push(...page.records.map((r) => r.event.auditID));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen, f).toEqual(want);
      expect(await s.count(node), f).toBe(want.length);
    }
    // A page larger than the two-step limit is scanned in keyset order instead.
    const big = await s.query({ filter: parseQuery('verb:create'), limit: 5000 });
    expect(big.records.map((r) => r.event.auditID)).toEqual(
      records
        .filter((r) => r.event.verb === 'create')
        .map((r) => r.event.auditID)
        .reverse(),
    );
    const byImage = await s.stats({
      filter: parseQuery('verb:create'),
      by: 'requestObject.spec.containers.image',
      limit: 5,
    });
    expect(byImage).toEqual([
      { value: 'nginx', count: 13 },
      { value: 'miner', count: 7 },
    ]);
    const byAnn = await s.stats({
      filter: parseQuery('annotations.a/b~c:*'),
      by: 'annotations.a/b~c',
      limit: 2,
    });
    expect(byAnn).toEqual([
      { value: 'v0', count: 14 },
      { value: 'v1', count: 13 },
    ]);
    const h = await s.histogram({
      filter: parseQuery('requestObject.spec.containers.image:miner'),
      intervalMs: 3_600_000,
      splitBy: 'verb',
    });
    const total = h.reduce((n, b) => n + Object.values(b.counts).reduce((x, y) => x + y, 0), 0);
    expect(total).toBe(14);
    await s.close();
  });

  it('drops whole day partitions and deletes the rest of a partial day', async () => {
    const s = await openClickHouseStore(ch.location());
    const records = [1, 2, 3].flatMap((d) =>
      [0, 6, 12, 18].map((h) =>
        rec(makeEvent({ stageTimestamp: day(d, h), requestReceivedTimestamp: day(d, h) })),
      ),
    );
    expect(await s.write(records)).toEqual({ stored: 12, duplicates: 0 });
    const partitions = async () =>
      (
        await s.select<{ p: string }>(
          `SELECT DISTINCT partition AS p FROM system.parts WHERE database = '${s.location.database}' AND table = 'events' AND active ORDER BY p`,
        )
      ).map((r) => Number(r.p));
    const d2 = Date.UTC(2024, 4, 2) * 1000;
    expect(await partitions()).toEqual([d2 / DAY_US - 1, d2 / DAY_US, d2 / DAY_US + 1]);
    expect(await s.deleteBefore(d2)).toBe(4);
    expect(await partitions()).toEqual([d2 / DAY_US, d2 / DAY_US + 1]);
    expect(await s.deleteBefore(d2 + 7 * 3_600_000_000)).toBe(2);
    expect(await s.count(parseQuery('*'))).toBe(6);
    expect((await s.span())?.first).toBe(d2 + 12 * 3_600_000_000);
    expect(await s.deleteBefore(d2)).toBe(0);
    await s.close();
  });

  it('stores hostile values as data and finds them by filter', async () => {
    const s = await openClickHouseStore(ch.location());
    const nasty = `'); DROP TABLE events; -- \\' \u0000 \u202e ünï 😀 %_ ${'x'.repeat(10)}`;
    await s.write([
      rec(
        makeEvent({
          user: { username: nasty },
          userAgent: nasty,
          objectRef: { resource: 'pods', name: nasty },
        }),
        nasty,
      ),
    ]);
    const quoted = `"${nasty.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    for (const f of [`user:${quoted}`, `cluster:${quoted} name:${quoted}`, quoted]) {
      const page = await s.query({ filter: parseQuery(f), limit: 10 });
      expect(
        page.records.map((r) => r.event.userAgent),
        f,
      ).toEqual([nasty]);
    }
    expect(await s.stats({ filter: parseQuery('*'), by: 'user', limit: 5 })).toEqual([
      { value: nasty, count: 1 },
    ]);
    expect(await s.history({ resource: 'pods', name: nasty, cluster: nasty })).toHaveLength(1);
    await s.close();
  });
});

describe('ClickHouse store, encrypted', () => {
  const [old, next] = [DataKey.generate(), DataKey.generate()];
  const marker = 'MARKclickhouse42x';
  const events = Array.from({ length: 30 }, (_, i) =>
    rec(makeEvent({ auditID: `sealed-${i}`, userAgent: `${marker}-${i % 3}`, requestObject: { k: marker } })),
  );
  const code = async (p: Promise<unknown>) =>
    p.then(
      () => 'no error',
      (err: unknown) => (isKubetrailError(err) ? err.code : String(err)),
    );
  const all = async (location: string) => {
    const s = await openStore(location, { key: next, readOnly: true });
    const got = (await s.query({ filter: parseQuery(`ua:${marker}-1`), limit: 100 })).records;
    const n = await s.count(parseQuery('*'));
    await s.close();
    return { ids: got.map((r) => r.event.auditID).sort(), n };
  };

  it('seals rows, refuses a missing or wrong key, and rotates, finishing an interrupted rotation', async () => {
    const location = ch.location();
    const s = await openClickHouseStore(location, { key: old });
    await s.write(events);
    const raw = JSON.stringify(await s.select(`SELECT * FROM ${s.location.database}.events`));
    expect(raw).not.toContain(marker);
    expect(raw).toContain('sealed-7');
    await s.close();
    expect(await code(openStore(location))).toBe('KT_KEY_REQUIRED');
    expect(await code(openStore(location, { key: next }))).toBe('KT_KEY_MISMATCH');

    // Killed after its first batch is inserted: the old rows stay until every row has its new copy.
    const r = await openStore(location, { key: old, rotateTo: next });
    const rotation = r.keyRotation!();
    let writes = 0;
    r.keyRotation = () => ({
      ...rotation,
      writeRows: async (rows) => {
        if (++writes > 1) throw new Error('killed');
        return rotation.writeRows(rows);
      },
    });
    expect(await code(rotateStoreKey(r, old, next, undefined, 7))).toContain('killed');
    await r.close();
    expect(await code(openStore(location, { key: next }))).toBe('KT_STORE_OPEN');
    const resumed = await openStore(location, { key: old, rotateTo: next });
    expect(await rotateStoreKey(resumed, old, next, undefined, 7)).toEqual({ events: 30, already: false });
    await resumed.close();
    const want = events
      .filter((_, i) => i % 3 === 1)
      .map((e) => e.event.auditID)
      .sort();
    expect(await all(location)).toEqual({ ids: want, n: 30 });
    expect(await code(openStore(location, { key: old }))).toBe('KT_KEY_MISMATCH');
  });

  it('encrypts a plain store through a rotation', async () => {
    const location = ch.location();
    const s = await openClickHouseStore(location);
    await s.write(events);
    await s.close();
    expect(await code(openStore(location, { key: next }))).toBe('KT_KEY_UNEXPECTED');
    const r = await openStore(location, { rotateTo: next });
    expect((await rotateStoreKey(r, undefined, next)).events).toBe(30);
    await r.close();
    expect((await all(location)).n).toBe(30);
    expect(await code(openStore(location, { readOnly: true }))).toBe('KT_KEY_REQUIRED');
  });
});
