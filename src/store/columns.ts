// The stored shape of an event: typed columns for the fields people filter and group on, plus the whole
// event as JSON. The columns, their types, the row type and the row builder are derived from the field
// catalog (each field with a store column declares its name and type there, and the value is read once,
// by the field's own reader); this module adds the columns no field reads (the content hash, the
// annotations and the event) and fixes the table order. Shared by every store dialect so that a column
// name means the same thing everywhere. Also computes the content hash that makes writes idempotent.
import crypto, { createHash } from 'node:crypto';
import type { EventRecord } from '../core/event.js';
import { FIELDS, type ColumnType, type FieldDef, type StoredColumn } from '../fields/catalog.js';

export type { ColumnType };

/** The catalog's fields that have a store column. */
type StoredField = Extract<(typeof FIELDS)[number], { store: StoredColumn }>;

/** A column's value in a row: lists of strings, text, or numbers (times in epoch µs); null when absent. */
type RowValue<S extends StoredColumn> = S['type'] extends 'varchar[]'
  ? string[]
  : S['type'] extends 'varchar' | 'json'
    ? S extends { required: true }
      ? string
      : string | null
    : S extends { required: true }
      ? number
      : number | null;

type FieldColumns = { [F in StoredField as F['store']['column']]: RowValue<F['store']> };

/** One row ready for a store: timestamps as epoch microseconds, JSON columns as text, absent values null. */
export interface EventRow extends FieldColumns {
  /** Hash of the cluster and the event JSON: with cluster, audit_id and stage, the event's identity. */
  content_hash: string;
  /** The event's annotations as JSON text; null when it has none. */
  annotations: string | null;
  /** The whole audit event as JSON text. */
  event: string;
}

export type ColumnName = keyof EventRow;

/** The columns that identify an event, first in the table, followed by content_hash. */
const IDENTITY: readonly ColumnName[] = ['cluster', 'audit_id', 'stage'];

const STORED_FIELDS = FIELDS.filter((f): f is StoredField => f.store !== undefined);
const storedType = (column: ColumnName): ColumnType =>
  STORED_FIELDS.find((f) => f.store.column === column)!.store.type;

/**
 * Column name → type, in table order: the identity columns, content_hash, every other field's column in
 * catalog order, then annotations and the event JSON. The order is the stored one (stores written before
 * insert by position), so a new field's column goes last in the catalog and in a migration.
 */
export const EVENT_COLUMNS: readonly (readonly [ColumnName, ColumnType])[] = [
  ...IDENTITY.map((c) => [c, storedType(c)] as const),
  ['content_hash', 'varchar'],
  ...STORED_FIELDS.filter((f) => !IDENTITY.includes(f.store.column)).map(
    (f) => [f.store.column, f.store.type] as const,
  ),
  ['annotations', 'json'],
  ['event', 'json'],
];

type FieldValue = ReturnType<FieldDef['get']>;
type Cell = EventRow[ColumnName];

/**
 * The response code column (a 32-bit integer in every store): a whole number in range, else null (the
 * event itself is still stored whole). A hostile code such as 1e12 must not make the batch unstorable.
 */
function int32(code: FieldValue): number | null {
  if (typeof code !== 'number' || !Number.isFinite(code)) return null;
  const c = Math.trunc(code);
  return c >= -2147483648 && c <= 2147483647 ? c : null;
}

const strings = (v: FieldValue): string[] =>
  Array.isArray(v) ? (v as readonly unknown[]).filter((x): x is string => typeof x === 'string') : [];

/** How a field's value becomes a cell: text, a list of strings, a 32-bit integer or another number. */
const enum Kind {
  Text,
  List,
  Int32,
  Number,
}

const kindOf = (type: ColumnType): Kind =>
  type === 'varchar[]'
    ? Kind.List
    : type === 'integer'
      ? Kind.Int32
      : type === 'double' || type === 'timestamp'
        ? Kind.Number
        : Kind.Text;

/** The cell of an absent value: '' or 0 in a required column, else null. */
const absent = ({ type, required }: StoredColumn): Cell =>
  !required ? null : kindOf(type) === Kind.Text ? '' : kindOf(type) === Kind.Number ? 0 : null;

/** The cell of an absent value, as a JavaScript literal. */
const absentLiteral = (f: StoredField): string => JSON.stringify(absent(f.store));

/**
 * Builds a row's columns from a record, in table order. The builder's body is written once, when this
 * module loads, from the catalog's column list: one object literal with a call to each field's reader, so
 * that every row has the same fast-access shape and each read and cell is its own call site that the
 * engine can inline. A loop over the columns that stores cells under computed names measured 10-20%
 * slower, and this is the write path's hottest function. Only column names (checked to be plain
 * identifiers), literals for absent values and parameter names go into the source; the readers are passed
 * as arguments, never as text.
 */
function rowBuilder(): (record: EventRecord) => Record<ColumnName, Cell> {
  const readers: FieldDef['get'][] = [];
  const cells = EVENT_COLUMNS.map(([column]) => {
    if (!/^[a-z][a-z0-9_]*$/.test(column)) throw new Error(`column name ${column} is not an identifier`);
    const f = STORED_FIELDS.find((x) => x.store.column === column);
    if (!f) return `${column}: null`;
    readers.push(f.get);
    const read = `read${readers.length - 1}(record)`;
    switch (kindOf(f.store.type)) {
      case Kind.Text:
        return `${column}: typeof (v = ${read}) === 'string' ? v : ${absentLiteral(f)}`;
      case Kind.List:
        return `${column}: strings(${read})`;
      case Kind.Int32:
        return `${column}: int32(${read})`;
      case Kind.Number:
        return `${column}: typeof (v = ${read}) === 'number' ? v : ${absentLiteral(f)}`;
    }
  });
  const params = [...readers.map((_, i) => `read${i}`), 'strings', 'int32'];
  const body = `return function columns(record) {\n  let v;\n  return {\n    ${cells.join(',\n    ')},\n  };\n};`;
  const make = new Function(...params, body) as (
    ...args: unknown[]
  ) => (r: EventRecord) => Record<ColumnName, Cell>;
  return make(...readers, strings, int32);
}

const columnsOf = rowBuilder();

const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/**
 * Content hash of an event: identical events (what retries and re-reads produce) hash the same, distinct
 * events that share an auditID and stage do not. `eventJson` is JSON.stringify(event).
 */
export function contentHash(cluster: string, eventJson: string): string {
  // The same bytes as always (UTF-8 of cluster, NUL, event JSON) through SHA-1, so stores written
  // before keep deduplicating; the one-shot hash (Node >= 20.12) skips building a Hash object per event.
  return oneShot
    ? oneShot('sha1', `${cluster}\0${eventJson}`, 'hex').slice(0, 32)
    : createHash('sha1').update(cluster).update('\0').update(eventJson).digest('hex').slice(0, 32);
}

/** Turns a record into a row. `eventJson` may be passed when the caller already serialized the event. */
export function toRow(record: EventRecord, eventJson?: string): EventRow {
  const e = record.event;
  const json = eventJson ?? JSON.stringify(e);
  const row = columnsOf(record);
  row.content_hash = contentHash(record.cluster, json);
  row.annotations =
    e.annotations && Object.keys(e.annotations).length > 0 ? JSON.stringify(e.annotations) : null;
  row.event = json;
  return row as unknown as EventRow;
}
