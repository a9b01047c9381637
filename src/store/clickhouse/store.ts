// The ClickHouse store: the scale-out back end for many clusters and long retention, over ClickHouse's
// HTTP interface (@clickhouse/client). Several collectors may write to one database at once.
//
// Writes: a batch is deduplicated by content hash, then the hashes already stored in the batch's time
// range (and clusters) are looked up and only the new rows are inserted, grouped so that one insert
// touches few day partitions. Within one process writes are serialized; between processes the
// ReplacingMergeTree sorting key (which ends with the content hash) collapses any duplicate that two
// writers race in at the next merge. See docs/scaling.md.
//
// Reads: filters are planned by the ClickHouse dialect (src/query/compile/clickhouse.ts). What the
// server cannot evaluate (JSON paths, annotations) is checked on the selected rows with the JS
// predicate: pages of keys in (ts, content_hash) order for event pages, one streamed query for counts
// and aggregations, so memory stays bounded.
//
// Retention: deleteBefore drops whole day partitions and deletes the rest of a partial day with a
// mutation, waiting until the mutation is done.
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import { resolveField, suggestField, type ResolvedField } from '../../fields/catalog.js';
import { planClickHouse, sqlLiteral, type ClickHousePlan } from '../../query/compile/clickhouse.js';
import { compileJs, type Predicate } from '../../query/compile/js.js';
import { isScalar, scalarText, valuesOf } from '../../query/semantics.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { toRow, type EventRow } from '../columns.js';
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
import { migrate } from './migrations.js';
import { dayOf, DAY_US, insertRow } from './schema.js';
import { decodeCursor, encodeCursor, Mutex } from '../paging.js';

export interface ClickHouseLocation {
  /** http(s)://host:port */
  url: string;
  username: string;
  password: string;
  database: string;
  /** The location with the password hidden, for messages. */
  display: string;
}

export interface ClickHouseStoreOptions {
  readOnly?: boolean;
  /** Most candidate rows read per page when a query is post-filtered (default 20000). */
  scanBatch?: number;
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Hashes looked up per query: keeps the SQL text well under the server's max_query_size (256 KiB). */
const HASH_LOOKUP_CHUNK = 2000;
/** Distinct day partitions per insert (newer servers refuse more than 100 by default). */
const DAYS_PER_INSERT = 90;
const SELECT_RECORD = 'cluster, event, ts, content_hash';
/** Most keys read in one page query; larger pages are read as several. */
const MAX_KEY_PAGE = 10_000;

/** Parses clickhouse://user:pass@host:8123/db (or clickhouses:// for HTTPS). */
export function parseClickHouseLocation(location: string): ClickHouseLocation {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    throw new KubetrailError('KT_STORE_OPEN', 'the ClickHouse location is not a URL', {
      hint: 'write it as clickhouse://USER:PASSWORD@HOST:8123/DATABASE',
    });
  }
  const secure = u.protocol === 'clickhouses:';
  if (!secure && u.protocol !== 'clickhouse:') {
    throw new KubetrailError('KT_STORE_OPEN', `not a ClickHouse location: ${u.protocol}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '')) || 'default';
  const hidden = `${u.protocol}//${u.username ? `${u.username}${u.password ? ':…' : ''}@` : ''}${u.host}/${database}`;
  if (!DATABASE_NAME.test(database)) {
    throw new KubetrailError('KT_STORE_OPEN', `${JSON.stringify(database)} is not a usable database name`, {
      where: { file: hidden },
      hint: 'use letters, digits and underscores, starting with a letter or underscore',
    });
  }
  if (!u.hostname) throw new KubetrailError('KT_STORE_OPEN', `no host in ${hidden}`);
  const port = u.port || (secure ? '8443' : '8123');
  return {
    url: `${secure ? 'https' : 'http'}://${u.hostname}:${port}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database,
    display: hidden,
  };
}

interface RecordRow {
  cluster: string;
  event: string;
  ts: string | number;
  content_hash: string;
}

interface Key {
  t: number;
  hash: string;
}

/** A record with its position in the (ts, content_hash) order. */
interface Located {
  record: EventRecord;
  t: number;
  hash: string;
}

const toRecord = (r: RecordRow): EventRecord => ({
  cluster: r.cluster,
  event: JSON.parse(r.event) as EventRecord['event'],
});

/** How long the stored days are remembered for choosing where a page's search starts. */
const DAYS_CACHE_MS = 10_000;

function rangeSql(range: TimeRange): string[] {
  const parts: string[] = [];
  if (range.since !== undefined) parts.push(`ts >= ${sqlLiteral(Math.round(range.since))}`);
  if (range.until !== undefined) parts.push(`ts < ${sqlLiteral(Math.round(range.until))}`);
  return parts;
}

function fieldOrThrow(name: string): ResolvedField {
  const f = resolveField(name);
  if (!f) {
    const s = suggestField(name);
    throw new KubetrailError('KT_QUERY_FIELD', `unknown field ${JSON.stringify(name)}`, {
      ...(s ? { hint: `did you mean \`${s}\`?` } : {}),
    });
  }
  return f;
}

