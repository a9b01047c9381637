// The ClickHouse store's tamper evidence on a real server: rows hash the same when written and when read
// back (Nullable or not, lists, floats, times, text), each write appends one chained batch record naming
// exactly the rows it added, retention appends its prune record, a crash between the rows and their
// record is healed by the replay (never mistaken for tampering), verifications are kept, and a read-only
// store refuses to write any of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/event.js';
import type { VerificationRecord } from '../../core/integrity.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { makeEvent, rec } from '../../test-support/events.js';
import { verifyStore } from '../../integrity/verify.js';
import { toRow } from '../columns.js';
import {
  chainOf,
  GENESIS,
  type DigestEntry,
  type DigestRecord,
  type IntegrityStorage,
} from '../integrity.js';
import { canonicalRow, ENTRY_COLUMNS, entryOf, type AnyRow } from './canonical.js';
import { insertRow } from './schema.js';
import { openClickHouseStore } from './store.js';

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(async () => ch?.stop());

const at = (min: number, sec = 0, us = 0) =>
  `2024-05-01T10:${String(min).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(us).padStart(6, '0')}Z`;

/** Events whose rows exercise every kind of column: Nullable and not, empty and full lists, odd floats. */
function variedEvents(): AuditEvent[] {
  return [
    makeEvent({ auditID: 'plain', requestReceivedTimestamp: at(1), stageTimestamp: at(1, 0, 123) }),
    makeEvent({
      auditID: 'odd-latency',
      requestReceivedTimestamp: at(2, 0, 1),
      stageTimestamp: at(2, 7, 345679),
      user: { username: 'ünïcødé 😀 "quoted" \\ / \u2028', groups: [] },
      sourceIPs: [],
      responseStatus: { code: 500, message: 'a\u0000b\nc\td' },
      annotations: { 'authorization.k8s.io/decision': 'forbid', k: '' },
    }),
    makeEvent({
      auditID: 'no-code',
      stage: 'RequestReceived',
      requestReceivedTimestamp: at(3),
      stageTimestamp: at(3),
      responseStatus: undefined,
      objectRef: undefined,
      userAgent: undefined,
      sourceIPs: ['10.0.0.1', '::1', ''],
      user: { username: 'system:serviceaccount:kube-system:x', groups: ['a', 'b', ''] },
    }),
  ];
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const hashes = (es: readonly DigestEntry[]) => es.map((e) => e.hash).sort();

/** The entries every committed record names, and the stored rows as entries. */
async function named(integ: IntegrityStorage): Promise<{ named: string[]; stored: string[] }> {
  const records = await all(integ.entries({}));
  const scanned = (await all(integ.scan({}))).flat();
  return { named: hashes(records.flatMap((r) => r.entries)), stored: hashes(scanned) };
}

describe('ClickHouse tamper evidence', () => {
  it('encodes a row read back exactly as it was written', async () => {
    const store = await openClickHouseStore(ch.location());
    try {
      const records = variedEvents().map((e) => rec(e, 'east'));
      const rows = records.map((r) => toRow(r));
      expect(rows.some((r) => r.latency_ms !== null && !Number.isInteger(r.latency_ms))).toBe(true);
      expect(rows.some((r) => r.code === null)).toBe(true);
      await store.write(records);
      const back = await store.select<AnyRow>(
        `SELECT ${ENTRY_COLUMNS} FROM ${store.location.database}.events`,
      );
      expect(back).toHaveLength(3);
      for (const row of rows) {
        const got = back.find((b) => b.audit_id === row.audit_id)!;
        expect(canonicalRow(got)).toBe(canonicalRow(row));
        expect(canonicalRow(insertRow(row))).toBe(canonicalRow(row));
      }
      // The rows hash as the writer's record says, and a changed value does not.
      const integ = await store.integrity();
      const n = await named(integ);
      expect(n.stored).toEqual(hashes(rows.map(entryOf)));
      expect(n.named).toEqual(n.stored);
      const changed = { ...rows[1]!, latency_ms: rows[1]!.latency_ms! + 1e-9 };
      expect(entryOf(changed).hash).not.toBe(entryOf(rows[1]!).hash);
    } finally {
      await store.close();
    }
  });

  it('appends one chained batch record per write that adds rows, and a prune record before retention', async () => {
    const loc = ch.location();
    const store = await openClickHouseStore(loc, { writer: 'w1' });
    const ev = (id: string, day: number) => {
      const t = `2024-05-0${day}T10:00:00.000000Z`;
      return rec(makeEvent({ auditID: id, requestReceivedTimestamp: t, stageTimestamp: t }));
    };
    try {
      const integ = await store.integrity();
      const told: [DigestRecord, number | undefined][] = [];
      integ.onRecord((r, es) => told.push([r, es?.length]));
      await store.write([ev('a', 1), ev('b', 2), ev('a', 1)]);
      await store.write([ev('a', 1)]); // nothing new: no record
      await store.write([ev('c', 3), ev('b', 2)]);
      expect(await store.deleteBefore(Date.UTC(2024, 4, 2) * 1000)).toBe(1);
      const records = await all(integ.records());
      expect(records.map((r) => [r.writer, r.seq, r.kind])).toEqual([
        ['w1', 1, 'batch'],
        ['w1', 2, 'batch'],
        ['w1', 3, 'prune'],
      ]);
      expect(records[0]).toMatchObject({
        count: 2,
        from: Date.UTC(2024, 4, 1, 10) * 1000,
        to: Date.UTC(2024, 4, 2, 10) * 1000,
      });
      expect(records[2]).toMatchObject({ before: Date.UTC(2024, 4, 2) * 1000, removed: 1 });
      let prev = GENESIS;
      for (const r of records) {
        const { chain, ...rest } = r;
        expect(chain).toBe(chainOf(prev, rest));
        prev = chain;
      }
      expect(told.map(([r, n]) => [r.seq, n])).toEqual([
        [1, 2],
        [2, 1],
        [3, undefined],
      ]);
      expect(await integ.head()).toEqual(records[2]);
      // Entries of a range: whole records whose span meets it.
      const day3 = await all(integ.entries({ since: Date.UTC(2024, 4, 3) * 1000 }));
      expect(day3.map((r) => [r.seq, r.entries.map((e) => e.auditID).sort()])).toEqual([[2, ['c']]]);
    } finally {
      await store.close();
    }
    // Reopened with the same writer identity, the chain goes on; another writer starts its own.
    const again = await openClickHouseStore(loc, { writer: 'w1' });
    const other = await openClickHouseStore(loc, { writer: 'w2' });
    try {
      await again.write([ev('d', 4)]);
      await other.write([ev('e', 5)]);
      const records = await all((await again.integrity()).records());
      expect(records.map((r) => [r.writer, r.seq])).toEqual([
        ['w1', 1],
        ['w1', 2],
        ['w1', 3],
        ['w1', 4],
        ['w2', 1],
      ]);
    } finally {
      await Promise.all([again.close(), other.close()]);
    }
  });

  it('names rows a crash left without a record when their batch is sent again', async () => {
    const store = await openClickHouseStore(ch.location());
    try {
      const records = variedEvents().map((e) => rec(e));
      const rows = records.map((r) => toRow(r));
      // A write that crashed after its rows (and part of its entries) but before its record.
      await store.client.insert({
        table: `${store.location.database}.events`,
        values: rows.slice(0, 2).map(insertRow),
        format: 'JSONEachRow',
      });
      await store.client.insert({
        table: `${store.location.database}.kt_digest_entries`,
        values: [
          {
            writer: (await store.integrity()).writer,
            seq: 1,
            chain: 'f'.repeat(64),
            hash: entryOf(rows[0]!).hash,
            cluster: rows[0]!.cluster,
            audit_id: rows[0]!.audit_id,
            stage: rows[0]!.stage,
            ts: rows[0]!.ts,
            content_hash: rows[0]!.content_hash,
          },
        ],
        format: 'JSONEachRow',
      });
      const integ = await store.integrity();
      let n = await named(integ);
      expect(n.named).toEqual([]);
      expect(n.stored).toHaveLength(2);
      // The replay: two rows found stored (adopted), one new.
      expect(await store.write(records)).toMatchObject({ stored: 1, duplicates: 2 });
      n = await named(integ);
      expect(n.named).toEqual(n.stored);
      expect(n.stored).toHaveLength(3);
      const recs = await all(integ.records());
      expect(recs.map((r) => [r.seq, r.kind, 'count' in r ? r.count : 0])).toEqual([[1, 'batch', 3]]);
      // Sent once more: everything is named already, no record.
      expect(await store.write(records)).toMatchObject({ stored: 0, duplicates: 3 });
      expect(await all(integ.records())).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('makes an edited digest row or entry a chain finding', async () => {
    const store = await openClickHouseStore(ch.location());
    const db = store.location.database;
    const waitMutations = async () => {
      for (let i = 0; i < 300; i++) {
        const [r] = await store.select<{ n: string }>(
          `SELECT count() AS n FROM system.mutations WHERE database = '${db}' AND is_done = 0`,
        );
        if (Number(r?.n) === 0) return;
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    try {
      await store.write(variedEvents().map((e) => rec(e)));
      await store.write([rec(makeEvent({ auditID: 'later' }))]);
      const chainFindings = async () =>
        (await verifyStore(store)).findings
          .filter((f) => f.kind === 'chain' && !f.detail.includes('not signed'))
          .map((f) => f.detail);
      expect(await chainFindings()).toEqual([]);
      await store.command(
        `ALTER TABLE ${db}.kt_digest_entries UPDATE hash = '${'0'.repeat(64)}' WHERE audit_id = 'plain'`,
      );
      await waitMutations();
      expect(await chainFindings()).toEqual([expect.stringContaining('entries of record 1 do not match')]);
      await store.command(
        `ALTER TABLE ${db}.kt_digests UPDATE body = replaceOne(body, '"count":1', '"count":2') WHERE seq = 2`,
      );
      await waitMutations();
      expect((await chainFindings()).some((d) => d.includes('record 2 does not follow'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('keeps verifications; a read-only store reads the evidence and refuses to write it', async () => {
    const loc = ch.location();
    const store = await openClickHouseStore(loc);
    const v = (at: string, ok: boolean): VerificationRecord => ({
      at,
      ok,
      durationMs: 12,
      by: 'cli',
      verified: { events: 3, from: '2024-05-01T10:00:00.000000Z', to: '2024-05-01T10:03:00.000000Z' },
      findings: ok
        ? []
        : [{ kind: 'deleted', auditID: 'x', time: '2024-05-01T10:00:00.000000Z', detail: '<b>gone</b>' }],
    });
    try {
      const integ = await store.integrity();
      expect(await integ.lastVerification()).toBeUndefined();
      await integ.saveVerification(v('2024-05-02T00:00:00Z', false));
      await new Promise((r) => setTimeout(r, 2));
      await integ.saveVerification(v('2024-05-03T00:00:00Z', true));
      expect(await integ.lastVerification()).toEqual(v('2024-05-03T00:00:00Z', true));
      await store.write([rec(makeEvent())]);
    } finally {
      await store.close();
    }
    const ro = await openClickHouseStore(loc, { readOnly: true });
    try {
      const integ = await ro.integrity();
      expect((await integ.lastVerification())?.ok).toBe(true);
      expect(await all(integ.records())).toHaveLength(1);
      await expect(integ.saveVerification(v('2024-05-04T00:00:00Z', true))).rejects.toMatchObject({
        code: 'KT_STORE_WRITE',
      });
      await expect(
        integ.appendSign({
          kind: 'sign',
          signedSeq: 1,
          signedChain: GENESIS,
          signedAt: 1,
          keyId: 'k',
          signature: 's',
        }),
      ).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
    } finally {
      await ro.close();
    }
  });
});
