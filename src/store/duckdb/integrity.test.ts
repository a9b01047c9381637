// Tamper evidence on the DuckDB store: the shared suite (src/test-support/integrity-conformance.ts), with
// the file changed behind kubetrail's back through @duckdb/node-api, and what is particular to DuckDB:
// the digest rows are written in the write's own transaction, and a file from before digests verifies
// only once it has been opened for writing.
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../../test-support/events.js';
import {
  runIntegrityConformance,
  type Tamper,
  type TamperOp,
} from '../../test-support/integrity-conformance.js';
import { verifyStore } from '../../integrity/verify.js';
import { openStore } from '../open.js';
import { openDuckDBStore } from './store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-integrity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WHERE_KEY = 'cluster = ? AND audit_id = ? AND stage = ?';

async function apply(c: DuckDBConnection, o: TamperOp): Promise<void> {
  switch (o.op) {
    case 'update':
      return void (await c.run(`UPDATE events SET "${o.change.column}" = ? WHERE ${WHERE_KEY}`, [
        o.change.value,
        o.key.cluster,
        o.key.auditID,
        o.key.stage,
      ]));
    case 'delete':
      return void (await c.run(`DELETE FROM events WHERE ${WHERE_KEY}`, [
        o.key.cluster,
        o.key.auditID,
        o.key.stage,
      ]));
    case 'insertCopy':
      return void (await c.run(
        `INSERT INTO events SELECT * REPLACE (?::VARCHAR AS audit_id) FROM events WHERE ${WHERE_KEY} LIMIT 1`,
        [o.auditID, o.of.cluster, o.of.auditID, o.of.stage],
      ));
    case 'deleteRange':
      return void (await c.run(
        `DELETE FROM events WHERE ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)`,
        [o.since, o.until],
      ));
    case 'swapRecords':
      return void (await c.run(
        `UPDATE kt_digests SET record = CASE seq
           WHEN ? THEN (SELECT record FROM kt_digests WHERE writer = ? AND seq = ?)
           ELSE (SELECT record FROM kt_digests WHERE writer = ? AND seq = ?) END
         WHERE writer = ? AND seq IN (?, ?)`,
        [o.a, o.writer, o.b, o.writer, o.a, o.writer, o.a, o.b],
      ));
  }
}

/** Tampering with a DuckDB store file with SQL, through a connection of its own. */
export function duckdbTamper(file: string): Tamper {
  return async (ops) => {
    const db = await DuckDBInstance.create(file);
    const c = await db.connect();
    try {
      for (const o of ops) await apply(c, o);
    } finally {
      c.closeSync();
      db.closeSync();
    }
  };
}

let trials = 0;
runIntegrityConformance(
  'DuckDB',
  async () => {
    const file = path.join(dir, `trial-${trials++}.duckdb`);
    return {
      open: (opts) => openStore(file, opts ?? {}),
      tamper: duckdbTamper(file),
      dispose: async () => rmSync(file, { force: true }),
    };
  },
  { runs: 8 },
);

