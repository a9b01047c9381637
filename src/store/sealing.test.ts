// Encryption at rest on the DuckDB store (the ClickHouse store runs the conformance suite and a rotation
// in its own tests): what a sealed row keeps in clear, that no planted marker reaches the file or its
// WAL, the key checks at open (which change nothing), SQL that never reads a sealed column, and key
// rotation, interrupted and resumed.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { isKubetrailError } from '../core/errors.js';
import { DataKey } from '../crypto/cipher.js';
import { planClickHouse } from '../query/compile/clickhouse.js';
import { planDuckDBSealed } from '../query/compile/duckdb.js';
import { parseQuery } from '../query/index.js';
import { makeEvent, rec } from '../test-support/events.js';
import { contentHash, EVENT_COLUMNS } from './columns.js';
import { openDuckDBStore, type DuckDBStore } from './duckdb/store.js';
import { openStore } from './open.js';
import { rotateStoreKey } from './rotate.js';
import { INDEX_COLUMNS } from './sealing.js';
import type { Store } from './store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-sealed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `s${files++}.duckdb`);

/** Markers planted in every place the issue lists as encrypted. */
const M = {
  body: 'MARKbody1x',
  response: 'MARKresp2x',
  annotation: 'MARKannot3x',
  uri: 'MARKuri4x',
  ua: 'MARKua5x',
  group: 'MARKgroup6x',
  extra: 'MARKextra7x',
  impersonated: 'MARKimp8x',
  ip: '203.0.113.77',
  message: 'MARKmsg9x',
};

function planted(i: number): EventRecord {
  const t = new Date(Date.UTC(2024, 4, 1, 10, 0, i)).toISOString().replace('Z', '000Z');
  return rec(
    makeEvent({
      auditID: `planted-${i}`,
      verb: i % 2 ? 'create' : 'get',
      requestURI: `/api/v1/namespaces/default/configmaps?label=${M.uri}`,
      userAgent: `curl ${M.ua}`,
      user: { username: 'alice', groups: [M.group], extra: { scope: [M.extra] } },
      impersonatedUser: { username: M.impersonated },
      sourceIPs: [M.ip],
      requestObject: { data: { k: M.body } },
      responseObject: { data: { k: M.response } },
      responseStatus: { code: 403, message: M.message, reason: 'Forbidden' },
      annotations: { 'example.com/note': M.annotation },
      requestReceivedTimestamp: t,
      stageTimestamp: t,
    }),
  );
}

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (err: unknown) => (isKubetrailError(err) ? err.code : String(err)),
  );
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const ids = (records: EventRecord[]) => records.map((r) => r.event.auditID).sort();

async function rawRows(store: DuckDBStore): Promise<Record<string, unknown>[]> {
  const r = await store.connection.runAndReadAll(`SELECT * FROM events`);
  return r.getRowObjectsJson() as Record<string, unknown>[];
}

