// Sealing detection's tables again under another data key (`kubetrail key rotate`): in the store's own
// file (resealDetectionTables, in one transaction) and in a collector's local state file beside a
// ClickHouse store (resealDetectionStateFile), which is then rewritten into a fresh file so that the old
// values of the updated rows leave nothing in its free space (rewrite.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { KubetrailError } from '../../core/errors.js';
import { resealValue, type Reseal } from '../../crypto/sealed-records.js';
import { aad, sealedWith } from './detection-state.js';
import { rewriteDuckDBFile } from './rewrite.js';

/**
 * Seals detection's tables again with another key (`kubetrail key rotate`), in one transaction: alert
 * messages and keys, outbox errors and the engine's state, and kt_meta's `data_key`. Tables written
 * without a key (no `data_key`) are sealed for the first time. Returns the rows changed.
 */
export async function resealDetectionTables(conn: DuckDBConnection, r: Reseal): Promise<number> {
  const r0 = await conn.runAndReadAll(
    `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('kt_alerts', 'kt_alert_outbox', 'kt_detect_state', 'kt_meta')`,
  );
  if (Number(r0.getRows()[0]![0]) !== 4) return 0;
  const by = await sealedWith(conn);
  if (by !== undefined && by !== r.to.id && by !== r.from?.id)
    throw new KubetrailError(
      'KT_KEY_MISMATCH',
      `the detection state was sealed with key ${by}, not with the old key given (${r.from?.id ?? 'none'})`,
    );
  const plain = by === undefined;
  const what = 'the detection state';
  const rows = async (sql: string) =>
    (await conn.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
  let changed = 0;
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const a of await rows(`SELECT id, message, alert_key FROM kt_alerts`)) {
      const id = String(a.id);
      await conn.run(`UPDATE kt_alerts SET message = ?, alert_key = ? WHERE id = ?`, [
        resealValue(String(a.message), aad.message(id), r, plain, what),
        resealValue(String(a.alert_key), aad.key(id), r, plain, what),
        id,
      ]);
      changed++;
    }
    for (const o of await rows(
      `SELECT alert_id, output, last_error FROM kt_alert_outbox WHERE last_error IS NOT NULL`,
    )) {
      const [id, output] = [String(o.alert_id), String(o.output)];
      await conn.run(`UPDATE kt_alert_outbox SET last_error = ? WHERE alert_id = ? AND output = ?`, [
        resealValue(String(o.last_error), aad.error(id, output), r, plain, what),
        id,
        output,
      ]);
      changed++;
    }
    for (const st of await rows(`SELECT rule, state FROM kt_detect_state`)) {
      const rule = String(st.rule);
      await conn.run(`UPDATE kt_detect_state SET state = ? WHERE rule = ?`, [
        resealValue(String(st.state), aad.state(rule), r, plain, what),
        rule,
      ]);
      changed++;
    }
    await conn.run(`INSERT OR REPLACE INTO kt_meta (key, value) VALUES ('data_key', ?)`, [r.to.id]);
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return changed;
}

/** resealDetectionTables on a local state file (DATADIR/detect.duckdb); 0 when there is none. */
export async function resealDetectionStateFile(file: string, r: Reseal): Promise<number> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) return 0;
  const instance = await DuckDBInstance.create(abs, { memory_limit: '256MB', threads: '1' });
  const conn = await instance.connect();
  let changed: number;
  try {
    changed = await resealDetectionTables(conn, r);
    await conn.run('CHECKPOINT');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  await rewriteDuckDBFile(abs);
  return changed;
}
