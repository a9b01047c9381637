// Encryption at rest on the ClickHouse store (src/store/sealing.ts has the rules): the store's encryption
// state in the kt_meta table (made by migration 3: the key id, and the new key while a rotation runs),
// the check made when a store is opened (before any migration, so a refused open changes nothing), and
// what `kubetrail key rotate` needs: the rows sealed under a key, in order, and removing them.
import type { ClickHouseClient } from '@clickhouse/client';
import type { DataKey } from '../../crypto/cipher.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
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
import type { Key } from '../scan.js';
import type { ClickHouseConnection } from './connection.js';
import { waitForMutations } from './retention.js';

async function rowsOf<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function tableExists(client: ClickHouseClient, database: string, table: string): Promise<boolean> {
  const [r] = await rowsOf<{ n: string | number }>(
    client,
    `SELECT count() AS n FROM system.tables WHERE database = ${sqlLiteral(database)} AND name = ${sqlLiteral(table)}`,
  );
  return Number(r?.n ?? 0) > 0;
}

/** The store's encryption state; plain when the meta table does not exist yet. */
export async function readEncryptionState(
  client: ClickHouseClient,
  database: string,
): Promise<EncryptionState> {
  if (!(await tableExists(client, database, 'kt_meta'))) return {};
  const keys = [META_KEY_ID, META_ROTATING_TO, META_ROTATION_STARTED].map((k) => sqlLiteral(k)).join(', ');
  const rows = await rowsOf<{ key: string; value: string }>(
    client,
    `SELECT key, argMax(value, version) AS value FROM ${database}.kt_meta WHERE key IN (${keys}) GROUP BY key`,
  );
  return stateFromMeta((k) => rows.find((r) => r.key === k)?.value);
}

/** Records the state (an absent value is written as '', which reads as absent). */
export async function writeEncryptionState(
  client: ClickHouseClient,
  database: string,
  state: EncryptionState,
): Promise<void> {
  const version = Date.now() * 1000 + (process.hrtime()[1] % 1000);
  await client.insert({
    table: `${database}.kt_meta`,
    values: stateToMeta(state).map(([key, value]) => ({ key, value, version })),
    format: 'JSONEachRow',
  });
}

/**
 * Checks the key against the store's state before anything is written (src/store/sealing.ts, decideKey).
 * A store that does not exist yet is plain and empty.
 */
export async function checkStoreKey(
  client: ClickHouseClient,
  database: string,
  where: string,
  key: DataKey | undefined,
  rotateTo: DataKey | undefined,
  withoutKey = false,
): Promise<KeyDecision> {
  const state = await readEncryptionState(client, database);
  let hasEvents = false;
  if (key && state.keyId === undefined && (await tableExists(client, database, 'events'))) {
    const [r] = await rowsOf<{ n: string | number }>(
      client,
      `SELECT count() AS n FROM (SELECT 1 FROM ${database}.events LIMIT 1)`,
    );
    hasEvents = Number(r?.n ?? 0) > 0;
  }
  return decideKey(state, key, { hasEvents, where, withoutKey, ...(rotateTo ? { rotateTo } : {}) });
}

/** SQL selecting rows sealed under `keyId`, or plain rows when it is undefined. */
export function sealedUnder(keyId: string | undefined): string {
  // A key id is 16 hex digits (no LIKE wildcard); a plain event is JSON and starts with '{'.
  return keyId === undefined ? `event NOT LIKE 'kt1:%'` : `event LIKE ${sqlLiteral(`kt1:${keyId}:%`)}`;
}

/** Up to `limit` rows sealed under `keyId` (plain when undefined), in (ts, content_hash) order after `after`. */
export async function rowsSealedUnder(
  conn: ClickHouseConnection,
  keyId: string | undefined,
  after: Key | undefined,
  limit: number,
): Promise<(StoredEvent & Key)[]> {
  const keyset = after
    ? ` AND (ts > ${sqlLiteral(after.t)} OR (ts = ${sqlLiteral(after.t)} AND content_hash > ${sqlLiteral(after.hash)}))`
    : '';
  const rows = await conn.rows<{ cluster: string; event: string; ts: string | number; content_hash: string }>(
    `SELECT cluster, event, ts, content_hash FROM ${conn.events} WHERE ${sealedUnder(keyId)}${keyset} ORDER BY ts, content_hash LIMIT ${sqlLiteral(limit)}`,
  );
  return rows.map((r) => ({ cluster: r.cluster, event: r.event, hash: r.content_hash, t: Number(r.ts) }));
}

/** Removes every row sealed under `keyId` (plain rows when undefined), waiting for the mutation. */
export async function deleteSealedUnder(
  conn: ClickHouseConnection,
  keyId: string | undefined,
  beforeDelete: (removed: number) => Promise<void> = async () => undefined,
): Promise<void> {
  const [r] = await conn.rows<{ n: string | number }>(
    `SELECT count() AS n FROM ${conn.events} WHERE ${sealedUnder(keyId)}`,
  );
  // The record saying so goes first: a crash before the deletion leaves rows the rerun removes.
  await beforeDelete(Number(r?.n ?? 0));
  await conn.command(`ALTER TABLE ${conn.events} DELETE WHERE ${sealedUnder(keyId)}`);
  await waitForMutations(conn);
}