describe('encrypted DuckDB store', () => {
  const key = DataKey.generate();
  const events = Array.from({ length: 20 }, (_, i) => planted(i));

  it('keeps only the index columns in clear, and no marker reaches the file or its WAL', async () => {
    const file = newFile();
    const store = await openDuckDBStore(file, { key });
    expect(await store.write(events)).toEqual({ stored: 20, duplicates: 0 });
    const rows = await rawRows(store);
    for (const row of rows) {
      for (const [c] of EVENT_COLUMNS) {
        const v = row[c];
        if (INDEX_COLUMNS.has(c)) continue;
        if (c === 'event' || c === 'annotations') expect(String(v)).toMatch(new RegExp(`^kt1:${key.id}:`));
        else
          expect(v === null || (Array.isArray(v) && v.length === 0), `${c} = ${JSON.stringify(v)}`).toBe(
            true,
          );
      }
      expect(row.content_hash).not.toBe(contentHash(String(row.cluster), JSON.stringify(events[0]!.event)));
    }
    const text = JSON.stringify(rows);
    // Before close the rows are in the WAL; after it, in the file.
    const wal = `${file}.wal`;
    const onDisk = () =>
      [file, ...(existsSync(wal) ? [wal] : [])].map((f) => readFileSync(f).toString('latin1')).join('');
    const before = onDisk();
    await store.close();
    const after = onDisk();
    for (const m of Object.values(M)) {
      expect(text).not.toContain(m);
      expect(before).not.toContain(m);
      expect(after).not.toContain(m);
    }
    // The index columns stay readable (the check above would catch a marker that is one of them).
    expect(after).toContain('planted-1');
    // And every event comes back whole, found by the sealed fields.
    const again = await openStore(file, { key, readOnly: true });
    const page = await again.query({ filter: parseQuery(`ua:*${M.ua}* ${M.body}`), limit: 100 });
    expect(page.records).toHaveLength(0); // free text searches the text fields, not bodies
    const byBody = await again.query({ filter: parseQuery(`requestObject.data.k:${M.body}`), limit: 100 });
    expect(ids(byBody.records)).toEqual(ids(events));
    expect(byBody.records.find((r) => r.event.auditID === 'planted-3')).toEqual(events[3]);
    expect(await again.count(parseQuery(`ip:${M.ip} verb:create`))).toBe(10);
    expect(await again.count(parseQuery(`"${M.message}"`))).toBe(20);
    await again.close();
  });

  it('deduplicates equal events under one key, with a hash that depends on the key', async () => {
    const other = DataKey.generate();
    const a = await openDuckDBStore(':memory:', { key });
    const b = await openDuckDBStore(':memory:', { key: other });
    expect(await a.write([events[0]!, events[0]!])).toEqual({ stored: 1, duplicates: 1 });
    expect(await a.write([events[0]!])).toEqual({ stored: 0, duplicates: 1 });
    await b.write([events[0]!]);
    const [ha] = await rawRows(a);
    const [hb] = await rawRows(b);
    expect(ha!.content_hash).not.toBe(hb!.content_hash);
    await a.close();
    await b.close();
  });

  it('refuses a missing or wrong key, and a key on a plain store with events, changing nothing', async () => {
    const file = newFile();
    const s = await openDuckDBStore(file, { key });
    await s.write(events.slice(0, 3));
    await s.close();
    const hash = sha(file);
    expect(await code(openStore(file))).toBe('KT_KEY_REQUIRED');
    expect(await code(openStore(file, { readOnly: true }))).toBe('KT_KEY_REQUIRED');
    expect(await code(openStore(file, { key: DataKey.generate() }))).toBe('KT_KEY_MISMATCH');
    expect(sha(file)).toBe(hash);

    const plain = newFile();
    const p = await openDuckDBStore(plain);
    await p.write(events.slice(0, 3));
    await p.close();
    const plainHash = sha(plain);
    expect(await code(openStore(plain, { key }))).toBe('KT_KEY_UNEXPECTED');
    expect(sha(plain)).toBe(plainHash);
  });

  it('compiles SQL that never reads a sealed column, for any filter', () => {
    const sealed = EVENT_COLUMNS.map(([c]) => c).filter((c) => !INDEX_COLUMNS.has(c));
    const touches = new RegExp(`\\b(${sealed.join('|')})\\b`);
    for (const f of [
      'ua:curl*',
      'group:devs OR user:alice',
      'NOT (impersonated:* AND verb:get)',
      'requestObject.spec.replicas>=3 resource:deployments',
      'annotations.authorization.k8s.io/decision:allow',
      'forbidden',
      'actor:alice',
      'latency>1s OR code>=500',
      'uri:/api* decision:allow reason:*',
    ]) {
      const duck = planDuckDBSealed(parseQuery(f), INDEX_COLUMNS);
      const ch = planClickHouse(parseQuery(f), Date.now(), INDEX_COLUMNS);
      expect(duck.sql, f).not.toMatch(touches);
      expect(ch.sql, f).not.toMatch(touches);
      expect(duck.postFilter, f).toBeDefined();
    }
    // Index columns are still narrowed in SQL.
    const plan = planDuckDBSealed(parseQuery('verb:get ua:curl*'), INDEX_COLUMNS);
    expect(plan.sql).toContain('"verb"');
    expect(plan.pushed).toBe('verb:get');
    expect(planDuckDBSealed(parseQuery('verb:get code>=400'), INDEX_COLUMNS).postFilter).toBeUndefined();
  });
});

