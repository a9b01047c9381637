// The canonical encoding of an events-table row on ClickHouse, the input of its digest entry hash
// (src/store/integrity.ts). A row hashes the same when the writer hands it over (an EventRow) and when
// ClickHouse gives it back (JSONEachRow), whatever each side spells:
//
// - every column of EVENT_COLUMNS, in that order, as one JSON array;
// - text columns are non-Nullable: null or absent is '' (what insertRow writes);
// - lists are arrays of strings (absent: []);
// - Int64 times come back as decimal strings, Nullable ones as null: numbers, or null;
// - Float64: the number (JSON.stringify's shortest round-trip form; -0 is 0), with subnormal values as 0
//   (the server reads them as 0); NaN and infinities as null (JSON has neither, nor do events);
// - Int32 (the response code): the number or null.
//
// Strings reach the store well-formed (ingest replaces lone surrogates; ClickHouse refuses them), so a
// string is its own canonical form.
import { createHash } from 'node:crypto';
import { EVENT_COLUMNS, type ColumnType, type EventRow } from '../columns.js';
import type { DigestEntry } from '../integrity.js';

/** A row as either side spells it: column name → value. */
export type AnyRow = Readonly<Record<string, unknown>>;

const MIN_NORMAL = 2.2250738585072014e-308;

function number(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return null;
  return Math.abs(n) < MIN_NORMAL ? 0 : n;
}

function cell(type: ColumnType, v: unknown): unknown {
  switch (type) {
    case 'varchar':
    case 'json':
      return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
    case 'varchar[]':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))) : [];
    case 'integer':
    case 'double':
    case 'timestamp':
      return number(v);
  }
}

/** The canonical text of a row (see the module header). */
export function canonicalRow(row: AnyRow | EventRow): string {
  const r = row as AnyRow;
  return JSON.stringify(EVENT_COLUMNS.map(([name, type]) => cell(type, r[name])));
}

/** The digest entry of a row: the SHA-256 of its canonical text, with the event's identity and time. */
export function entryOf(row: AnyRow | EventRow): DigestEntry {
  const r = row as AnyRow;
  return {
    hash: createHash('sha256').update(canonicalRow(r)).digest('hex'),
    cluster: String(r.cluster ?? ''),
    auditID: String(r.audit_id ?? ''),
    stage: String(r.stage ?? ''),
    ts: Number(r.ts),
  };
}

/** The columns to select to read rows back for entryOf(), in table order. */
export const ENTRY_COLUMNS = EVENT_COLUMNS.map(([name]) => name).join(', ');
