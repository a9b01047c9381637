// Detection's tables in a DuckDB file, the DuckDB side of DetectionState (src/store/detection.ts): the
// alerts raised (kt_alerts, one row per alert, idempotent by alert id) and their acknowledgements
// (kt_alert_acks, the first one wins), the outbox of deliveries still owed to outputs (kt_alert_outbox)
// and the engine's window and first-seen state (kt_detect_state). The file is the store itself for a
// DuckDB store, and a local state file (a collector's DATADIR/detect.duckdb, the CLI's --state) for a
// store that keeps no detection state of its own (ClickHouse, src/store/clickhouse/detection.ts). The
// tables are created by an idempotent migration of their own, so stores written before detection
// existed work. Every value is a bound parameter.
//
// With a data key, what carries event text is sealed (src/crypto/sealed-records.ts): an alert's message
// and key, the outbox's last error and the engine's state (keyed by user names, addresses, user
// agents…); ids, rules, severities, times and counts stay in clear for the queries. kt_meta's
// `data_key` names the key the tables are sealed with: opening them without a key, or with another,
// fails with KT_KEY_REQUIRED or KT_KEY_MISMATCH before anything is read or written.
//
// Over 400 lines but one class implementing both DetectionState and StoredAlertLog over the same four
// tables and their sealing; re-sealing under a new key is detection-reseal.ts.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { KubetrailError } from '../../core/errors.js';
import type { DataKey } from '../../crypto/cipher.js';
import { keyRequired, openValue, sealValue } from '../../crypto/sealed-records.js';
import { microsToTime, timeToMicros } from '../../core/time.js';
import {
  SEVERITIES,
  severityRank,
  type Alert,
  type AlertAck,
  type AlertQuery,
  type Severity,
} from '../../core/alert.js';
import type {
  Delivery,
  DetectionSnapshot,
  DetectionState,
  OutboxCounts,
  OutboxOutput,
  StoredAlertLog,
} from '../detection.js';
import { isLockError } from './lock.js';

export const DETECT_SCHEMA_VERSION = 1;

const MIGRATION = [
  `CREATE TABLE IF NOT EXISTS kt_alerts (
     id VARCHAR PRIMARY KEY,
     rule VARCHAR NOT NULL,
     severity VARCHAR NOT NULL,
     severity_rank INTEGER NOT NULL,
     ts BIGINT NOT NULL,
     cluster VARCHAR,
     title VARCHAR NOT NULL,
     message VARCHAR NOT NULL,
     audit_ids VARCHAR NOT NULL,
     refs VARCHAR NOT NULL,
     alert_key VARCHAR NOT NULL,
     event_count INTEGER NOT NULL,
     raised_at BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS kt_alerts_ts ON kt_alerts (ts)`,
  `CREATE TABLE IF NOT EXISTS kt_alert_outbox (
     alert_id VARCHAR NOT NULL,
     output VARCHAR NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at BIGINT NOT NULL,
     last_error VARCHAR,
     state VARCHAR NOT NULL DEFAULT 'pending',
     created_at BIGINT NOT NULL,
     PRIMARY KEY (alert_id, output))`,
  `CREATE TABLE IF NOT EXISTS kt_detect_state (rule VARCHAR PRIMARY KEY, state VARCHAR NOT NULL, updated_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS kt_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS kt_alert_acks (alert_id VARCHAR PRIMARY KEY, acked_at BIGINT NOT NULL, acked_by VARCHAR NOT NULL)`,
];

type Row = Record<string, unknown>;

/** The AADs of the sealed values: each names its column and row. */
export const aad = {
  message: (id: string) => `kubetrail alert message ${id}`,
  key: (id: string) => `kubetrail alert key ${id}`,
  error: (alertId: string, output: string) => `kubetrail outbox error ${alertId} ${output}`,
  state: (rule: string) => `kubetrail detect state ${rule}`,
};

function rowToAlert(r: Row, key: DataKey | undefined): Alert {
  const id = String(r.id);
  return {
    id,
    rule: String(r.rule),
    title: String(r.title),
    severity: String(r.severity) as Severity,
    time: microsToTime(Number(r.ts)),
    cluster: String(r.cluster ?? ''),
    auditIDs: JSON.parse(String(r.audit_ids)) as string[],
    message: openValue(String(r.message), key, aad.message(id)),
    references: JSON.parse(String(r.refs)) as string[],
    key: openValue(String(r.alert_key), key, aad.key(id)),
    count: Number(r.event_count),
  };
}

