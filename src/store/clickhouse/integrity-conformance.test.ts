// The shared tamper-evidence property suite (src/test-support/integrity-conformance.ts) on a real
// ClickHouse server, each trial in a database of its own, tampered with as someone with write access to
// the server could: ALTER TABLE … UPDATE of a field, ALTER TABLE … DELETE of events, an INSERT of a forged
// row (a copy under another auditID), DROP PARTITION of a whole day, and two digest rows edited into each
// other's place (the suite cuts the digest file short itself).
import { afterAll, beforeAll } from 'vitest';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import {
  runIntegrityConformance,
  type EventChange,
  type EventKey,
  type IntegrityTarget,
  type TamperOp,
} from '../../test-support/integrity-conformance.js';
import { ENTRY_COLUMNS } from './canonical.js';
import { DAY_US } from './schema.js';
import { openClickHouseStore, type ClickHouseStore } from './store.js';

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(async () => ch?.stop());

/** Columns of the sorting key: ALTER UPDATE refuses them, so they are changed by delete and insert. */
const KEY_COLUMNS = new Set(['cluster', 'ts', 'username', 'resource', 'content_hash']);

async function waitForMutations(admin: ClickHouseStore): Promise<void> {
  const db = sqlLiteral(admin.location.database);
  for (let i = 0; i < 500; i++) {
    const [r] = await admin.select<{ n: string }>(
      `SELECT count() AS n FROM system.mutations WHERE database = ${db} AND is_done = 0`,
    );
    if (Number(r?.n ?? 0) === 0) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('a mutation did not finish');
}

function clickhouseTarget(): Promise<IntegrityTarget> {
  const location = ch.location('kt_integrity');
  let admin: ClickHouseStore | undefined;
  /** A handle of its own for tampering, opened when first needed (the suite's store is closed by then). */
  const sql = async (): Promise<ClickHouseStore> => (admin ??= await openClickHouseStore(location));
  const where = (k: EventKey) =>
    `cluster = ${sqlLiteral(k.cluster)} AND audit_id = ${sqlLiteral(k.auditID)} AND stage = ${sqlLiteral(k.stage)}`;
  const rowOf = async (k: EventKey): Promise<Record<string, unknown>> => {
    const s = await sql();
    const [row] = await s.select<Record<string, unknown>>(
      `SELECT ${ENTRY_COLUMNS} FROM ${s.location.database}.events WHERE ${where(k)} LIMIT 1`,
    );
    if (!row) throw new Error(`no stored event ${JSON.stringify(k)}`);
    return row;
  };
  const insert = async (table: string, values: Record<string, unknown>[]) => {
    const s = await sql();
    await s.client.insert({ table: `${s.location.database}.${table}`, values, format: 'JSONEachRow' });
  };
  const alter = async (statement: string) => {
    const s = await sql();
    await s.command(`ALTER TABLE ${s.location.database}.${statement}`);
    await waitForMutations(s);
  };
  const updateEvent = async (k: EventKey, change: EventChange) => {
    if (KEY_COLUMNS.has(change.column)) {
      const row = await rowOf(k);
      await alter(`events DELETE WHERE ${where(k)}`);
      await insert('events', [{ ...row, [change.column]: change.value }]);
    } else {
      await alter(`events UPDATE ${change.column} = ${sqlLiteral(change.value)} WHERE ${where(k)}`);
    }
  };
  const swapRecords = async (writer: string, a: number, b: number) => {
    const s = await sql();
    const rows = await s.select<Record<string, unknown>>(
      `SELECT writer, seq, at, kind, chain, body FROM ${s.location.database}.kt_digests WHERE writer = ${sqlLiteral(writer)} AND seq IN (${sqlLiteral(a)}, ${sqlLiteral(b)})`,
    );
    const ra = rows.find((r) => Number(r.seq) === a);
    const rb = rows.find((r) => Number(r.seq) === b);
    if (!ra || !rb) throw new Error(`records ${a} and ${b} of ${writer} are not both stored`);
    await alter(
      `kt_digests DELETE WHERE writer = ${sqlLiteral(writer)} AND seq IN (${sqlLiteral(a)}, ${sqlLiteral(b)})`,
    );
    await insert('kt_digests', [
      { ...rb, seq: a },
      { ...ra, seq: b },
    ]);
  };
  return Promise.resolve({
    // One writer identity for the trial, as a collector keeps its own across restarts.
    open: (opts = {}) => openClickHouseStore(location, { writer: 'trial-writer', ...opts }),
    async tamper(ops: readonly TamperOp[]) {
      for (const op of ops) {
        switch (op.op) {
          case 'update':
            await updateEvent(op.key, op.change);
            break;
          case 'delete':
            await alter(`events DELETE WHERE ${where(op.key)}`);
            break;
          case 'insertCopy':
            await insert('events', [{ ...(await rowOf(op.of)), audit_id: op.auditID }]);
            break;
          case 'deleteRange':
            if (op.since % DAY_US === 0 && op.until - op.since === DAY_US)
              await alter(`events DROP PARTITION ${sqlLiteral(op.since / DAY_US)}`);
            else
              await alter(
                `events DELETE WHERE ts >= ${sqlLiteral(op.since)} AND ts < ${sqlLiteral(op.until)}`,
              );
            break;
          case 'swapRecords':
            await swapRecords(op.writer, op.a, op.b);
            break;
        }
      }
    },
    async dispose() {
      const s = await sql();
      await s.command(`DROP DATABASE IF EXISTS ${s.location.database}`);
      await s.close();
    },
  });
}

runIntegrityConformance('ClickHouse', clickhouseTarget, { runs: 6, timeoutMs: 120_000 });
