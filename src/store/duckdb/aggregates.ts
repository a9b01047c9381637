// Aggregations over the DuckDB events table: counts per value of a field (stats) and counts per time
// bucket, optionally split by the top values of a field (histogram). Grouping by a column, an annotation
// or a JSON path is all done in SQL, with every path and value bound as a parameter. On an encrypted
// store, a filter the SQL only narrows, or grouping by a sealed field, is counted in JS from one
// streamed pass over the decrypted candidates (src/store/scan.ts).
import { listValue } from '@duckdb/node-api';
import { KubetrailError } from '../../core/errors.js';
import type { ResolvedField } from '../../fields/catalog.js';
import { fieldSql } from '../../query/compile/duckdb.js';
import { jsonPointer } from '../../query/index.js';
import { groupField } from '../group-field.js';
import { histogramFromScan, statsFromScan } from '../scan.js';
import { INDEX_COLUMNS } from '../sealing.js';
import type { HistogramBucket, HistogramQuery, StatsQuery, StatsRow } from '../store.js';
import { streamRecords, type Reader, type Where } from './filter.js';

/** Whether the aggregation runs in SQL: always on a plain store; on an encrypted one, only over index columns. */
function inSql(w: Where, f: ResolvedField | undefined): boolean {
  if (!w.key) return true;
  if (w.post) return false;
  return !f || (f.kind === 'column' && f.field.computed === undefined && INDEX_COLUMNS.has(f.field.column));
}

export async function statsOf(read: Reader, w: Where, q: StatsQuery): Promise<StatsRow[]> {
  const f = groupField(q.by);
  if (!inSql(w, f)) return read((conn) => statsFromScan(streamRecords(conn, w), w.post, f, q.limit));
  const gparams: unknown[] = [];
  const g = groupExprOf(f, gparams);
  const value = g.unnest ? `unnest(${g.expr})` : g.expr;
  const sql = `SELECT value, count(*) AS n FROM (SELECT ${value} AS value FROM events WHERE ${w.sql}) GROUP BY value ORDER BY n DESC, value NULLS LAST LIMIT ?`;
  return read(async (conn) => {
    const rows = (await conn.runAndReadAll(sql, [...gparams, ...w.params, q.limit] as never)).getRows();
    return rows.map((r) => ({ value: scalarOut(r[0]), count: Number(r[1]) }));
  });
}

export async function histogramOf(read: Reader, w: Where, q: HistogramQuery): Promise<HistogramBucket[]> {
  const intervalUs = Math.max(1, Math.round(q.intervalMs * 1000));
  let split = `''`;
  const sparams: unknown[] = [];
  const splitField = q.splitBy ? groupField(q.splitBy) : undefined;
  if (!inSql(w, splitField)) {
    if (
      splitField &&
      (splitField.kind === 'json' || (splitField.kind === 'column' && splitField.field.multi))
    )
      throw new KubetrailError(
        'KT_QUERY_FIELD',
        `cannot split a histogram by ${q.splitBy}, which holds several values`,
      );
    const keep = q.splitBy
      ? (await statsOf(read, w, { ...q, by: q.splitBy, limit: q.splitLimit ?? 8 })).map((t) =>
          t.value === null ? '' : String(t.value),
        )
      : [];
    return read((conn) => histogramFromScan(streamRecords(conn, w), w.post, intervalUs, splitField, keep));
  }
  if (q.splitBy) {
    const top = await statsOf(read, w, { ...q, by: q.splitBy, limit: q.splitLimit ?? 8 });
    const g = groupExpr(q.splitBy, sparams);
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
  return read(async (conn) => {
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

function groupExpr(name: string, params: unknown[]): { expr: string; unnest: boolean } {
  return groupExprOf(groupField(name), params);
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
      // A computed field (actor) is its SQL expression; every other field is its column.
      const c = fieldSql(f.field);
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
