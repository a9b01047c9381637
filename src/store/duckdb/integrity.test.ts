// Tamper evidence on the DuckDB store: the shared suite (src/test-support/integrity-conformance.ts), with
// the file changed behind kubetrail's back through @duckdb/node-api, and what is particular to DuckDB:
// the digest rows are written in the write's own transaction, and a file from before digests verifies
// only once it has been opened for writing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
