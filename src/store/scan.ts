// Answers computed in JavaScript from candidate rows, for filters a store's SQL does not evaluate whole
// (ClickHouse's JSON paths and annotations; every sealed field of an encrypted store, src/store/sealing.ts):
// a page of events filled from candidates read in (ts, content_hash) order, and counts per value or per
// time bucket from one pass over the candidates. Shared by every back end so they give the same answers.
import type { EventRecord } from '../core/event.js';
import type { ResolvedField } from '../fields/catalog.js';
import type { Predicate } from '../query/compile/js.js';
import { isScalar, scalarText, valuesOf } from '../query/semantics.js';
import { encodeCursor } from './paging.js';
import type { EventPage, HistogramBucket, StatsRow } from './store.js';

/** A position in the (ts, content_hash) order. */
export interface Key {
  t: number;
  hash: string;
}

/** A record with its position in the (ts, content_hash) order. */
export interface Located {
  record: EventRecord;
  t: number;
  hash: string;
}

/** One read of candidates: the rows, and whether the read reached the end of the candidates. */
export interface CandidateRead {
  rows: Located[];
  /** Position of the last candidate read (the next read starts after it). */
  last: Key | undefined;
  /** True when fewer candidates were left than asked for. */
  done: boolean;
}

export interface FillOptions {
  limit: number;
  /** Where the page starts (the decoded cursor). */
  after: Key | undefined;
  /** The JS predicate the candidates must pass; absent when every candidate matches. */
  post: Predicate | undefined;
  /** Most candidates read at once when post-filtering (reads grow up to it). */
  scanBatch: number;
  /** Most candidates read at once without a post-filter. */
  maxPage?: number;
}

/**
 * A page of events: candidates are read in order after the cursor and checked with `post` until one
 * more match than the page holds is found (so `nextCursor` is set only when more match) or the
 * candidates end. With a post-filter, each read is larger than the last, so a sparse filter costs few
 * reads. The cursor is the last returned event's position, as without a post-filter.
 */
export async function fillPage(
  read: (after: Key | undefined, size: number) => Promise<CandidateRead>,
  opts: FillOptions,
): Promise<EventPage> {
  const { limit, post } = opts;
  const page: Located[] = [];
  let after = opts.after;
  let size = post
    ? Math.min(Math.max(limit + 1, 256), opts.scanBatch)
    : Math.min(limit + 1, opts.maxPage ?? Number.POSITIVE_INFINITY);
  for (;;) {
    const r = await read(after, size);
    for (const row of r.rows) if (!post || post(row.record)) page.push(row);
    if (page.length > limit || r.done || !r.last) break;
    after = r.last;
    if (post) size = Math.min(size * 4, opts.scanBatch);
  }
  const more = page.length > limit;
  const kept = page.slice(0, limit);
  const records = kept.map((p) => p.record);
  const last = kept[kept.length - 1];
  return more && last ? { records, nextCursor: encodeCursor(last.t, last.hash) } : { records };
}

/** Grouping values of one event, as the SQL paths return them (distinct; none → [null]). */
export function groupValues(r: EventRecord, f: ResolvedField): (string | number | null)[] {
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

/** Counts per value of a field over the candidates that pass `post`: the top `limit`, as stats gives them. */
export async function statsFromScan(
  scan: AsyncIterable<Located[]>,
  post: Predicate | undefined,
  f: ResolvedField,
  limit: number,
): Promise<StatsRow[]> {
  const counts = new Map<string | number | null, number>();
  for await (const batch of scan) {
    for (const { record } of batch) {
      if (post && !post(record)) continue;
      for (const v of groupValues(record, f)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || compareValues(a.value, b.value))
    .slice(0, limit);
}

/** Adds `n` to a bucket's count of `key`. */
export function addToBucket(
  buckets: Map<number, Record<string, number>>,
  start: number,
  key: string,
  n: number,
): void {
  const counts = buckets.get(start) ?? {};
  counts[key] = (counts[key] ?? 0) + n;
  buckets.set(start, counts);
}

/**
 * Counts per time bucket over the candidates that pass `post`, split by the first value of `split`
 * (values outside `keep` count as "other"; "" when not split).
 */
export async function histogramFromScan(
  scan: AsyncIterable<Located[]>,
  post: Predicate | undefined,
  intervalUs: number,
  split: ResolvedField | undefined,
  keep: readonly string[],
): Promise<HistogramBucket[]> {
  const buckets = new Map<number, Record<string, number>>();
  const keepSet = new Set(keep);
  for await (const batch of scan) {
    for (const { record, t } of batch) {
      if (post && !post(record)) continue;
      let key = '';
      if (split) {
        const v = groupValues(record, split)[0] ?? null;
        const text = v === null ? '' : String(v);
        key = keepSet.has(text) ? text : 'other';
      }
      addToBucket(buckets, Math.floor(t / intervalUs) * intervalUs, key, 1);
    }
  }
  return sortedBuckets(buckets);
}

export function sortedBuckets(buckets: Map<number, Record<string, number>>): HistogramBucket[] {
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([start, counts]) => ({ start, counts }));
}