/** The id of the key detection's tables are sealed with (kt_meta `data_key`), if any. */
export async function sealedWith(conn: DuckDBConnection): Promise<string | undefined> {
  const r = await conn.runAndReadAll(
    `SELECT count(*) FROM information_schema.tables WHERE table_name = 'kt_meta'`,
  );
  if (Number(r.getRows()[0]![0]) === 0) return undefined;
  const v = await conn.runAndReadAll(`SELECT value FROM kt_meta WHERE key = 'data_key'`);
  const row = v.getRows()[0];
  return row ? String(row[0]) : undefined;
}

/** Refuses tables sealed with a key other than the one given (or sealed, when none is given). */
function checkKey(sealedBy: string | undefined, key: DataKey | undefined): void {
  if (sealedBy === undefined) return;
  if (!key) throw keyRequired('the detection state (alerts, outbox, engine state)');
  if (key.id !== sealedBy)
    throw new KubetrailError(
      'KT_KEY_MISMATCH',
      `the detection state was sealed with key ${sealedBy}, and the key given is ${key.id}`,
    );
}

export interface DetectionStateOptions {
  /** The data key: alert messages and keys, outbox errors and the engine's state are sealed with it. */
  key?: DataKey;
}

const ALERT_COLUMNS =
  'id, rule, severity, ts, cluster, title, message, audit_ids, refs, alert_key, event_count';

