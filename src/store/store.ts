// The Store interface every back end (DuckDB, ClickHouse) implements, and the shapes it exchanges: events
// (writes, queries, aggregations, history, retention), what detection keeps (src/store/detection.ts) and
// the store's tamper evidence (src/store/integrity.ts).
// Back ends are found through the registry in src/store/open.ts. A shared conformance suite
// (src/test-support/store-conformance.ts) runs against each implementation.
import type { EventRecord } from '../core/event.js';
import type { QueryNode } from '../query/syntax/ast.js';
import type { DetectionStorage, DetectionStorageOptions, StoredAlertLog } from './detection.js';
import type { IntegrityStorage } from './integrity.js';

/** A time range in epoch microseconds; either end may be open. `until` is exclusive. */
export interface TimeRange {
  since?: number;
  until?: number;
}

export interface WriteResult {
  /** Events newly stored. */
  stored: number;
  /** Events already present (same cluster, auditID, stage and content) and not stored again. */
  duplicates: number;
  /**
   * With `reportNew`: the positions (in the records written, ascending) of the records newly stored;
   * a record stored before, or repeated earlier in the same batch, is not listed.
   */
  fresh?: number[];
}

export interface WriteOptions {
  /** Say which records were newly stored (WriteResult.fresh), e.g. to stream each event once. */
  reportNew?: boolean;
}

export interface EventQuery extends TimeRange {
  filter: QueryNode;
  /** Maximum events to return. */
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  /** Default: newest first. */
  order?: 'desc' | 'asc';
}

export interface EventPage {
  records: EventRecord[];
  /** Set when more events match after this page. */
  nextCursor?: string;
}

export interface StatsQuery extends TimeRange {
  filter: QueryNode;
  /** A field name from the catalog (or annotation/JSON path) to group by. */
  by: string;
  limit: number;
}

export interface StatsRow {
  value: string | number | null;
  count: number;
}

export interface HistogramQuery extends TimeRange {
  filter: QueryNode;
  /** Bucket width in milliseconds. */
  intervalMs: number;
  /** Optional field to split each bucket by (top values only; the rest are counted as "other"). */
  splitBy?: string;
  splitLimit?: number;
}

export interface HistogramBucket {
  /** Bucket start, epoch microseconds. */
  start: number;
  /** Count per split value ("" when not split). */
  counts: Record<string, number>;
}

/** An object as named in history lookups. */
export interface ObjectKey {
  resource: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
  cluster?: string;
}

export interface Store {
  /** Kind of back end, for messages only: "duckdb" or "clickhouse". Never branch on it outside src/store/. */
  readonly kind: string;
  /**
   * The local file this store holds locked while it is open (a DuckDB file), if any: a server holding it
   * announces itself beside it (src/store/discovery.ts) so that commands read through the server.
   */
  readonly lockedFile?: string;
  /** Writes a batch durably; resolves only once the batch is committed. Idempotent. */
  write(records: readonly EventRecord[], opts?: WriteOptions): Promise<WriteResult>;
  query(q: EventQuery): Promise<EventPage>;
  count(filter: QueryNode, range?: TimeRange): Promise<number>;
  stats(q: StatsQuery): Promise<StatsRow[]>;
  histogram(q: HistogramQuery): Promise<HistogramBucket[]>;
  /** Every stored stage of the requests with this auditID, oldest first. */
  getByAuditId(auditID: string): Promise<EventRecord[]>;
  /** Every stored event about one object (its writes and reads), oldest first. */
  history(key: ObjectKey, range?: TimeRange): Promise<EventRecord[]>;
  /** Time span of stored events, or undefined when the store is empty. */
  span(): Promise<{ first: number; last: number; events: number } | undefined>;
  /**
   * Deletes events older than the given time (epoch µs); returns how many were removed. Appends a `prune`
   * digest record (src/store/integrity.ts) saying so.
   */
  deleteBefore(until: number): Promise<number>;
  /**
   * Where detection keeps its alerts, outbox and engine state for this store, created when absent: the
   * store's own file, or the local `stateFile` for a store shared by several collectors. Close the
   * result before the store.
   */
  detection(opts?: DetectionStorageOptions): Promise<DetectionStorage>;
  /**
   * The store's alerts, for reading and acknowledging. With `existing`, nothing is created, and
   * undefined means the store holds no alert tables (a read-only handle on a store detection never
   * wrote to).
   */
  alertLog(opts?: { existing?: boolean }): Promise<StoredAlertLog | undefined>;
  /**
   * The store's tamper evidence: its digest records, their entries and the rows they name, and the last
   * verification (src/store/integrity.ts). Every write that adds rows appends a digest record by itself.
   */
  integrity(): Promise<IntegrityStorage>;
  close(): Promise<void>;
}