describe('key rotation', () => {
  const old = DataKey.generate();
  const next = DataKey.generate();
  const events = Array.from({ length: 25 }, (_, i) => planted(100 + i));

  const readAll = async (store: Store) =>
    (await store.query({ filter: parseQuery('*'), limit: 1000 })).records;

  it('re-seals every event under the new key; the old key no longer opens the store', async () => {
    const file = newFile();
    const s = await openStore(file, { key: old });
    await s.write(events);
    await s.close();
    const r = await openStore(file, { key: old, rotateTo: next });
    expect(await rotateStoreKey(r, old, next, undefined, 7)).toEqual({ events: 25, already: false });
    await r.close();
    const after = await openStore(file, { key: next, readOnly: true });
    expect(await after.count(parseQuery('*'))).toBe(25);
    const got = await readAll(after);
    expect(ids(got)).toEqual(ids(events));
    expect(got.find((x) => x.event.auditID === 'planted-105')).toEqual(events[5]);
    expect(await after.count(parseQuery(`requestObject.data.k:${M.body}`))).toBe(25);
    await after.close();
    expect(await code(openStore(file, { key: old }))).toBe('KT_KEY_MISMATCH');
    // Running it again finds nothing to do.
    const again = await openStore(file, { key: old, rotateTo: next });
    expect(await rotateStoreKey(again, old, next)).toEqual({ events: 0, already: true });
    await again.close();
  });

  it('finishes an interrupted rotation when run again, losing and doubling nothing', async () => {
    const file = newFile();
    const s = await openStore(file, { key: old });
    await s.write(events);
    await s.close();
    const r = await openStore(file, { key: old, rotateTo: next });
    const rotation = r.keyRotation!();
    let writes = 0;
    // The process dies after the second batch is written.
    r.keyRotation = () => ({
      ...rotation,
      writeRows: async (rows) => {
        if (++writes > 2) throw new Error('killed');
        return rotation.writeRows(rows);
      },
    });
    expect(await code(rotateStoreKey(r, old, next, undefined, 5))).toContain('killed');
    await r.close();
    expect(await code(openStore(file, { key: old }))).toBe('KT_STORE_OPEN');
    expect(await code(openStore(file, { key: next }))).toBe('KT_STORE_OPEN');
    expect(await code(openStore(file, { key: old, rotateTo: DataKey.generate() }))).toBe('KT_KEY_MISMATCH');
    const resumed = await openStore(file, { key: old, rotateTo: next });
    // The old rows are removed only at the end: the rerun re-seals all 25, the 10 done before dedupe.
    expect((await rotateStoreKey(resumed, old, next, undefined, 5)).events).toBe(25);
    await resumed.close();
    const after = await openStore(file, { key: next, readOnly: true });
    expect(ids(await readAll(after))).toEqual(ids(events));
    expect(await after.count(parseQuery('*'))).toBe(25);
    await after.close();
  });

  it('encrypts a plain store', async () => {
    const file = newFile();
    const s = await openStore(file);
    await s.write(events);
    await s.close();
    expect(await code(openStore(file, { key: next, rotateTo: next }))).toBe('KT_KEY_UNEXPECTED');
    const r = await openStore(file, { rotateTo: next });
    expect((await rotateStoreKey(r, undefined, next)).events).toBe(25);
    await r.close();
    expect(await code(openStore(file, { readOnly: true }))).toBe('KT_KEY_REQUIRED');
    const after = await openDuckDBStore(file, { key: next });
    expect(ids(await readAll(after))).toEqual(ids(events));
    expect(JSON.stringify(await rawRows(after))).not.toContain(M.body);
    await after.close();
  });
});