export class DuckDBDetectionState implements DetectionState, StoredAlertLog {
  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly key: DataKey | undefined,
  ) {}

  /** Opens detection's tables on a store connection, creating them when absent. */
  static async open(conn: DuckDBConnection, opts: DetectionStateOptions = {}): Promise<DuckDBDetectionState> {
    checkKey(await sealedWith(conn), opts.key);
    try {
      for (const s of MIGRATION) await conn.run(s);
      await conn.run(`INSERT OR REPLACE INTO kt_meta (key, value) VALUES ('detect_schema', ?)`, [
        String(DETECT_SCHEMA_VERSION),
      ]);
      if (opts.key)
        await conn.run(`INSERT OR REPLACE INTO kt_meta (key, value) VALUES ('data_key', ?)`, [opts.key.id]);
    } catch (err) {
      throw new KubetrailError('KT_STORE_SCHEMA', `cannot prepare the alert tables: ${String(err)}`, {
        cause: err,
      });
    }
    return new DuckDBDetectionState(conn, opts.key);
  }

  /** Attaches to existing tables without creating anything (read-only stores); undefined when absent. */
  static async openExisting(
    conn: DuckDBConnection,
    opts: DetectionStateOptions = {},
  ): Promise<DuckDBDetectionState | undefined> {
    const r = await conn.runAndReadAll(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('kt_alerts', 'kt_alert_outbox', 'kt_detect_state')`,
    );
    if (Number(r.getRows()[0]![0]) !== 3) return undefined;
    checkKey(await sealedWith(conn), opts.key);
    return new DuckDBDetectionState(conn, opts.key);
  }

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    const r = await this.conn.runAndReadAll(sql, params as never);
    return r.getRowObjects() as Row[];
  }

  /**
   * Stores alerts (an alert already stored is skipped) and queues a delivery of each new alert to each
   * output that takes its severity. Returns the alerts that were new.
   */
  async save(alerts: readonly Alert[], outputs: readonly OutboxOutput[] = []): Promise<Alert[]> {
    if (alerts.length === 0) return [];
    const unique = [...new Map(alerts.map((a) => [a.id, a])).values()];
    const fresh: Alert[] = [];
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const have = await this.rows(
        `SELECT id FROM kt_alerts WHERE id IN (${chunk.map(() => '?').join(',')})`,
        chunk.map((a) => a.id),
      );
      const known = new Set(have.map((r) => String(r.id)));
      fresh.push(...chunk.filter((a) => !known.has(a.id)));
    }
    if (fresh.length === 0) return [];
    const now = Date.now();
    for (let i = 0; i < fresh.length; i += 200) {
      const chunk = fresh.slice(i, i + 200);
      const params: unknown[] = [];
      for (const a of chunk) {
        params.push(
          a.id,
          a.rule,
          a.severity,
          severityRank(a.severity),
          timeToMicros(a.time) ?? now * 1000,
          a.cluster,
          a.title,
          sealValue(a.message, this.key, aad.message(a.id)),
          JSON.stringify(a.auditIDs),
          JSON.stringify(a.references),
          sealValue(a.key, this.key, aad.key(a.id)),
          a.count,
          now,
        );
      }
      await this.conn.run(
        `INSERT OR IGNORE INTO kt_alerts (${ALERT_COLUMNS}, severity_rank, raised_at)
         SELECT c0, c1, c2, c4::BIGINT, c5, c6, c7, c8, c9, c10, c11::INTEGER, c3::INTEGER, c12::BIGINT
         FROM (VALUES ${chunk.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}) t(c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12)`,
        params as never,
      );
      const deliveries: unknown[] = [];
      for (const a of chunk) {
        for (const o of outputs) {
          if (severityRank(a.severity) >= severityRank(o.minSeverity))
            deliveries.push(a.id, o.name, now, now);
        }
      }
      if (deliveries.length > 0) {
        await this.conn.run(
          `INSERT OR IGNORE INTO kt_alert_outbox (alert_id, output, next_at, created_at)
           SELECT c0, c1, c2::BIGINT, c3::BIGINT FROM (VALUES ${Array.from({ length: deliveries.length / 4 }, () => '(?,?,?,?)').join(',')}) t(c0,c1,c2,c3)`,
          deliveries as never,
        );
      }
    }
    return fresh;
  }

  /** Stored alerts, oldest first. */
  async list(q: AlertQuery = {}): Promise<Alert[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.since !== undefined) {
      where.push('ts >= ?::BIGINT');
      params.push(q.since);
    }
    if (q.until !== undefined) {
      where.push('ts < ?::BIGINT');
      params.push(q.until);
    }
    if (q.rules && q.rules.length > 0) {
      where.push(`rule IN (${q.rules.map(() => '?').join(',')})`);
      params.push(...q.rules);
    }
    if (q.minSeverity) {
      where.push('severity_rank >= ?::INTEGER');
      params.push(SEVERITIES.indexOf(q.minSeverity));
    }
    const limit = q.limit ?? 1000;
    const rows = await this.rows(
      `SELECT * FROM (SELECT ${ALERT_COLUMNS} FROM kt_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ts DESC, id LIMIT ${Math.max(1, Math.floor(limit))}) ORDER BY ts, id`,
      params,
    );
    return rows.map((r) => rowToAlert(r, this.key));
  }

  /** One stored alert by id. */
  async get(id: string): Promise<Alert | undefined> {
    const rows = await this.rows(`SELECT ${ALERT_COLUMNS} FROM kt_alerts WHERE id = ?`, [id]);
    return rows[0] ? rowToAlert(rows[0], this.key) : undefined;
  }

  /** Marks an alert acknowledged (again: keeps the first acknowledgement); false when no alert has the id. */
  async acknowledge(id: string, by: string, nowMs = Date.now()): Promise<boolean> {
    if (!(await this.get(id))) return false;
    await this.conn.run(
      `CREATE TABLE IF NOT EXISTS kt_alert_acks (alert_id VARCHAR PRIMARY KEY, acked_at BIGINT NOT NULL, acked_by VARCHAR NOT NULL)`,
    );
    await this.conn.run(
      `INSERT OR IGNORE INTO kt_alert_acks (alert_id, acked_at, acked_by) VALUES (?, ?::BIGINT, ?)`,
      [id, nowMs, by],
    );
    return true;
  }

  /** Acknowledgements of the given alerts (absent: not acknowledged). */
  async acks(ids: readonly string[]): Promise<Map<string, AlertAck>> {
    const out = new Map<string, AlertAck>();
    const exists = await this.rows(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'kt_alert_acks'`,
    );
    if (Number(exists[0]?.n ?? 0) === 0) return out;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.rows(
        `SELECT alert_id, acked_at, acked_by FROM kt_alert_acks WHERE alert_id IN (${chunk.map(() => '?').join(',')})`,
        chunk as unknown[],
      );
      for (const r of rows)
        out.set(String(r.alert_id), {
          at: new Date(Number(r.acked_at)).toISOString(),
          by: String(r.acked_by),
        });
    }
    return out;
  }

  // ------------------------------------------------------------ outbox

  /** Deliveries due now (pending, next attempt reached), oldest first. */
  async due(nowMs: number, limit = 200): Promise<Delivery[]> {
    const rows = await this.rows(
      `SELECT o.output, o.attempts, ${ALERT_COLUMNS.split(', ')
        .map((c) => `a.${c}`)
        .join(', ')}
       FROM kt_alert_outbox o JOIN kt_alerts a ON a.id = o.alert_id
       WHERE o.state = 'pending' AND o.next_at <= ?::BIGINT ORDER BY o.created_at, a.ts LIMIT ${limit}`,
      [nowMs],
    );
    return rows.map((r) => ({
      alert: rowToAlert(r, this.key),
      output: String(r.output),
      attempts: Number(r.attempts),
    }));
  }

  /** When the next pending delivery becomes due (epoch ms), if any is pending. */
  async nextDue(outputs?: readonly string[]): Promise<number | undefined> {
    const filter = outputs ? ` AND output IN (${outputs.map(() => '?').join(',') || "''"})` : '';
    const rows = await this.rows(
      `SELECT min(next_at) AS n FROM kt_alert_outbox WHERE state = 'pending'${filter}`,
      outputs ? [...outputs] : [],
    );
    const n = rows[0]?.n;
    return n === null || n === undefined ? undefined : Number(n);
  }

  async delivered(items: readonly { alertId: string; output: string }[]): Promise<void> {
    for (const it of items) {
      await this.conn.run(`DELETE FROM kt_alert_outbox WHERE alert_id = ? AND output = ?`, [
        it.alertId,
        it.output,
      ]);
    }
  }

  async retryLater(
    items: readonly { alertId: string; output: string; attempts: number }[],
    nextAtMs: number,
    error: string,
    giveUp: boolean,
  ): Promise<void> {
    for (const it of items) {
      await this.conn.run(
        `UPDATE kt_alert_outbox SET attempts = ?::INTEGER, next_at = ?::BIGINT, last_error = ?, state = ? WHERE alert_id = ? AND output = ?`,
        [
          it.attempts,
          nextAtMs,
          sealValue(error.slice(0, 500), this.key, aad.error(it.alertId, it.output)),
          giveUp ? 'failed' : 'pending',
          it.alertId,
          it.output,
        ],
      );
    }
  }

  async outboxCounts(): Promise<OutboxCounts> {
    const rows = await this.rows(`SELECT state, count(*) AS n FROM kt_alert_outbox GROUP BY state`);
    const out = { pending: 0, failed: 0 };
    for (const r of rows) {
      if (r.state === 'pending') out.pending = Number(r.n);
      if (r.state === 'failed') out.failed = Number(r.n);
    }
    return out;
  }

  // ------------------------------------------------------------ engine state

  async saveState(snap: DetectionSnapshot): Promise<void> {
    const now = Date.now();
    const entries: [string, string][] = Object.entries(snap.rules).map(([rule, s]) => [
      rule,
      sealValue(JSON.stringify(s), this.key, aad.state(rule)),
    ]);
    entries.push(['', sealValue(JSON.stringify({ lastTime: snap.lastTime ?? 0 }), this.key, aad.state(''))]);
    for (let i = 0; i < entries.length; i += 100) {
      const chunk = entries.slice(i, i + 100);
      await this.conn.run(
        `INSERT OR REPLACE INTO kt_detect_state (rule, state, updated_at)
         SELECT c0, c1, c2::BIGINT FROM (VALUES ${chunk.map(() => '(?,?,?)').join(',')}) t(c0,c1,c2)`,
        chunk.flatMap(([rule, state]) => [rule, state, now]) as never,
      );
    }
  }

  async loadState(): Promise<DetectionSnapshot | undefined> {
    const rows = await this.rows(`SELECT rule, state FROM kt_detect_state`);
    if (rows.length === 0) return undefined;
    const snap: DetectionSnapshot = { rules: {} };
    for (const r of rows) {
      const state = JSON.parse(openValue(String(r.state), this.key, aad.state(String(r.rule)))) as Record<
        string,
        unknown
      >;
      if (r.rule === '') snap.lastTime = Number(state.lastTime ?? 0);
      else snap.rules[String(r.rule)] = state;
    }
    return snap;
  }
}

