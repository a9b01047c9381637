// What every format of src/ingest/formats/ shares: the result of normalizing one record (an
// audit.k8s.io/v1 Event or the reason it is not one, with the path of the offending field), the options,
// and the two kinds of format the registry holds: a document format recognizes a container of records
// and expands it; a record format recognizes one record's shape and turns it into an Event.
import type { AuditEvent } from '../../core/event.js';
import { parseJsonText } from '../json-text.js';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A normalized record, or why it is not an event: the offending field's path and, for a record taken out
 * of a container (an EventList's item), the record itself, so that what is set aside is the one record
 * and not the whole document again for each bad item.
 */
export type Normalized = { event: AuditEvent } | { error: string; path?: string; record?: unknown };

export interface NormalizeOptions {
  /** Timestamp to use when a record has none (otherwise such a record is refused). */
  defaultTime?: string;
}

/** Normalizes one record of any supported shape (the registry's entry point, handed to the formats). */
export type NormalizeRecord = (value: unknown, opts: NormalizeOptions) => Normalized;

/** A container of records: an EventList, AKS diagnostic `records`, CloudWatch `logEvents`. */
export interface DocumentFormat {
  readonly name: string;
  recognize(doc: Obj): boolean;
  /** The records it holds, each normalized by `record`, errors placed by their path in the document. */
  expand(doc: Obj, opts: NormalizeOptions, record: NormalizeRecord): Normalized[];
}

/** One record's shape: an audit Event of some version, an EKS, AKS or GKE log entry. */
export interface RecordFormat {
  readonly name: string;
  recognize(rec: Obj): boolean;
  normalize(rec: Obj, opts: NormalizeOptions, record: NormalizeRecord): Normalized;
}

/** One shape of input: at the document level, the record level, or both. */
export interface Format {
  readonly name: string;
  readonly document?: DocumentFormat;
  readonly record?: RecordFormat;
}

export function fail(error: string, path?: string): Normalized {
  return path === undefined ? { error } : { error, path };
}

export function typeName(v: unknown): string {
  return v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : `a ${typeof v}`;
}

/** Places an error under `prefix` (`items[3]`, `properties.log`). */
export function withPath(n: Normalized, prefix: string): Normalized {
  if ('event' in n) return n;
  return { error: n.error, path: n.path ? `${prefix}.${n.path}` : prefix };
}

/** Normalizes each element of a list with its index in the path (`items[3]`). */
export function expandList(list: unknown[], key: string, opts: NormalizeOptions, record: NormalizeRecord) {
  return list.map((item, i): Normalized => {
    const n = withPath(record(item, opts), `${key}[${i}]`);
    return 'event' in n ? n : { ...n, record: item };
  });
}

/**
 * The options for an event embedded in an outer record: the outer record's `time` or `timestamp` stands
 * in for an event that has no timestamp of its own.
 */
export function withOuterTime(rec: Obj, opts: NormalizeOptions): NormalizeOptions {
  const outerTime =
    typeof rec.time === 'string' ? rec.time : typeof rec.timestamp === 'string' ? rec.timestamp : undefined;
  return outerTime && !opts.defaultTime ? { defaultTime: outerTime } : opts;
}

/** Parses an event carried as JSON text inside another record and normalizes it. */
export function parseEmbedded(text: string, opts: NormalizeOptions, record: NormalizeRecord): Normalized {
  let inner: unknown;
  try {
    inner = parseJsonText(text);
  } catch (err) {
    return fail(`embedded event is not valid JSON: ${(err as Error).message}`);
  }
  return record(inner, opts);
}