/** Grouping values of one event, as the SQL path returns them (distinct; none → [null]). */
function groupValues(r: EventRecord, f: ResolvedField): (string | number | null)[] {
  const raw = valuesOf(r, f);
  const out = new Set<string | number>();
  for (const v of raw) {
    if (f.kind === 'column') {
      if (typeof v === 'string' || typeof v === 'number') out.add(v);
    } else if (isScalar(v)) {
      out.add(scalarText(v));
    }
  }
  return out.size === 0 ? [null] : [...out];
}

function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

export class ClickHouseStore implements Store {
  readonly kind = 'clickhouse';
  private readonly writeLock = new Mutex();
  private closed = false;
  private readonly events: string;

  private constructor(
    readonly location: ClickHouseLocation,
    readonly client: ClickHouseClient,
    readonly readOnly: boolean,
    private readonly scanBatch: number,
  ) {
    this.events = `${location.database}.events`;
  }

  static async open(location: string, opts: ClickHouseStoreOptions = {}): Promise<ClickHouseStore> {
    const loc = parseClickHouseLocation(location);
    const client = createClient({
      url: loc.url,
      username: loc.username,
      password: loc.password,
      request_timeout: 300_000,
      max_open_connections: 8,
      application: 'kubetrail',
      // Failures reach the caller as KubetrailErrors; the client's own log lines (stack traces on
      // stderr, outside the collector's structured log) would only repeat them.
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      const ping = await client.ping();
      if (!ping.success) throw ping.error;
      if (opts.readOnly) {
        const rs = await client.query({
          query: `SELECT count() AS n FROM system.tables WHERE database = ${sqlLiteral(loc.database)} AND name = 'events'`,
          format: 'JSONEachRow',
        });
        const [row] = await rs.json<{ n: string | number }>();
        if (Number(row?.n ?? 0) === 0) {
          throw new KubetrailError('KT_STORE_OPEN', `no store at ${loc.display}`, {
            where: { file: loc.display },
            hint: 'start a collector (`kubetrail serve --db …`) or import events into it first',
          });
        }
      } else {
        await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${loc.database}` });
        await migrate(client, loc.database, loc.display);
      }
    } catch (err) {
      await client.close().catch(() => undefined);
      if (err instanceof KubetrailError) throw err;
      throw new KubetrailError('KT_STORE_OPEN', `cannot open the store: ${String(err)}`, {
        where: { file: loc.display },
        hint: 'check that ClickHouse answers on its HTTP port and that the user and password are right',
        cause: err,
      });
    }
    return new ClickHouseStore(loc, client, Boolean(opts.readOnly), opts.scanBatch ?? 20_000);
  }

  // ---------------------------------------------------------------- plumbing

  private async rows<T>(query: string): Promise<T[]> {
    if (this.closed) throw new KubetrailError('KT_STORE_QUERY', 'the store is closed');
    try {
      const rs = await this.client.query({ query, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (err) {
      throw new KubetrailError('KT_STORE_QUERY', `query failed: ${String(err)}`, { cause: err });
    }
  }

  private plan(filter: QueryNode, now: number): ClickHousePlan {
    try {
      return planClickHouse(filter, now);
    } catch (err) {
      throw new KubetrailError('KT_STORE_QUERY', `cannot run this filter on ClickHouse: ${String(err)}`, {
        cause: err,
      });
    }
  }

  /** WHERE clause of a filter and range, and the JS predicate to apply after it (when needed). */
  private where(filter: QueryNode, range: TimeRange = {}): { sql: string; post?: Predicate } {
    const now = Date.now();
    const plan = this.plan(filter, now);
    const sql = [plan.sql, ...rangeSql(range)].join(' AND ');
    return plan.postFilter ? { sql, post: compileJs(filter, now) } : { sql };
  }

  /**
   * One page of keys (time, content hash) of the rows matching `where`, in order, after a position.
   *
   * ClickHouse 18.16 cannot read a table in time order: `ORDER BY ts LIMIT n` reads the matching rows of
   * every partition. Partitions are UTC days, so the search first reads the one day where the page
   * starts (the newest day for newest-first, or the day of the cursor or range end) and only when that
   * day holds fewer than `n` matches reads the rest of the range: a filter with many matches is
   * answered from one day, a sparse one costs little more than one full read.
   */
  private async pageKeys(
    where: string,
    order: 'asc' | 'desc',
    after: Key | undefined,
    n: number,
    range: TimeRange = {},
  ): Promise<Key[]> {
    const op = order === 'asc' ? '>' : '<';
    const keyset = after
      ? ` AND (ts ${op} ${sqlLiteral(after.t)} OR (ts = ${sqlLiteral(after.t)} AND content_hash ${op} ${sqlLiteral(after.hash)}))`
      : '';
    const base = `${where}${keyset}`;
    const day = await this.startDay(order, after, range);
    if (day === undefined) return this.keysWhere(base, order, n);
    // The boundary between the first day and the rest of the range, in the direction of the order.
    const edge = order === 'asc' ? (day + 1) * DAY_US : day * DAY_US;
    const near = order === 'asc' ? `ts < ${sqlLiteral(edge)}` : `ts >= ${sqlLiteral(edge)}`;
    const far = order === 'asc' ? `ts >= ${sqlLiteral(edge)}` : `ts < ${sqlLiteral(edge)}`;
    const first = await this.keysWhere(`${base} AND ${near}`, order, n);
    if (first.length >= n) return first;
    return [...first, ...(await this.keysWhere(`${base} AND ${far}`, order, n - first.length))];
  }

  private daysCache: { at: number; days: { lo: number; hi: number } | undefined } | undefined;

  /**
   * The first and last stored UTC day, from partition names (metadata only, no data read), remembered
   * for a few seconds: a stale answer only makes a page start its search on another day, never changes
   * the page.
   */
  private async storedDays(): Promise<{ lo: number; hi: number } | undefined> {
    const now = Date.now();
    if (this.daysCache && now - this.daysCache.at < DAYS_CACHE_MS) return this.daysCache.days;
    const [r] = await this.rows<{
      lo: string | number | null;
      hi: string | number | null;
      n: string | number;
    }>(
      `SELECT min(toInt64(partition)) AS lo, max(toInt64(partition)) AS hi, count() AS n FROM system.parts WHERE database = ${sqlLiteral(this.location.database)} AND table = 'events' AND active`,
    );
    const lo = Number(r?.lo);
    const hi = Number(r?.hi);
    const days =
      r && Number(r.n) > 0 && Number.isSafeInteger(lo) && Number.isSafeInteger(hi) ? { lo, hi } : undefined;
    this.daysCache = { at: now, days };
    return days;
  }

  /** Keys of the first `n` rows matching `where`, in order. */
  private async keysWhere(where: string, order: 'asc' | 'desc', n: number): Promise<Key[]> {
    const dir = order === 'asc' ? 'ASC' : 'DESC';
    const rows = await this.rows<{ ts: string | number; content_hash: string }>(
      `SELECT ts, content_hash FROM ${this.events} WHERE ${where} ORDER BY ts ${dir}, content_hash ${dir} LIMIT ${sqlLiteral(n)}`,
    );
    return rows.map((r) => ({ t: Number(r.ts), hash: r.content_hash }));
  }

  /**
   * The UTC day (days since 1970) where a page starts: the cursor's day, else the day of the range's
   * end the order starts from, else the newest (oldest) stored day. Undefined when the table is empty.
   */
  private async startDay(
    order: 'asc' | 'desc',
    after: Key | undefined,
    range: TimeRange,
  ): Promise<number | undefined> {
    if (after) return Math.floor(after.t / DAY_US);
    const bound = order === 'asc' ? range.since : range.until === undefined ? undefined : range.until - 1;
    const days = await this.storedDays();
    if (!days) return undefined;
    const { lo, hi } = days;
    const stored = order === 'asc' ? lo : hi;
    if (bound === undefined) return stored;
    const day = Math.floor(bound / DAY_US);
    // A range end beyond the stored days starts at the stored edge instead (nothing lies outside it).
    return order === 'asc' ? Math.max(day, lo) : Math.min(day, hi);
  }

  /**
   * The events of these keys, in the keys' order. Reading keys first and events second keeps the event
   * JSON column out of the sort, which would otherwise read it for every matching row. A key listed
   * twice in a row (a duplicate two writers raced in, not merged yet) is read once.
   */
  private async fetchByKeys(keys: readonly Key[]): Promise<Located[]> {
    const byKey = new Map<string, RecordRow>();
    for (let i = 0; i < keys.length; i += HASH_LOOKUP_CHUNK) {
      const chunk = keys.slice(i, i + HASH_LOOKUP_CHUNK);
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const k of chunk) {
        if (k.t < min) min = k.t;
        if (k.t > max) max = k.t;
      }
      const rows = await this.rows<RecordRow>(
        `SELECT ${SELECT_RECORD} FROM ${this.events} WHERE ts >= ${sqlLiteral(min)} AND ts <= ${sqlLiteral(max)} AND content_hash IN (${chunk.map((k) => sqlLiteral(k.hash)).join(', ')})`,
      );
      for (const r of rows) byKey.set(`${Number(r.ts)}/${r.content_hash}`, r);
    }
    const out: Located[] = [];
    let previous = '';
    for (const k of keys) {
      const key = `${k.t}/${k.hash}`;
      const r = byKey.get(key);
      if (r && key !== previous) out.push({ record: toRecord(r), t: k.t, hash: k.hash });
      previous = key;
    }
    return out;
  }

  /**
   * Every row matching `where` that passes `post`, in no particular order, streamed from one query so
   * memory stays bounded however many rows match (for counts and aggregations computed here).
   */
  private async *scanAll(where: string, post: Predicate | undefined): AsyncGenerator<Located[]> {
    if (this.closed) throw new KubetrailError('KT_STORE_QUERY', 'the store is closed');
    try {
      const rs = await this.client.query({
        query: `SELECT ${SELECT_RECORD} FROM ${this.events} WHERE ${where}`,
        format: 'JSONEachRow',
      });
      for await (const rows of rs.stream<RecordRow>()) {
        const out: Located[] = [];
        for (const row of rows) {
          const r = row.json();
          const record = toRecord(r);
          if (!post || post(record)) out.push({ record, t: Number(r.ts), hash: r.content_hash });
        }
        if (out.length > 0) yield out;
      }
    } catch (err) {
      if (err instanceof KubetrailError) throw err;
      throw new KubetrailError('KT_STORE_QUERY', `query failed: ${String(err)}`, { cause: err });
    }
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
    if (this.readOnly) {
      throw new KubetrailError('KT_STORE_WRITE', `${this.location.display} is open read-only`);
    }
    return this.writeLock.run(async () => {
      const seen = new Set<string>();
      const unique: EventRow[] = [];
      /** Position in `rows` of each unique row. */
      const at: number[] = [];
      for (const [i, r] of rows.entries()) {
        if (seen.has(r.content_hash)) continue;
        seen.add(r.content_hash);
        unique.push(r);
        at.push(i);
      }
      try {
        const stored = await this.storedHashes(unique);
        const fresh = unique.filter((r) => !stored.has(r.content_hash)).sort((a, b) => a.ts - b.ts);
        const result: WriteResult = { stored: fresh.length, duplicates: rows.length - fresh.length };
        if (opts.reportNew) result.fresh = at.filter((_, k) => !stored.has(unique[k]!.content_hash));
        for (const chunk of byDays(fresh, DAYS_PER_INSERT)) {
          await this.client.insert({
            table: this.events,
            values: chunk.map(insertRow),
            format: 'JSONEachRow',
          });
        }
        return result;
      } catch (err) {
        throw new KubetrailError(
          'KT_STORE_WRITE',
          `writing ${rows.length} events to ${this.location.display} failed: ${String(err)}`,
          { where: { file: this.location.display }, cause: err },
        );
      }
    });
  }

  /** Content hashes of these rows that are already stored. */
  private async storedHashes(rows: readonly EventRow[]): Promise<Set<string>> {
    const found = new Set<string>();
    const sorted = [...rows].sort((a, b) => a.ts - b.ts);
    for (let i = 0; i < sorted.length; i += HASH_LOOKUP_CHUNK) {
      const chunk = sorted.slice(i, i + HASH_LOOKUP_CHUNK);
      const clusters = [...new Set(chunk.map((r) => r.cluster))];
      const range = `cluster IN (${clusters.map((c) => sqlLiteral(c)).join(', ')}) AND ts >= ${sqlLiteral(chunk[0]!.ts)} AND ts <= ${sqlLiteral(chunk[chunk.length - 1]!.ts)}`;
      // When nothing is stored in the range (an import in time order, a live collector), skip the lookup.
      const [probe] = await this.rows<{ n: string | number }>(
        `SELECT count() AS n FROM (SELECT 1 FROM ${this.events} WHERE ${range} LIMIT 1)`,
      );
      if (Number(probe?.n ?? 0) === 0) continue;
      const hashes = chunk.map((r) => sqlLiteral(r.content_hash)).join(', ');
      const hits = await this.rows<{ content_hash: string }>(
        `SELECT DISTINCT content_hash FROM ${this.events} WHERE ${range} AND content_hash IN (${hashes})`,
      );
      for (const h of hits) found.add(h.content_hash);
    }
    return found;
  }

  // ---------------------------------------------------------------- reading

  async query(q: EventQuery): Promise<EventPage> {
    const w = this.where(q.filter, q);
    const order = q.order === 'asc' ? 'asc' : 'desc';
    const page: Located[] = [];
    let cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    // Without a post-filter one page of keys is the answer (read as several when very large). With
    // one, every page makes the server evaluate the SQL over all remaining rows, so pages grow until
    // enough candidates pass.
    let size = w.post
      ? Math.min(Math.max(q.limit + 1, 256), this.scanBatch)
      : Math.min(q.limit + 1, MAX_KEY_PAGE);
    for (;;) {
      const keys = await this.pageKeys(w.sql, order, cursor, size, q);
      for (const r of await this.fetchByKeys(keys)) if (!w.post || w.post(r.record)) page.push(r);
      if (page.length > q.limit || keys.length < size) break;
      cursor = keys[keys.length - 1];
      if (w.post) size = Math.min(size * 4, this.scanBatch);
    }
    const more = page.length > q.limit;
    const kept = page.slice(0, q.limit);
    const records = kept.map((p) => p.record);
    const last = kept[kept.length - 1];
    return more && last ? { records, nextCursor: encodeCursor(last.t, last.hash) } : { records };
  }

  async count(filter: QueryNode, range: TimeRange = {}): Promise<number> {
    const w = this.where(filter, range);
    if (!w.post) {
      const [r] = await this.rows<{ n: string | number }>(
        `SELECT count() AS n FROM ${this.events} WHERE ${w.sql}`,
      );
      return Number(r?.n ?? 0);
    }
    let n = 0;
    for await (const batch of this.scanAll(w.sql, w.post)) n += batch.length;
    return n;
  }

  async stats(q: StatsQuery): Promise<StatsRow[]> {
    const f = fieldOrThrow(q.by);
    const w = this.where(q.filter, q);
    if (!w.post && f.kind === 'column') {
      const c = f.field.column;
      const expr = f.field.multi
        ? `arrayJoin(if(empty(arrayDistinct(${c})), CAST([NULL] AS Array(Nullable(String))), CAST(arrayDistinct(${c}) AS Array(Nullable(String)))))`
        : f.field.type === 'string'
          ? `nullIf(${c}, '')`
          : c;
      const rows = await this.rows<{ value: string | number | null; n: string | number }>(
        `SELECT value, count() AS n FROM (SELECT ${expr} AS value FROM ${this.events} WHERE ${w.sql}) GROUP BY value ORDER BY n DESC, value ASC NULLS LAST LIMIT ${sqlLiteral(q.limit)}`,
      );
      const numeric = f.field.type !== 'string';
      return rows.map((r) => ({
        value: r.value === null ? null : numeric ? Number(r.value) : String(r.value),
        count: Number(r.n),
      }));
    }
    // Post-filtered, or grouped by a JSON path or annotation: counted here from the matching events.
    const counts = new Map<string | number | null, number>();
    for await (const batch of this.scanAll(w.sql, w.post)) {
      for (const { record } of batch) {
        for (const v of groupValues(record, f)) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
    }
    return [...counts.entries()]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || compareValues(a.value, b.value))
      .slice(0, q.limit);
  }

  async histogram(q: HistogramQuery): Promise<HistogramBucket[]> {
    const w = this.where(q.filter, q);
    const intervalUs = Math.max(1, Math.round(q.intervalMs * 1000));
    const split = q.splitBy ? fieldOrThrow(q.splitBy) : undefined;
    if (split && (split.kind === 'json' || (split.kind === 'column' && split.field.multi))) {
      throw new KubetrailError(
        'KT_QUERY_FIELD',
        `cannot split a histogram by ${q.splitBy}, which holds several values`,
      );
    }
    let keep: string[] = [];
    if (q.splitBy) {
      const top = await this.stats({ ...q, by: q.splitBy, limit: q.splitLimit ?? 8 });
      keep = top.map((t) => (t.value === null ? '' : String(t.value)));
    }
    const buckets = new Map<number, Record<string, number>>();
    const add = (start: number, key: string, n: number) => {
      const counts = buckets.get(start) ?? {};
      counts[key] = (counts[key] ?? 0) + n;
      buckets.set(start, counts);
    };
    if (!w.post && (!split || split.kind === 'column')) {
      let s = `''`;
      if (split?.kind === 'column') {
        const c = split.field.column;
        const text = split.field.type === 'string' ? c : `ifNull(toString(${c}), '')`;
        s = keep.length > 0 ? `if(has(${sqlLiteral(keep)}, ${text}), ${text}, 'other')` : `'other'`;
      }
      const rows = await this.rows<{ b: string | number; s: string; n: string | number }>(
        `SELECT intDiv(ts, ${sqlLiteral(intervalUs)}) * ${sqlLiteral(intervalUs)} AS b, ${s} AS s, count() AS n FROM ${this.events} WHERE ${w.sql} GROUP BY b, s ORDER BY b`,
      );
      for (const r of rows) add(Number(r.b), r.s, Number(r.n));
    } else {
      const keepSet = new Set(keep);
      for await (const batch of this.scanAll(w.sql, w.post)) {
        for (const { record, t } of batch) {
          let key = '';
          if (split) {
            const v = groupValues(record, split)[0] ?? null;
            const text = v === null ? '' : String(v);
            key = keepSet.has(text) ? text : 'other';
          }
          add(Math.floor(t / intervalUs) * intervalUs, key, 1);
        }
      }
    }
    return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([start, counts]) => ({ start, counts }));
  }

  async getByAuditId(auditID: string): Promise<EventRecord[]> {
    const rows = await this.rows<RecordRow>(
      `SELECT ${SELECT_RECORD} FROM ${this.events} WHERE audit_id = ${sqlLiteral(auditID)} ORDER BY ts, stage, content_hash`,
    );
    return rows.map(toRecord);
  }

  async history(key: ObjectKey, range: TimeRange = {}): Promise<EventRecord[]> {
    const parts = [
      `resource = ${sqlLiteral(key.resource)}`,
      `name = ${sqlLiteral(key.name)}`,
      `api_group = ${sqlLiteral(key.apiGroup ?? '')}`,
    ];
    if (key.namespace !== undefined) parts.push(`namespace = ${sqlLiteral(key.namespace)}`);
    if (key.cluster !== undefined) parts.push(`cluster = ${sqlLiteral(key.cluster)}`);
    parts.push(...rangeSql(range));
    const rows = await this.rows<RecordRow>(
      `SELECT ${SELECT_RECORD} FROM ${this.events} WHERE ${parts.join(' AND ')} ORDER BY ts, content_hash`,
    );
    return rows.map(toRecord);
  }

  async span(): Promise<{ first: number; last: number; events: number } | undefined> {
    const [r] = await this.rows<{ first: string | number; last: string | number; n: string | number }>(
      `SELECT min(ts) AS first, max(ts) AS last, count() AS n FROM ${this.events}`,
    );
    const events = Number(r?.n ?? 0);
    return events === 0 || !r ? undefined : { first: Number(r.first), last: Number(r.last), events };
  }

  async deleteBefore(until: number): Promise<number> {
    if (this.readOnly) {
      throw new KubetrailError('KT_STORE_WRITE', `${this.location.display} is open read-only`);
    }
    const limit = Math.round(until);
    return this.writeLock.run(async () => {
      const [c] = await this.rows<{ n: string | number }>(
        `SELECT count() AS n FROM ${this.events} WHERE ts < ${sqlLiteral(limit)}`,
      );
      const n = Number(c?.n ?? 0);
      if (n === 0) return 0;
      try {
        // Whole days before the limit: drop their partitions (instant, no rewrite).
        const parts = await this.rows<{ partition: string }>(
          `SELECT DISTINCT partition FROM system.parts WHERE database = ${sqlLiteral(this.location.database)} AND table = 'events' AND active`,
        );
        for (const p of parts) {
          const day = Number(p.partition);
          if (Number.isSafeInteger(day) && (day + 1) * DAY_US <= limit) {
            await this.client.command({
              query: `ALTER TABLE ${this.events} DROP PARTITION ${sqlLiteral(day)}`,
            });
          }
        }
        // The part of a day before the limit: a mutation rewrites the parts of that day only.
        if (limit % DAY_US !== 0) {
          const day = dayOf(limit);
          const [left] = await this.rows<{ n: string | number }>(
            `SELECT count() AS n FROM ${this.events} WHERE ts >= ${sqlLiteral(day * DAY_US)} AND ts < ${sqlLiteral(limit)}`,
          );
          if (Number(left?.n ?? 0) > 0) {
            await this.client.command({
              query: `ALTER TABLE ${this.events} DELETE WHERE ts < ${sqlLiteral(limit)}`,
            });
            await this.waitForMutations();
          }
        }
      } catch (err) {
        if (err instanceof KubetrailError) throw err;
        throw new KubetrailError('KT_STORE_WRITE', `deleting old events failed: ${String(err)}`, {
          where: { file: this.location.display },
          cause: err,
        });
      }
      return n;
    });
  }

  /** Waits until every mutation of the events table has been applied (they run in the background). */
  private async waitForMutations(timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
      const [r] = await this.rows<{ n: string | number }>(
        `SELECT count() AS n FROM system.mutations WHERE database = ${sqlLiteral(this.location.database)} AND table = 'events' AND is_done = 0`,
      );
      if (Number(r?.n ?? 0) === 0) return;
      if (Date.now() > deadline) {
        throw new KubetrailError(
          'KT_STORE_WRITE',
          'a ClickHouse mutation deleting old events did not finish',
          {
            where: { file: this.location.display },
            hint: 'see system.mutations on the server',
          },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Runs a statement (migrations, tests, administration). */
  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  /** Runs a query and returns its rows. */
  async select<T>(sql: string): Promise<T[]> {
    return this.rows<T>(sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeLock.run(async () => undefined);
    this.closed = true;
    await this.client.close();
  }
}

/** Splits rows sorted by time into groups spanning at most `maxDays` distinct days. */
function* byDays(rows: readonly EventRow[], maxDays: number): Generator<EventRow[]> {
  let group: EventRow[] = [];
  let days = 0;
  let lastDay: number | undefined;
  for (const r of rows) {
    const d = dayOf(r.ts);
    if (d !== lastDay) {
      if (days === maxDays) {
        yield group;
        group = [];
        days = 0;
      }
      days++;
      lastDay = d;
    }
    group.push(r);
  }
  if (group.length > 0) yield group;
}

export function openClickHouseStore(
  location: string,
  opts: ClickHouseStoreOptions = {},
): Promise<ClickHouseStore> {
  return ClickHouseStore.open(location, opts);
}
