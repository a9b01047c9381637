// The embedded DuckDB store: one file, typed columns plus the whole event, idempotent writes, filtered
// queries compiled from the filter language with bound parameters, aggregations and object history.
//
// Writes: rows go through an Appender into a connection-local staging table, then one set-based INSERT
// adds those whose content hash is not yet stored within the batch's time range (identical content means
// identical timestamps, so the range filter lets DuckDB skip the rest of the table by its zone maps).
//
// Concurrency: one writer process. DuckDB locks the file, so a second process cannot open it, even to
// read, while a writer holds it; that is reported as KT_STORE_OPEN naming the likely holder.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, listValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import { resolveField, suggestField, type ResolvedField } from '../../fields/catalog.js';
import { compileDuckDB, jsonPointer } from '../../query/index.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { EVENT_COLUMNS, toRow, type EventRow } from '../columns.js';
import type {
  EventPage,
  EventQuery,
  HistogramBucket,
  HistogramQuery,
  ObjectKey,
  StatsQuery,
  StatsRow,
  Store,
  TimeRange,
  WriteOptions,
  WriteResult,
} from '../store.js';
import { createStagingTableSql, STAGING_SELECT } from './schema.js';
import { migrate } from './migrations.js';
import { decodeCursor, encodeCursor, Mutex } from '../paging.js';

export interface DuckDBStoreOptions {
  readOnly?: boolean;
  /** DuckDB memory limit, e.g. '1GB'. Bounded by default so imports keep a flat footprint. */
  memoryLimit?: string;
  threads?: number;
  /**
   * WAL size that triggers a checkpoint (DuckDB's default is 16MB). Each checkpoint rewrites the newest
   * row groups; with ~1 KB rows a larger WAL means far fewer rewrites (a 1M-event import: 114 s at
   * 16MB, 82 s at 256MB, for about 100 MB more peak memory).
   */
  checkpointThreshold?: string;
}

const SELECT_RECORD = `cluster, CAST(event AS VARCHAR) AS event, epoch_us(ts) AS t, content_hash`;

function isLockError(err: unknown): boolean {
  return /lock|Conflicting lock|already open/i.test(String(err));
}

/** Encodes a keyset cursor (time, hash) opaquely. */

