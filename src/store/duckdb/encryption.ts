// Encryption at rest on the DuckDB store (src/store/sealing.ts has the rules): the store's encryption
// state in kt_meta (the key id, and the new key while a rotation runs), the check made when the file is
// opened (before any migration, so a refused open changes nothing), and what `kubetrail key rotate`
// needs: the rows sealed under a key, in order, and removing them once re-sealed.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DataKey } from '../../crypto/cipher.js';
import {
  decideKey,
  META_KEY_ID,
  META_ROTATING_TO,
  META_ROTATION_STARTED,
  stateFromMeta,
  stateToMeta,
  type EncryptionState,
  type KeyDecision,
  type StoredEvent,
} from '../sealing.js';

async function tableExists(conn: DuckDBConnection, table: string): Promise<boolean> {
  const r = await conn.runAndReadAll(
    `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?`,
    [table],
  );
  return Number(r.getRows()[0]![0]) > 0;
}

/** The store's encryption state; plain when the file has no kt_meta table yet. */
export async function readEncryptionState(conn: DuckDBConnection): Promise<EncryptionState> {
  if (!(await tableExists(conn, 'kt_meta'))) return {};
  const rows = (
    await conn.runAndReadAll(`SELECT key, value FROM kt_meta WHERE key IN (?, ?, ?)`, [
      META_KEY_ID,
      META_ROTATING_TO,
      META_ROTATION_STARTED,
    ])
  ).getRows();
  return stateFromMeta((k) => {
    const v = rows.find((r) => r[0] === k)?.[1];
    return typeof v === 'string' ? v : undefined;
  });
}

/** Records the state, every key in one transaction. */
export async function writeEncryptionState(conn: DuckDBConnection, state: EncryptionState): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const [k, v] of stateToMeta(state)) {
      if (v === '') await conn.run(`DELETE FROM kt_meta WHERE key = ?`, [k]);
      else await conn.run(`INSERT OR REPLACE INTO kt_meta (key, value) VALUES (?, ?)`, [k, v]);
    }
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Checks the key against the file's state before anything is written (decideKey). */
export async function checkStoreKey(
  conn: DuckDBConnection,
  file: string,
  key: DataKey | undefined,
  rotateTo: DataKey | undefined,
  withoutKey = false,
): Promise<KeyDecision> {
  const state = await readEncryptionState(conn);
  let hasEvents = false;
  if (key && state.keyId === undefined && (await tableExists(conn, 'events'))) {
    const r = await conn.runAndReadAll(`SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)`);
    hasEvents = Number(r.getRows()[0]![0]) > 0;
  }
  return decideKey(state, key, { hasEvents, where: file, withoutKey, ...(rotateTo ? { rotateTo } : {}) });
}

/** SQL selecting rows sealed under `keyId`, or plain rows when it is undefined (no parameters). */
function sealedUnder(keyId: string | undefined): { sql: string; params: string[] } {
  // A key id is 16 hex digits; a plain event is JSON and starts with '{'.
  return keyId === undefined
    ? { sql: `NOT starts_with(event, 'kt1:')`, params: [] }
    : { sql: `starts_with(event, ?)`, params: [`kt1:${keyId}:`] };
}

/** Up to `limit` rows sealed under `keyId` (plain when undefined), in (ts, content_hash) order after `after`. */
export async function rowsSealedUnder(
  conn: DuckDBConnection,
  keyId: string | undefined,
  after: { t: number; hash: string } | undefined,
  limit: number,
): Promise<(StoredEvent & { t: number })[]> {
  const u = sealedUnder(keyId);
  const params: unknown[] = [...u.params];
  let keyset = '';
  if (after) {
    keyset = ` AND (ts > make_timestamp(?::BIGINT) OR (ts = make_timestamp(?::BIGINT) AND content_hash > ?))`;
    params.push(after.t, after.t, after.hash);
  }
  params.push(limit);
  const rows = (
    await conn.runAndReadAll(
      `SELECT cluster, CAST(event AS VARCHAR), epoch_us(ts), content_hash FROM events WHERE ${u.sql}${keyset} ORDER BY ts, content_hash LIMIT ?`,
      params as never,
    )
  ).getRows();
  return rows.map((r) => ({
    cluster: String(r[0]),
    event: String(r[1]),
    t: Number(r[2]),
    hash: String(r[3]),
  }));
}

/** Removes every row sealed under `keyId` (plain rows when undefined). */
/** Deletes the rows sealed under `keyId` (plain when undefined), in the caller's transaction; how many. */
export async function deleteSealedUnder(conn: DuckDBConnection, keyId: string | undefined): Promise<number> {
  const u = sealedUnder(keyId);
  const r = await conn.runAndReadAll(`DELETE FROM events WHERE ${u.sql}`, u.params);
  return Number(r.getRows()[0]?.[0] ?? 0);
}
