// Day-first paging of the ClickHouse events table: the keys (time, content hash) of one page of matching
// rows, in order after a position, then the events of those keys.
//
// ClickHouse 18.16 cannot read a table in time order: `ORDER BY ts LIMIT n` reads the matching rows of
// every partition. Partitions are UTC days, so the search first reads the one day where the page starts
// (the newest day for newest-first, or the day of the cursor or range end) and only when that day holds
// fewer than `n` matches reads the rest of the range: a filter with many matches is answered from one
// day, a sparse one costs little more than one full read.
import type { DataKey } from '../../crypto/cipher.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import type { TimeRange } from '../store.js';
import type { ClickHouseConnection } from './connection.js';
import {
  HASH_LOOKUP_CHUNK,
  SELECT_RECORD,
  toRecord,
  type Key,
  type Located,
  type RecordRow,
} from './records.js';
import { DAY_US } from './schema.js';

/** How long the stored days are remembered for choosing where a page's search starts. */
const DAYS_CACHE_MS = 10_000;

export class DayFirstPager {
  private daysCache: { at: number; days: { lo: number; hi: number } | undefined } | undefined;

  constructor(
    private readonly conn: ClickHouseConnection,
    /** The data key of an encrypted store, to open the events read. */
    private readonly key: DataKey | undefined,
  ) {}

  /** One page of keys of the rows matching `where`, in order, after a position. */
  async pageKeys(
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

  /**
   * The events of these keys, in the keys' order. Reading keys first and events second keeps the event
   * JSON column out of the sort, which would otherwise read it for every matching row. A key listed
   * twice in a row (a duplicate two writers raced in, not merged yet) is read once.
   */
  async fetchByKeys(keys: readonly Key[]): Promise<Located[]> {
    const byKey = new Map<string, RecordRow>();
    for (let i = 0; i < keys.length; i += HASH_LOOKUP_CHUNK) {
      const chunk = keys.slice(i, i + HASH_LOOKUP_CHUNK);
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const k of chunk) {
        if (k.t < min) min = k.t;
        if (k.t > max) max = k.t;
      }
      const rows = await this.conn.rows<RecordRow>(
        `SELECT ${SELECT_RECORD} FROM ${this.conn.events} WHERE ts >= ${sqlLiteral(min)} AND ts <= ${sqlLiteral(max)} AND content_hash IN (${chunk.map((k) => sqlLiteral(k.hash)).join(', ')})`,
      );
      for (const r of rows) byKey.set(`${Number(r.ts)}/${r.content_hash}`, r);
    }
    const out: Located[] = [];
    let previous = '';
    for (const k of keys) {
      const key = `${k.t}/${k.hash}`;
      const r = byKey.get(key);
      if (r && key !== previous) out.push({ record: toRecord(r, this.key), t: k.t, hash: k.hash });
      previous = key;
    }
    return out;
  }

  /**
   * The first and last stored UTC day, from partition names (metadata only, no data read), remembered
   * for a few seconds: a stale answer only makes a page start its search on another day, never changes
   * the page.
   */
  private async storedDays(): Promise<{ lo: number; hi: number } | undefined> {
    const now = Date.now();
    if (this.daysCache && now - this.daysCache.at < DAYS_CACHE_MS) return this.daysCache.days;
    const [r] = await this.conn.rows<{
      lo: string | number | null;
      hi: string | number | null;
      n: string | number;
    }>(
      `SELECT min(toInt64(partition)) AS lo, max(toInt64(partition)) AS hi, count() AS n FROM system.parts WHERE database = ${sqlLiteral(this.conn.location.database)} AND table = 'events' AND active`,
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
    const rows = await this.conn.rows<{ ts: string | number; content_hash: string }>(
      `SELECT ts, content_hash FROM ${this.conn.events} WHERE ${where} ORDER BY ts ${dir}, content_hash ${dir} LIMIT ${sqlLiteral(n)}`,
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
}
