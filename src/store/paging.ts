// Paging: the opaque page cursor both store back ends issue (the last row's time and content hash, so
// pages stay stable while events arrive), the one reader that follows it through every matching event
// (for any Store, remote ones included), and the lock that serializes the back ends' writes.
import { KubetrailError } from '../core/errors.js';
import type { EventRecord } from '../core/event.js';
import type { QueryNode } from '../query/syntax/ast.js';
import type { Store, TimeRange } from './store.js';

export function encodeCursor(t: number, hash: string): string {
  return Buffer.from(JSON.stringify([t, hash])).toString('base64url');
}

export function decodeCursor(cursor: string): { t: number; hash: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && Number.isSafeInteger(v[0]) && typeof v[1] === 'string')
      return { t: v[0] as number, hash: v[1] };
  } catch {
    // fall through to the error below
  }
  throw new KubetrailError('KT_USAGE', 'the cursor is not one this server issued', {
    where: { path: 'cursor' },
    hint: 'pass back the nextCursor of the previous page unchanged, or leave cursor out for the first page',
  });
}

export interface AllEventsOptions extends TimeRange {
  /** Which events; every one when left out. */
  filter?: QueryNode;
  /** Events asked for per page (default 5000). */
  pageSize?: number;
  /** Read at most this many events. */
  max?: number;
  /** Filled in as pages are read: events read, and whether more matched than `max`. */
  progress?: { events: number; truncated: boolean };
}

const ALL: QueryNode = { type: 'all' };

/** Every matching event, oldest first, one page at a time (pages are never empty). */
export async function* allEvents(
  store: Pick<Store, 'query'>,
  opts: AllEventsOptions = {},
): AsyncGenerator<EventRecord[]> {
  const { filter = ALL, pageSize = 5000, max = Infinity, since, until } = opts;
  const progress = opts.progress ?? { events: 0, truncated: false };
  const range = { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
  const page = (limit: number, cursor: string | undefined) =>
    store.query({ filter, ...range, limit, order: 'asc', ...(cursor ? { cursor } : {}) });
  let cursor: string | undefined;
  for (;;) {
    const limit = Math.min(pageSize, max - progress.events);
    if (limit <= 0) {
      progress.truncated = (await page(1, cursor)).records.length > 0;
      return;
    }
    const r = await page(limit, cursor);
    progress.events += r.records.length;
    if (r.records.length > 0) yield r.records;
    if (!r.nextCursor) return;
    cursor = r.nextCursor;
  }
}

/** Runs async sections one at a time, in call order; a failed section does not block the next. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
