import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { DataKey } from '../../crypto/cipher.js';
import { parseQuery } from '../../query/index.js';
import { makeEvent, rec } from '../../test-support/events.js';
import { openStore } from '../open.js';
import { runStoreConformance } from '../../test-support/store-conformance.js';
import { SCHEMA_VERSION } from './migrations.js';
import { openDuckDBStore } from './store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let conformanceStores = 0;
runStoreConformance('DuckDB file', () =>
  openStore(path.join(dir, `conformance-${conformanceStores++}.duckdb`)),
);

// The same answers from an encrypted store (src/store/sealing.ts): SQL reads only the index columns.
const conformanceKey = DataKey.generate();
runStoreConformance('DuckDB file, encrypted', () =>
  openStore(path.join(dir, `conformance-${conformanceStores++}.duckdb`), { key: conformanceKey }),
);

describe('DuckDB store', () => {
  it('keeps events across reopen, and stays idempotent across processes', async () => {
    const file = path.join(dir, 'persist.duckdb');
    const events = [rec(makeEvent()), rec(makeEvent())];
    let s = await openDuckDBStore(file);
    expect(await s.write(events)).toEqual({ stored: 2, duplicates: 0 });
    await s.setMeta('checkpoint', 'abc');
    await s.close();
    s = await openDuckDBStore(file);
    expect(await s.write(events)).toEqual({ stored: 0, duplicates: 2 });
    expect(await s.getMeta('checkpoint')).toBe('abc');
    expect(await s.getMeta('missing')).toBeUndefined();
    await s.close();
    const ro = await openDuckDBStore(file, { readOnly: true });
    expect(await ro.count(parseQuery('*'))).toBe(2);
    await expect(ro.write(events)).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
    await ro.close();
  });

  it('refuses a file written by a newer schema', async () => {
    const file = path.join(dir, 'newer.duckdb');
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    await c.run(
      'CREATE TABLE kt_schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)',
    );
    await c.run(`INSERT INTO kt_schema_migrations VALUES (${SCHEMA_VERSION + 1}, 'from the future', now())`);
    c.closeSync();
    inst.closeSync();
    await expect(openDuckDBStore(file)).rejects.toMatchObject({ code: 'KT_STORE_SCHEMA' });
  });

  it('upgrades an empty file to the current schema once', async () => {
    const file = path.join(dir, 'fresh.duckdb');
    const a = await openDuckDBStore(file);
    await a.close();
    const b = await openDuckDBStore(file);
    const r = await b.connection.runAndReadAll('SELECT count(*), max(version) FROM kt_schema_migrations');
    expect(r.getRows()[0]!.map(Number)).toEqual([SCHEMA_VERSION, SCHEMA_VERSION]);
    await b.close();
  });

  it('says clearly when the store does not exist for reading', async () => {
    await expect(openStore(path.join(dir, 'absent.duckdb'), { readOnly: true })).rejects.toMatchObject({
      code: 'KT_STORE_OPEN',
    });
  });

  it('stores hostile values as data', async () => {
    const s = await openDuckDBStore(':memory:');
    const nasty = `'); DROP TABLE events; -- \u0000 \u202e ${'x'.repeat(10)}`;
    await s.write([
      rec(
        makeEvent({
          user: { username: nasty },
          userAgent: nasty,
          objectRef: { resource: 'pods', name: nasty },
        }),
      ),
    ]);
    const page = await s.query({
      filter: parseQuery(`user:"${nasty.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`),
      limit: 10,
    });
    expect(page.records[0]!.event.userAgent).toBe(nasty);
    expect(await s.count(parseQuery('*'))).toBe(1);
    await s.close();
  });

  it('stores a batch holding a response code beyond 32 bits, without that code in the column', async () => {
    const s = await openDuckDBStore(':memory:');
    const odd = rec(makeEvent({ auditID: 'huge-code', responseStatus: { code: 1e12 } }));
    expect(await s.write([rec(makeEvent()), odd])).toEqual({ stored: 2, duplicates: 0 });
    const r = await s.connection.runAndReadAll(`SELECT code FROM events WHERE audit_id = 'huge-code'`);
    expect(r.getRows()).toEqual([[null]]);
    expect((await s.getByAuditId('huge-code'))[0]!.event.responseStatus?.code).toBe(1e12);
    await s.close();
  });

  it('deduplicates against hashes written by earlier versions (SHA-1 of cluster, NUL, event JSON)', async () => {
    const file = path.join(dir, 'older-hashes.duckdb');
    const e = makeEvent({ userAgent: 'é \u0000 😀' });
    const s = await openDuckDBStore(file);
    await s.write([rec(e, 'prod')]);
    const legacy = createHash('sha1').update('prod').update('\0').update(JSON.stringify(e)).digest('hex');
    const r = await s.connection.runAndReadAll('SELECT content_hash FROM events');
    expect(r.getRows()).toEqual([[legacy.slice(0, 32)]]);
    await s.close();
    const again = await openDuckDBStore(file);
    expect(await again.write([rec(e, 'prod')])).toEqual({ stored: 0, duplicates: 1 });
    await again.close();
  });

  it('lays a batch out in time order whatever order it arrives in', async () => {
    const s = await openDuckDBStore(':memory:');
    const at = (sec: number) => `2024-05-01T10:00:${String(sec).padStart(2, '0')}.000000Z`;
    const batch = [5, 1, 4, 1, 3].map((sec, i) =>
      rec(makeEvent({ auditID: `a${i}`, stageTimestamp: at(sec), requestReceivedTimestamp: at(sec) })),
    );
    expect(await s.write(batch, { reportNew: true })).toEqual({
      stored: 5,
      duplicates: 0,
      fresh: [0, 1, 2, 3, 4],
    });
    const r = await s.connection.runAndReadAll('SELECT audit_id FROM events ORDER BY rowid');
    expect(r.getRows().map((x) => x[0])).toEqual(['a1', 'a3', 'a4', 'a2', 'a0']);
    await s.close();
  });
});