export class DuckDBStore implements Store {
  readonly kind = 'duckdb';
  private readonly writeLock = new Mutex();
  private stagingReady = false;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly instance: DuckDBInstance,
    /** The writer connection; other components may create their own tables through it. */
    readonly connection: DuckDBConnection,
    readonly readOnly: boolean,
  ) {}

  static async open(file: string, opts: DuckDBStoreOptions = {}): Promise<DuckDBStore> {
    const memory = file === ':memory:';
    if (!memory && !opts.readOnly) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, {
        ...(opts.readOnly ? { access_mode: 'READ_ONLY' } : {}),
        memory_limit: opts.memoryLimit ?? '512MB',
        threads: String(opts.threads ?? 2),
        checkpoint_threshold: opts.checkpointThreshold ?? '256MB',
      });
    } catch (err) {
      if (isLockError(err)) {
        throw new KubetrailError('KT_STORE_OPEN', `${file} is in use by another kubetrail process`, {
          where: { file },
          hint: 'a running `kubetrail serve` or import holds the store; query through the server, or stop it first',
          cause: err,
        });
      }
      if (opts.readOnly && /does not exist|No such file|Cannot open database/i.test(String(err))) {
        throw new KubetrailError('KT_STORE_OPEN', `no store at ${file}`, {
          where: { file },
          hint: 'import events first (`kubetrail import FILE`) or point --db / KUBETRAIL_DB at a store',
          cause: err,
        });
      }
      throw new KubetrailError('KT_STORE_OPEN', `cannot open ${file}: ${String(err)}`, {
        where: { file },
        cause: err,
      });
    }
    const conn = await instance.connect();
    if (!opts.readOnly) await migrate(conn, file);
    return new DuckDBStore(file, instance, conn, Boolean(opts.readOnly));
  }

  // ---------------------------------------------------------------- writing

  async write(records: readonly EventRecord[], opts: WriteOptions = {}): Promise<WriteResult> {
    return this.writeRows(
      records.map((r) => toRow(r)),
      opts,
    );
  }

  async writeRows(rows: readonly EventRow[], opts: WriteOptions = {}): Promise<WriteResult> {
    if (rows.length === 0)
      return opts.reportNew ? { stored: 0, duplicates: 0, fresh: [] } : { stored: 0, duplicates: 0 };
    if (this.readOnly) throw new KubetrailError('KT_STORE_WRITE', `${this.file} is open read-only`);
    return this.writeLock.run(async () => {
      const conn = this.connection;
      if (!this.stagingReady) {
        await conn.run(createStagingTableSql('kt_staging'));
        this.stagingReady = true;
      }
      // Duplicates inside the batch are dropped here; duplicates of stored events by the INSERT below.
      const seen = new Set<string>();
      const unique: EventRow[] = [];
      /** Position in `rows` of each unique row. */
      const at: number[] = [];
      let minTs = Number.POSITIVE_INFINITY;
      let maxTs = Number.NEGATIVE_INFINITY;
      for (const [i, r] of rows.entries()) {
        if (seen.has(r.content_hash)) continue;
        seen.add(r.content_hash);
        unique.push(r);
        at.push(i);
        if (r.ts < minTs) minTs = r.ts;
        if (r.ts > maxTs) maxTs = r.ts;
      }
      try {
        await conn.run('BEGIN TRANSACTION');
        const appender = await conn.createAppender('kt_staging', 'main', 'temp');
        // Appended in time order, so that the plain INSERT below keeps it (DuckDB preserves insertion
        // order) without a sort of the wide rows: each row group then spans a narrow time range.
        appendRows(appender, inTimeOrder(unique));
        appender.closeSync();
        // When nothing is stored in the batch's time range (the usual case for an import in time
        // order), no stored event can be a duplicate and the anti-join is skipped.
        const range = [minTs, maxTs];
        const overlap = await conn.runAndReadAll(
          `SELECT count(*) FROM (SELECT 1 FROM events WHERE ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) LIMIT 1)`,
          range,
        );
        const anyStored = Number(overlap.getRows()[0]![0]) !== 0;
        // Asked which rows are new, and some may not be: the INSERT returns the hashes it added.
        const returning = opts.reportNew && anyStored ? ' RETURNING content_hash' : '';
        const r = !anyStored
          ? await conn.runAndReadAll(`INSERT INTO events SELECT ${STAGING_SELECT} FROM kt_staging s`)
          : await conn.runAndReadAll(
              `INSERT INTO events SELECT ${STAGING_SELECT} FROM kt_staging s WHERE NOT EXISTS (
                   SELECT 1 FROM events e
                   WHERE e.ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) AND e.content_hash = s.content_hash)
                 ORDER BY s.ts${returning}`,
              range,
            );
        await conn.run('DELETE FROM kt_staging');
        await conn.run('COMMIT');
        if (returning) {
          const added = new Set(r.getRows().map((row) => String(row[0])));
          const fresh = at.filter((_, k) => added.has(unique[k]!.content_hash));
          return { stored: fresh.length, duplicates: rows.length - fresh.length, fresh };
        }
        const stored = Number(r.getRows()[0]?.[0] ?? 0);
        return opts.reportNew
          ? { stored, duplicates: rows.length - stored, fresh: at }
          : { stored, duplicates: rows.length - stored };
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw new KubetrailError(
          'KT_STORE_WRITE',
          `writing ${rows.length} events to ${this.file} failed: ${String(err)}`,
          {
            where: { file: this.file },
            cause: err,
          },
        );
      }
    });
  }

  // ---------------------------------------------------------------- reading

  private async read<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new KubetrailError('KT_STORE_QUERY', 'the store is closed');
    const conn = await this.instance.connect();
    try {
      return await fn(conn);
    } catch (err) {
      if (err instanceof KubetrailError) throw err;
      throw new KubetrailError('KT_STORE_QUERY', `query failed: ${String(err)}`, { cause: err });
    } finally {
      conn.closeSync();
    }
  }

  private where(filter: QueryNode, range: TimeRange = {}): { sql: string; params: unknown[] } {
    const f = compileDuckDB(filter);
    const parts = [f.sql];
    const params = [...f.params];
    if (range.since !== undefined) {
      parts.push(`ts >= make_timestamp(?::BIGINT)`);
      params.push(range.since);
    }
    if (range.until !== undefined) {
      parts.push(`ts < make_timestamp(?::BIGINT)`);
      params.push(range.until);
    }
    return { sql: parts.join(' AND '), params };
  }

  async query(q: EventQuery): Promise<EventPage> {
    const w = this.where(q.filter, q);
    const asc = q.order === 'asc';
    const params = [...w.params];
    let sql = w.sql;
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      const op = asc ? '>' : '<';
      sql += ` AND (ts ${op} make_timestamp(?::BIGINT) OR (ts = make_timestamp(?::BIGINT) AND content_hash ${op} ?))`;
      params.push(c.t, c.t, c.hash);
    }
    const dir = asc ? 'ASC' : 'DESC';
    params.push(q.limit + 1);
    const rows = await this.read(async (conn) =>
      (
        await conn.runAndReadAll(
          `SELECT ${SELECT_RECORD} FROM events WHERE ${sql} ORDER BY ts ${dir}, content_hash ${dir} LIMIT ?`,
          params as never,
        )
      ).getRows(),
    );
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const records = page.map((r) => ({ cluster: String(r[0]), event: JSON.parse(String(r[1])) }));
    const last = page[page.length - 1];
    return more && last
      ? { records, nextCursor: encodeCursor(Number(last[2]), String(last[3])) }
      : { records };
  }

  async count(filter: QueryNode, range: TimeRange = {}): Promise<number> {
    const w = this.where(filter, range);
    return this.read(async (conn) => {
      const r = await conn.runAndReadAll(`SELECT count(*) FROM events WHERE ${w.sql}`, w.params as never);
      return Number(r.getRows()[0]![0]);
    });
  }

  private groupExpr(name: string, params: unknown[]): { expr: string; unnest: boolean } {
    const f = resolveField(name);
    if (!f) {
      const s = suggestField(name);
      throw new KubetrailError('KT_QUERY_FIELD', `unknown field ${JSON.stringify(name)}`, {
        ...(s ? { hint: `did you mean \`${s}\`?` } : {}),
      });
    }
    return groupExprOf(f, params);
  }

  async stats(q: StatsQuery): Promise<StatsRow[]> {
    const w = this.where(q.filter, q);
    const gparams: unknown[] = [];
    const g = this.groupExpr(q.by, gparams);
    const value = g.unnest ? `unnest(${g.expr})` : g.expr;
    const sql = `SELECT value, count(*) AS n FROM (SELECT ${value} AS value FROM events WHERE ${w.sql}) GROUP BY value ORDER BY n DESC, value NULLS LAST LIMIT ?`;
    return this.read(async (conn) => {
      const rows = (await conn.runAndReadAll(sql, [...gparams, ...w.params, q.limit] as never)).getRows();
      return rows.map((r) => ({ value: scalarOut(r[0]), count: Number(r[1]) }));
    });
  }

  async histogram(q: HistogramQuery): Promise<HistogramBucket[]> {
    const w = this.where(q.filter, q);
    const intervalUs = Math.max(1, Math.round(q.intervalMs * 1000));
    let split = `''`;
    const sparams: unknown[] = [];
    if (q.splitBy) {
      const top = await this.stats({ ...q, by: q.splitBy, limit: q.splitLimit ?? 8 });
      const g = this.groupExpr(q.splitBy, sparams);
      if (g.unnest) {
        throw new KubetrailError(
          'KT_QUERY_FIELD',
          `cannot split a histogram by ${q.splitBy}, which holds several values`,
        );
      }
      const keep = top.map((t) => (t.value === null ? '' : String(t.value)));
      if (keep.length === 0) {
        // Nothing matched when the top values were counted: an empty list cannot be bound (DuckDB
        // cannot type it), and whatever arrived since then falls outside the (empty) top anyway.
        split = `'other'`;
        sparams.length = 0;
      } else {
        split = `CASE WHEN coalesce(CAST(${g.expr} AS VARCHAR), '') IN (SELECT unnest(?::VARCHAR[])) THEN coalesce(CAST(${g.expr} AS VARCHAR), '') ELSE 'other' END`;
        // The expression appears twice; its parameters are bound for each occurrence, in order.
        const exprParams = [...sparams];
        sparams.splice(0, sparams.length, ...exprParams, keep, ...exprParams);
      }
    }
    const sql = `SELECT epoch_us(time_bucket(to_microseconds(?::BIGINT), ts, TIMESTAMP '1970-01-01')) AS b, ${split} AS s, count(*) AS n
      FROM events WHERE ${w.sql} GROUP BY b, s ORDER BY b`;
    return this.read(async (conn) => {
      const rows = (
        await conn.runAndReadAll(sql, [intervalUs, ...sparams.map(toDuckParam), ...w.params] as never)
      ).getRows();
      const buckets = new Map<number, Record<string, number>>();
      for (const r of rows) {
        const start = Number(r[0]);
        const counts = buckets.get(start) ?? {};
        counts[String(r[1])] = Number(r[2]);
        buckets.set(start, counts);
      }
      return [...buckets.entries()].map(([start, counts]) => ({ start, counts }));
    });
  }

  async getByAuditId(auditID: string): Promise<EventRecord[]> {
    return this.read(async (conn) => {
      const rows = (
        await conn.runAndReadAll(
          `SELECT ${SELECT_RECORD} FROM events WHERE audit_id = ? ORDER BY ts, stage`,
          [auditID],
        )
      ).getRows();
      return rows.map((r) => ({ cluster: String(r[0]), event: JSON.parse(String(r[1])) }));
    });
  }

  async history(key: ObjectKey, range: TimeRange = {}): Promise<EventRecord[]> {
    const parts = [`resource = ?`, `name = ?`, `coalesce(api_group, '') = ?`];
    const params: unknown[] = [key.resource, key.name, key.apiGroup ?? ''];
    if (key.namespace !== undefined) {
      parts.push(`coalesce(namespace, '') = ?`);
      params.push(key.namespace);
    }
    if (key.cluster !== undefined) {
      parts.push(`cluster = ?`);
      params.push(key.cluster);
    }
    if (range.since !== undefined) {
      parts.push(`ts >= make_timestamp(?::BIGINT)`);
      params.push(range.since);
    }
    if (range.until !== undefined) {
      parts.push(`ts < make_timestamp(?::BIGINT)`);
      params.push(range.until);
    }
    return this.read(async (conn) => {
      const rows = (
        await conn.runAndReadAll(
          `SELECT ${SELECT_RECORD} FROM events WHERE ${parts.join(' AND ')} ORDER BY ts, content_hash`,
          params as never,
        )
      ).getRows();
      return rows.map((r) => ({ cluster: String(r[0]), event: JSON.parse(String(r[1])) }));
    });
  }

  async span(): Promise<{ first: number; last: number; events: number } | undefined> {
    return this.read(async (conn) => {
      const r = (
        await conn.runAndReadAll(`SELECT epoch_us(min(ts)), epoch_us(max(ts)), count(*) FROM events`)
      ).getRows()[0]!;
      const events = Number(r[2]);
      return events === 0 ? undefined : { first: Number(r[0]), last: Number(r[1]), events };
    });
  }

  async deleteBefore(until: number): Promise<number> {
    return this.writeLock.run(async () => {
      const r = await this.connection.runAndReadAll(
        `DELETE FROM events WHERE ts < make_timestamp(?::BIGINT)`,
        [until],
      );
      return Number(r.getRows()[0]?.[0] ?? 0);
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.read(async (conn) => {
      const rows = (await conn.runAndReadAll(`SELECT value FROM kt_meta WHERE key = ?`, [key])).getRows();
      return rows.length > 0 ? String(rows[0]![0]) : undefined;
    });
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.writeLock.run(async () => {
      await this.connection.run(`INSERT OR REPLACE INTO kt_meta (key, value) VALUES (?, ?)`, [key, value]);
    });
  }

  private readonly ownConnections: DuckDBConnection[] = [];

  /**
   * A connection of its own, with its own transactions, for tables other modules keep in the same file
   * (alerts): their statements never land inside an event write's transaction. Closed with the store.
   */
  async connect(): Promise<DuckDBConnection> {
    if (this.closed) throw new KubetrailError('KT_STORE_OPEN', 'the store is closed');
    const c = await this.instance.connect();
    this.ownConnections.push(c);
    return c;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeLock.run(async () => undefined);
    this.closed = true;
    if (!this.readOnly) await this.connection.run('CHECKPOINT').catch(() => undefined);
    for (const c of this.ownConnections) c.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function scalarOut(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
}

function toDuckParam(v: unknown): unknown {
  return Array.isArray(v) ? listValue(v as string[]) : v;
}

/** SQL that yields the grouping value(s) of a field; `unnest` when it yields a list per event. */
export function groupExprOf(f: ResolvedField, params: unknown[]): { expr: string; unnest: boolean } {
  switch (f.kind) {
    case 'column': {
      const c = `"${f.field.column}"`;
      if (f.field.multi) {
        return {
          expr: `CASE WHEN len(list_distinct(${c})) = 0 THEN [NULL::VARCHAR] ELSE list_distinct(${c}) END`,
          unnest: true,
        };
      }
      if (f.field.type === 'time') return { expr: `epoch_us(${c})`, unnest: false };
      return { expr: c, unnest: false };
    }
    case 'annotation':
      params.push(jsonPointer(f.key));
      return { expr: `json_extract_string("annotations", ?)`, unnest: false };
    case 'json': {
      let list = `[json_extract("event", ?)]`;
      const own: unknown[] = [jsonPointer(f.path[0]!)];
      for (const seg of f.path.slice(1)) {
        list = `flatten(list_transform(${list}, lambda x: CASE WHEN json_type(x) = 'ARRAY' THEN list_transform(json_extract(x, '$[*]'), lambda y: CASE WHEN json_type(y) = 'OBJECT' THEN json_extract(y, ?) END) WHEN json_type(x) = 'OBJECT' THEN [json_extract(x, ?)] ELSE [] END))`;
        own.push(jsonPointer(seg), jsonPointer(seg));
      }
      list = `list_distinct(list_transform(list_filter(flatten(list_transform(${list}, lambda x: CASE WHEN json_type(x) = 'ARRAY' THEN json_extract(x, '$[*]') ELSE [x] END)), lambda v: json_type(v) IN ('VARCHAR','BIGINT','UBIGINT','DOUBLE','BOOLEAN')), lambda v: json_extract_string(v, '$')))`;
      // The list appears twice below; its parameters are bound for each occurrence, in order.
      params.push(...own, ...own);
      return { expr: `CASE WHEN len(${list}) = 0 THEN [NULL::VARCHAR] ELSE ${list} END`, unnest: true };
    }
  }
}

/** The rows sorted by time (stable), or the same array when they already are, as imports mostly are. */
function inTimeOrder(rows: readonly EventRow[]): readonly EventRow[] {
  for (let i = 1; i < rows.length; i++) {
    if (rows[i]!.ts < rows[i - 1]!.ts) return [...rows].sort((a, b) => a.ts - b.ts);
  }
  return rows;
}

function appendRows(a: DuckDBAppender, rows: readonly EventRow[]): void {
  for (const r of rows) {
    for (const [name, type] of EVENT_COLUMNS) {
      const v = r[name];
      if (v === null || v === undefined) {
        a.appendNull();
        continue;
      }
      switch (type) {
        case 'varchar':
        case 'json':
          a.appendVarchar(v as string);
          break;
        case 'varchar[]':
          a.appendVarchar(JSON.stringify(v));
          break;
        case 'integer':
          a.appendInteger(v as number);
          break;
        case 'double':
        case 'timestamp':
          a.appendDouble(v as number);
          break;
      }
    }
    a.endRow();
  }
}

export function openDuckDBStore(file: string, opts: DuckDBStoreOptions = {}): Promise<DuckDBStore> {
  return DuckDBStore.open(file, opts);
}
