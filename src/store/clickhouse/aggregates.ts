// Aggregations on the ClickHouse store: counts per value of a field (stats) and counts per time bucket,
// optionally split by the top values of a field (histogram). Grouping by a column of a filter the
// server evaluates whole runs in SQL; a post-filtered filter, or grouping by a JSON path, an annotation
// or (on an encrypted store) a sealed column, is counted here from one streamed scan of the matching
// events (src/store/scan.ts), so memory stays bounded by the number of distinct values.
import type { DataKey } from '../../crypto/cipher.js';
import { KubetrailError } from '../../core/errors.js';
import type { ResolvedField } from '../../fields/catalog.js';
import { pushable, sqlLiteral } from '../../query/compile/clickhouse.js';
import type { Predicate } from '../../query/compile/js.js';
import { groupField } from '../group-field.js';
import { addToBucket, histogramFromScan, sortedBuckets, statsFromScan } from '../scan.js';
import type { HistogramBucket, HistogramQuery, StatsQuery, StatsRow } from '../store.js';
import type { ClickHouseConnection } from './connection.js';
import { scanRecords } from './records.js';

/** A filter's WHERE clause, and the JS predicate to apply after it when the server cannot evaluate all of it. */
export interface Where {
  sql: string;
  post?: Predicate;
  /** The data key of an encrypted store. */
  key?: DataKey;
  /** On an encrypted store: the columns kept in clear (the only ones SQL may group by). */
  clear?: ReadonlySet<string>;
}

/** Whether SQL can group by the field: a stored column, in clear. */
function sqlGroupable(f: ResolvedField, w: Where): f is ResolvedField & { kind: 'column' } {
  return f.kind === 'column' && pushable(f) && (!w.clear || w.clear.has(f.field.column));
}

export async function statsOf(conn: ClickHouseConnection, w: Where, q: StatsQuery): Promise<StatsRow[]> {
  const f = groupField(q.by);
  // A computed field (actor) has no column: counted here from the events, like JSON paths.
  if (!w.post && sqlGroupable(f, w)) {
    const c = f.field.column;
    const expr = f.field.multi
      ? `arrayJoin(if(empty(arrayDistinct(${c})), CAST([NULL] AS Array(Nullable(String))), CAST(arrayDistinct(${c}) AS Array(Nullable(String)))))`
      : f.field.type === 'string'
        ? `nullIf(${c}, '')`
        : c;
    const rows = await conn.rows<{ value: string | number | null; n: string | number }>(
      `SELECT value, count() AS n FROM (SELECT ${expr} AS value FROM ${conn.events} WHERE ${w.sql}) GROUP BY value ORDER BY n DESC, value ASC NULLS LAST LIMIT ${sqlLiteral(q.limit)}`,
    );
    const numeric = f.field.type !== 'string';
    return rows.map((r) => ({
      value: r.value === null ? null : numeric ? Number(r.value) : String(r.value),
      count: Number(r.n),
    }));
  }
  // Post-filtered, or grouped by what SQL cannot read: counted here from the matching events.
  return statsFromScan(scanRecords(conn, w.sql, undefined, w.key), w.post, f, q.limit);
}

export async function histogramOf(
  conn: ClickHouseConnection,
  w: Where,
  q: HistogramQuery,
): Promise<HistogramBucket[]> {
  const intervalUs = Math.max(1, Math.round(q.intervalMs * 1000));
  const split = q.splitBy ? groupField(q.splitBy) : undefined;
  if (split && (split.kind === 'json' || (split.kind === 'column' && split.field.multi))) {
    throw new KubetrailError(
      'KT_QUERY_FIELD',
      `cannot split a histogram by ${q.splitBy}, which holds several values`,
    );
  }
  let keep: string[] = [];
  if (q.splitBy) {
    const top = await statsOf(conn, w, { ...q, by: q.splitBy, limit: q.splitLimit ?? 8 });
    keep = top.map((t) => (t.value === null ? '' : String(t.value)));
  }
  if (w.post || (split && !sqlGroupable(split, w)))
    return histogramFromScan(scanRecords(conn, w.sql, undefined, w.key), w.post, intervalUs, split, keep);
  let s = `''`;
  if (split?.kind === 'column') {
    const c = split.field.column;
    const text = split.field.type === 'string' ? c : `ifNull(toString(${c}), '')`;
    s = keep.length > 0 ? `if(has(${sqlLiteral(keep)}, ${text}), ${text}, 'other')` : `'other'`;
  }
  const rows = await conn.rows<{ b: string | number; s: string; n: string | number }>(
    `SELECT intDiv(ts, ${sqlLiteral(intervalUs)}) * ${sqlLiteral(intervalUs)} AS b, ${s} AS s, count() AS n FROM ${conn.events} WHERE ${w.sql} GROUP BY b, s ORDER BY b`,
  );
  const buckets = new Map<number, Record<string, number>>();
  for (const r of rows) addToBucket(buckets, Number(r.b), r.s, Number(r.n));
  return sortedBuckets(buckets);
}
