// Aggregations on the ClickHouse store: counts per value of a field (stats) and counts per time bucket,
// optionally split by the top values of a field (histogram). Grouping by a column of a filter the
// server evaluates whole runs in SQL; a post-filtered filter, or grouping by a JSON path or annotation,
// is counted here from one streamed scan of the matching events, so memory stays bounded by the number
// of distinct values.
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import type { ResolvedField } from '../../fields/catalog.js';
import { pushable, sqlLiteral } from '../../query/compile/clickhouse.js';
import type { Predicate } from '../../query/compile/js.js';
import { isScalar, scalarText, valuesOf } from '../../query/semantics.js';
import { groupField } from '../group-field.js';
import type { HistogramBucket, HistogramQuery, StatsQuery, StatsRow } from '../store.js';
import type { ClickHouseConnection } from './connection.js';
import { scanRecords } from './records.js';

/** A filter's WHERE clause, and the JS predicate to apply after it when the server cannot evaluate all of it. */
export interface Where {
  sql: string;
  post?: Predicate;
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

export async function statsOf(conn: ClickHouseConnection, w: Where, q: StatsQuery): Promise<StatsRow[]> {
  const f = groupField(q.by);
  // A computed field (actor) has no column: counted here from the events, like JSON paths.
  if (!w.post && f.kind === 'column' && pushable(f)) {
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
  // Post-filtered, or grouped by a JSON path or annotation: counted here from the matching events.
  const counts = new Map<string | number | null, number>();
  for await (const batch of scanRecords(conn, w.sql, w.post)) {
    for (const { record } of batch) {
      for (const v of groupValues(record, f)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || compareValues(a.value, b.value))
    .slice(0, q.limit);
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
  const buckets = new Map<number, Record<string, number>>();
  const add = (start: number, key: string, n: number) => {
    const counts = buckets.get(start) ?? {};
    counts[key] = (counts[key] ?? 0) + n;
    buckets.set(start, counts);
  };
  if (!w.post && (!split || (split.kind === 'column' && pushable(split)))) {
    let s = `''`;
    if (split?.kind === 'column') {
      const c = split.field.column;
      const text = split.field.type === 'string' ? c : `ifNull(toString(${c}), '')`;
      s = keep.length > 0 ? `if(has(${sqlLiteral(keep)}, ${text}), ${text}, 'other')` : `'other'`;
    }
    const rows = await conn.rows<{ b: string | number; s: string; n: string | number }>(
      `SELECT intDiv(ts, ${sqlLiteral(intervalUs)}) * ${sqlLiteral(intervalUs)} AS b, ${s} AS s, count() AS n FROM ${conn.events} WHERE ${w.sql} GROUP BY b, s ORDER BY b`,
    );
    for (const r of rows) add(Number(r.b), r.s, Number(r.n));
  } else {
    const keepSet = new Set(keep);
    for await (const batch of scanRecords(conn, w.sql, w.post)) {
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
