// Alerts in the ClickHouse store: the alerts every collector raised (kt_alerts) and their
// acknowledgements (kt_alert_acks), read and written by the API server and the `alerts` command. A
// collector on ClickHouse keeps its engine state and outbox in a local DuckDB file and delivers each new
// alert here through that outbox (src/store/clickhouse/detection.ts), so an alert reaches ClickHouse at
// least once.
//
// - kt_alerts is a ReplacingMergeTree keyed by the alert id: a delivery repeated after a crash or a
//   retry adds a second row with the same id, which a merge collapses; until then every read keeps one
//   row per id (`LIMIT 1 BY id`, accepted by 18.16 and by current servers alike).
// - It is partitioned by the UTC month of the alert time. An alert's id is a hash that includes its
//   time, so every copy of an alert lands in the same partition (replacing only works within one);
//   time-range reads skip whole months, and old alerts can be dropped a month at a time, as events are
//   dropped a day at a time. Monthly rather than daily: alerts are few, and few partitions keep merges
//   cheap.
// - kt_alert_acks keeps every acknowledgement written; the first one wins on reading
//   (min(acked_at), argMin(acked_by, acked_at) per alert), so two API servers acknowledging the same
//   alert at once agree on who did it first. An alert already acknowledged is not written again.
//
// Inserts go through the client as JSONEachRow (no SQL text to escape); every literal in a query goes
// through sqlLiteral. Strings are stored well-formed: a lone UTF-16 surrogate (which no API server emits,
// but a hand-made event may carry) becomes U+FFFD, since ClickHouse refuses the whole insert otherwise.
import type { ClickHouseClient } from '@clickhouse/client';
import { KubetrailError } from '../../core/errors.js';
import {
  severityRank,
  type Alert,
  type AlertAck,
  type AlertLog,
  type AlertQuery,
  type Severity,
} from '../../core/alert.js';
import { microsToTime, timeToMicros } from '../../core/time.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';

export const ALERTS_TABLE = 'kt_alerts';
export const ACKS_TABLE = 'kt_alert_acks';

