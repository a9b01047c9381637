// What a field of the filter language is: its names, type, description, how its value is read from an
// event and, when it has one, the store column that holds it (name, type, whether it may be null); and
// the builder the catalog writes each field with. Browser-safe.
import type { EventRecord } from '../core/event.js';

export type FieldType = 'string' | 'number' | 'time' | 'duration';

/** Type of a store column, the same in every SQL dialect (each store maps it to its own type). */
export type ColumnType = 'varchar' | 'varchar[]' | 'integer' | 'double' | 'timestamp' | 'json';

/** Where and how a field is stored. */
export interface StoredColumn<C extends string = string, T extends ColumnType = ColumnType> {
  /** Column name, the same in every SQL dialect. */
  column: C;
  type: T;
  /** Never null in the store: an absent value is stored as '' (text) or 0 (numbers). */
  required?: boolean;
}

export interface FieldDef<S extends StoredColumn | undefined = StoredColumn | undefined> {
  /** Canonical name used in filters. */
  name: string;
  /** Other names accepted in filters. */
  aliases: readonly string[];
  type: FieldType;
  /** True when the field holds several values; a filter matches when any value matches. */
  multi: boolean;
  description: string;
  /** Where the value is in the audit event, as a JSON path for people. */
  source: string;
  /** Store column (same name in every SQL dialect); empty for a computed field. */
  column: string;
  /** The store column's name and type; undefined for a computed field. */
  store: S;
  /**
   * A field with no stored column: DuckDB computes it with this SQL expression over the stored columns
   * (constants only, no parameters); ClickHouse evaluates filters on it after the query, with `get`.
   */
  computed?: { duckdb: string };
  /** Included in free-text search. */
  text: boolean;
  /** Value as read from an event: string, number (code; latency in ms; time in epoch µs), string[] or undefined. */
  get(record: EventRecord): string | number | readonly string[] | undefined;
  /** Examples for documentation and autocomplete. */
  examples: readonly string[];
}

/** A field as written in the catalog: what FieldDef holds, with defaults for the optional parts. */
interface FieldSpec<S extends StoredColumn | undefined> {
  name: string;
  aliases?: readonly string[];
  type: FieldType;
  multi?: boolean;
  /** The store column; leave out for a computed field and give `computed` instead. */
  store?: S;
  computed?: { duckdb: string };
  source: string;
  description: string;
  get: FieldDef['get'];
  text?: boolean;
  examples?: readonly string[];
}

export function field<const S extends StoredColumn | undefined = undefined>(spec: FieldSpec<S>): FieldDef<S> {
  return {
    ...(spec.computed ? { computed: spec.computed } : {}),
    name: spec.name,
    aliases: spec.aliases ?? [],
    type: spec.type,
    multi: spec.multi ?? false,
    description: spec.description,
    source: spec.source,
    column: spec.store?.column ?? '',
    store: spec.store as S,
    text: spec.text ?? false,
    get: spec.get,
    examples: spec.examples ?? [],
  };
}
