// Queries raw audit log files without importing them: streams the events, keeps those the filter and
// time range accept, and returns the newest `limit` of them with the total count of matches. Memory is
// bounded by the limit, not by the input.
import type { EventRecord } from '../core/event.js';
import { eventTime, timeToMicros } from '../core/time.js';
import { compileJs } from './index.js';
import type { QueryNode } from './syntax/ast.js';

export interface FileQueryResult {
  records: EventRecord[];
  matched: number;
}

export interface FileQueryOptions {
  filter: QueryNode;
  since?: number;
  until?: number;
  limit: number;
  order?: 'desc' | 'asc';
}

export async function queryBatches(
  source: AsyncIterable<EventRecord[]>,
  opts: FileQueryOptions,
): Promise<FileQueryResult> {
  const accept = compileJs(opts.filter);
  const asc = opts.order === 'asc';
  let kept: { t: number; r: EventRecord }[] = [];
  let matched = 0;
  const trim = () => {
    kept.sort((a, b) => (asc ? a.t - b.t : b.t - a.t));
    kept = kept.slice(0, opts.limit);
  };
  for await (const batch of source) {
    for (const r of batch) {
      if (!accept(r)) continue;
      const t = timeToMicros(eventTime(r.event)) ?? 0;
      if (opts.since !== undefined && t < opts.since) continue;
      if (opts.until !== undefined && t >= opts.until) continue;
      matched++;
      kept.push({ t, r });
    }
    if (kept.length > opts.limit * 2 + 1000) trim();
  }
  trim();
  return { records: kept.map((k) => k.r), matched };
}