/** The statements creating the alert tables (idempotent): migration 2. */
export function createAlertTablesSql(database: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${database}.${ALERTS_TABLE} (
  id String,
  rule String,
  severity String,
  severity_rank UInt8,
  ts Int64,
  cluster String,
  title String,
  message String,
  audit_ids Array(String),
  refs Array(String),
  alert_key String,
  event_count UInt32,
  raised_at Int64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000000), 'UTC'))
ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS ${database}.${ACKS_TABLE} (
  alert_id String,
  acked_at Int64,
  acked_by String
) ENGINE = MergeTree()
ORDER BY (alert_id, acked_at)`,
  ];
}

const COLUMNS = 'id, rule, severity, ts, cluster, title, message, audit_ids, refs, alert_key, event_count';
/** Ids per query when reading acknowledgements: keeps the SQL text well under max_query_size. */
const ID_CHUNK = 500;

interface AlertRow {
  id: string;
  rule: string;
  severity: string;
  ts: string | number;
  cluster: string;
  title: string;
  message: string;
  audit_ids: string[];
  refs: string[];
  alert_key: string;
  event_count: string | number;
}

/** The string with lone UTF-16 surrogates replaced by U+FFFD. */
const wellFormed = (s: string): string => s.toWellFormed();

function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    rule: r.rule,
    title: r.title,
    severity: r.severity as Severity,
    time: microsToTime(Number(r.ts)),
    cluster: r.cluster,
    auditIDs: r.audit_ids,
    message: r.message,
    references: r.refs,
    key: r.alert_key,
    count: Number(r.event_count),
  };
}

/** A literal for a string, or undefined when it cannot be one (a lone surrogate: nothing stored has it). */
function stringLiteral(s: string): string | undefined {
  try {
    return sqlLiteral(s);
  } catch {
    return undefined;
  }
}

/**
 * What the alert log needs of an open ClickHouseStore (src/store/clickhouse/store.ts), stated here so
 * that this module does not import the store, whose migrations import this module.
 */
export interface ClickHouseHandle {
  readonly client: ClickHouseClient;
  readonly location: { database: string; display: string };
  readonly readOnly: boolean;
}

export class ClickHouseAlertLog implements AlertLog {
  private readonly alerts: string;
  private readonly ackTable: string;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly location: { database: string; display: string },
    private readonly readOnly = false,
  ) {
    this.alerts = `${location.database}.${ALERTS_TABLE}`;
    this.ackTable = `${location.database}.${ACKS_TABLE}`;
  }

  /** The alert log of an open store (sharing its client: close the store, not the log). */
  static forStore(store: ClickHouseHandle): ClickHouseAlertLog {
    return new ClickHouseAlertLog(store.client, store.location, store.readOnly);
  }

  /**
   * Whether the store's database has the alert tables. A writer creates them when it opens the store
   * (migration 2); a read-only handle on a database no recent kubetrail has written may lack them.
   */
  static async hasTables(store: ClickHouseHandle): Promise<boolean> {
    const log = ClickHouseAlertLog.forStore(store);
    const [r] = await log.rows<{ n: string | number }>(
      `SELECT count() AS n FROM system.tables WHERE database = ${sqlLiteral(store.location.database)} AND name IN (${sqlLiteral(ALERTS_TABLE)}, ${sqlLiteral(ACKS_TABLE)})`,
    );
    return Number(r?.n ?? 0) === 2;
  }

  private async rows<T>(query: string): Promise<T[]> {
    try {
      const rs = await this.client.query({ query, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (err) {
      throw new KubetrailError(
        'KT_STORE_QUERY',
        `reading alerts from ${this.location.display} failed: ${String(err)}`,
        { where: { file: this.location.display }, cause: err },
      );
    }
  }

  private async insert(table: string, values: Record<string, unknown>[], what: string): Promise<void> {
    if (this.readOnly) {
      throw new KubetrailError('KT_STORE_WRITE', `${this.location.display} is open read-only`);
    }
    try {
      await this.client.insert({ table, values, format: 'JSONEachRow' });
    } catch (err) {
      throw new KubetrailError(
        'KT_STORE_WRITE',
        `writing ${what} to ${this.location.display} failed: ${String(err)}`,
        { where: { file: this.location.display }, cause: err },
      );
    }
  }

  /**
   * Stores alerts. Idempotent by id: an alert saved again is read once (and collapsed by the next merge).
   * Returns how many distinct alerts were written.
   */
  async save(alerts: readonly Alert[]): Promise<number> {
    const unique = [...new Map(alerts.map((a) => [a.id, a])).values()];
    if (unique.length === 0) return 0;
    const now = Date.now();
    await this.insert(
      this.alerts,
      unique.map((a) => ({
        id: wellFormed(a.id),
        rule: wellFormed(a.rule),
        severity: a.severity,
        severity_rank: severityRank(a.severity),
        ts: timeToMicros(a.time) ?? now * 1000,
        cluster: wellFormed(a.cluster),
        title: wellFormed(a.title),
        message: wellFormed(a.message),
        audit_ids: a.auditIDs.map(wellFormed),
        refs: a.references.map(wellFormed),
        alert_key: wellFormed(a.key),
        event_count: Math.max(0, Math.min(0xffffffff, Math.round(a.count))),
        raised_at: now,
      })),
      `${unique.length} alerts`,
    );
    return unique.length;
  }

  async list(q: AlertQuery = {}): Promise<Alert[]> {
    const where: string[] = [];
    if (q.since !== undefined) where.push(`ts >= ${sqlLiteral(Math.round(q.since))}`);
    if (q.until !== undefined) where.push(`ts < ${sqlLiteral(Math.round(q.until))}`);
    if (q.rules && q.rules.length > 0) {
      const rules = q.rules.map(stringLiteral).filter((r): r is string => r !== undefined);
      if (rules.length === 0) return [];
      where.push(`rule IN (${rules.join(', ')})`);
    }
    if (q.minSeverity) where.push(`severity_rank >= ${sqlLiteral(severityRank(q.minSeverity))}`);
    const limit = Math.max(1, Math.floor(q.limit ?? 1000));
    // The newest `limit` alerts, one row per id (copies not merged yet are skipped), oldest first.
    const rows = await this.rows<AlertRow>(
      `SELECT ${COLUMNS} FROM ${this.alerts}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id ASC LIMIT 1 BY id LIMIT ${sqlLiteral(limit)}`,
    );
    return rows
      .sort((a, b) => Number(a.ts) - Number(b.ts) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(toAlert);
  }

  async get(id: string): Promise<Alert | undefined> {
    const lit = stringLiteral(id);
    if (lit === undefined) return undefined;
    const [row] = await this.rows<AlertRow>(
      `SELECT ${COLUMNS} FROM ${this.alerts} WHERE id = ${lit} LIMIT 1`,
    );
    return row ? toAlert(row) : undefined;
  }

  async acknowledge(id: string, by: string, nowMs = Date.now()): Promise<boolean> {
    if (this.readOnly) {
      throw new KubetrailError('KT_STORE_WRITE', `${this.location.display} is open read-only`);
    }
    if (!(await this.get(id))) return false;
    // Already acknowledged: the first acknowledgement stands, nothing to write. Two writers racing past
    // this check both insert; reads keep the earliest.
    if ((await this.acks([id])).has(id)) return true;
    await this.insert(
      this.ackTable,
      [{ alert_id: id, acked_at: Math.round(nowMs), acked_by: wellFormed(by) }],
      'an acknowledgement',
    );
    return true;
  }

  async acks(ids: readonly string[]): Promise<Map<string, AlertAck>> {
    const out = new Map<string, AlertAck>();
    const literals = [...new Set(ids)].map(stringLiteral).filter((l): l is string => l !== undefined);
    for (let i = 0; i < literals.length; i += ID_CHUNK) {
      const chunk = literals.slice(i, i + ID_CHUNK);
      const rows = await this.rows<{ alert_id: string; first_at: string | number; first_by: string }>(
        `SELECT alert_id, min(acked_at) AS first_at, argMin(acked_by, acked_at) AS first_by FROM ${this.ackTable} WHERE alert_id IN (${chunk.join(', ')}) GROUP BY alert_id`,
      );
      for (const r of rows) {
        out.set(r.alert_id, { at: new Date(Number(r.first_at)).toISOString(), by: r.first_by });
      }
    }
    return out;
  }
}