/**
 * Opens (creating it when absent) a local DuckDB file holding only detection's tables, for a store that
 * keeps no detection state of its own. Each process needs a file of its own: DuckDB locks it.
 */
export async function openDetectionStateFile(
  file: string,
  opts: DetectionStateOptions = {},
): Promise<{ state: DuckDBDetectionState; close(): Promise<void> }> {
  const abs = path.resolve(file);
  let instance: DuckDBInstance;
  try {
    mkdirSync(path.dirname(abs), { recursive: true });
    instance = await DuckDBInstance.create(abs, { memory_limit: '256MB', threads: '1' });
  } catch (err) {
    if (isLockError(err)) {
      throw new KubetrailError('KT_STORE_OPEN', `${abs} is in use by another kubetrail process`, {
        where: { file: abs },
        hint: 'each collector and each detecting import keeps its detection state in a file of its own: give another data directory or --state',
        cause: err,
      });
    }
    throw new KubetrailError('KT_STORE_OPEN', `cannot open the detection state ${abs}: ${String(err)}`, {
      where: { file: abs },
      cause: err,
    });
  }
  const conn = await instance.connect();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await conn.run('CHECKPOINT').catch(() => undefined);
    conn.closeSync();
    instance.closeSync();
  };
  try {
    return { state: await DuckDBDetectionState.open(conn, opts), close };
  } catch (err) {
    await close();
    throw err;
  }
}