describe('DuckDB digests', () => {
  it('writes no digest record when a write adds nothing, and one naming exactly the rows added', async () => {
    const store = await openDuckDBStore(':memory:');
    try {
      const a = rec(makeEvent());
      const b = rec(makeEvent());
      await store.write([a]);
      await store.write([a]);
      await store.write([a, b, b]);
      const integrity = await store.integrity();
      const records = [];
      for await (const r of integrity.records()) records.push(r);
      expect(records.map((r) => (r.kind === 'batch' ? r.count : 0))).toEqual([1, 1]);
      const entries = [];
      for await (const g of integrity.entries({})) entries.push(...g.entries);
      expect(entries.map((e) => e.auditID)).toEqual([a.event.auditID, b.event.auditID]);
      // Without any signature, the tail is unsigned; otherwise clean.
      const report = await verifyStore(store);
      expect(report.findings.map((f) => f.kind)).toEqual(['chain']);
      expect(report.findings[0]!.detail).toMatch(/records 1-2 not signed/);
      expect(report.verified.events).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('stores events and their digest record together or not at all', async () => {
    const store = await openDuckDBStore(':memory:');
    try {
      await store.write([rec(makeEvent())]);
      // The digest entries cannot be written: the write fails whole, its events are not stored.
      await store.connection.run('ALTER TABLE kt_digest_entries RENAME TO kt_gone');
      const lost = rec(makeEvent());
      await expect(store.write([lost])).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
      expect(await store.getByAuditId(lost.event.auditID)).toEqual([]);
      await store.connection.run('ALTER TABLE kt_gone RENAME TO kt_digest_entries');
      await store.write([lost]);
      const integrity = await store.integrity();
      const seqs = [];
      for await (const r of integrity.records()) seqs.push(r.seq);
      expect(seqs).toEqual([1, 2]);
      const report = await verifyStore(store);
      expect(report.verified.events).toBe(2);
      expect(report.findings.filter((f) => f.kind !== 'chain')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('row hashes written before version 2', () => {
  // A store written by a kubetrail whose digest entries hash each row's event inside the JSON array
  // (version 1 of the encoding): 60 generated events, signed at stop.
  const fixture = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));
  const publicKey = createPublicKey(readFileSync(fixture('row-hash-v1.signing.key.pub'), 'utf8'));
  const legacyStore = (name: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, gunzipSync(readFileSync(fixture('row-hash-v1.duckdb.gz'))));
    return file;
  };

  it('verify clean before and after the store is upgraded and written to', async () => {
    const file = legacyStore('legacy-clean.duckdb');
    const before = await openStore(file, { readOnly: true });
    try {
      const report = await verifyStore(before, { publicKey });
      expect(report.findings).toEqual([]);
      expect(report.verified.events).toBe(60);
    } finally {
      await before.close();
    }
    const store = await openDuckDBStore(file);
    try {
      await store.write([rec(makeEvent()), rec(makeEvent())]);
      const report = await verifyStore(store, { publicKey });
      // The new batch is not signed yet; every event verifies.
      expect(report.findings.map((f) => f.kind)).toEqual(['chain']);
      expect(report.verified.events).toBe(62);
    } finally {
      await store.close();
    }
  });

  it('are computed again only for rows within the span the old entries name', async () => {
    const later = '2030-01-01T00:00:00.000000Z';
    const scanned = async (file: string) => {
      const store = await openDuckDBStore(file);
      try {
        await store.write([rec(makeEvent({ stageTimestamp: later, requestReceivedTimestamp: later }))]);
        const all = [];
        for await (const piece of (await store.integrity()).scan({})) all.push(...piece);
        const report = await verifyStore(store, { publicKey });
        expect(report.findings.map((f) => f.kind)).toEqual(['chain']);
        expect(report.verified.events).toBe(61);
        const newer = [];
        for await (const piece of (await store.integrity()).scan({ since: Date.UTC(2029, 0) * 1000 }))
          newer.push(...piece);
        return { all, newer };
      } finally {
        await store.close();
      }
    };
    const upgraded = await scanned(legacyStore('legacy-span.duckdb'));
    const newRow = Date.parse(later) * 1000;
    expect(upgraded.all.filter((e) => e.legacyHash !== undefined).map((e) => e.ts)).toEqual(
      upgraded.all.filter((e) => e.ts !== newRow).map((e) => e.ts),
    );
    expect(upgraded.all.filter((e) => e.ts !== newRow)).toHaveLength(60);
    expect(upgraded.newer.map((e) => e.legacyHash)).toEqual([undefined]);

    // A store an earlier build marked without a span: every row, as before.
    const file = legacyStore('legacy-marked.duckdb');
    await openDuckDBStore(file).then((s) => s.close());
    const db = await DuckDBInstance.create(file);
    const c = await db.connect();
    await c.run(`UPDATE kt_meta SET value = 'true' WHERE key = 'digest.row_hash_v1'`);
    c.closeSync();
    db.closeSync();
    const marked = await scanned(file);
    expect(marked.all.every((e) => e.legacyHash !== undefined)).toBe(true);
    expect(marked.newer.map((e) => e.legacyHash === undefined)).toEqual([false]);
  });

  it('still name an old row changed behind kubetrail’s back', async () => {
    const file = legacyStore('legacy-tampered.duckdb');
    const db = await DuckDBInstance.create(file);
    const c = await db.connect();
    const victim = (
      await c.runAndReadAll(`SELECT audit_id FROM events ORDER BY ts LIMIT 1 OFFSET 7`)
    ).getRows()[0]![0];
    await c.run(`UPDATE events SET verb = 'tampered' WHERE audit_id = ?`, [String(victim)]);
    c.closeSync();
    db.closeSync();
    const store = await openDuckDBStore(file);
    try {
      const report = await verifyStore(store, { publicKey });
      expect(report.findings.map((f) => [f.kind, f.auditID])).toEqual([['modified', String(victim)]]);
    } finally {
      await store.close();
    }
  });
});
