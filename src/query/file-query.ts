// Queries raw audit log records without a store: keeps those the filter and time range accept, and
// gives the newest (or oldest) `limit` of them with the total count of matches. Memory is bounded by the
// limit, not by the input. `query --file` runs it as the sink of the pipeline's topology
// (src/pipeline/file-query.ts), one per file, merged in file order; the order among events of the same
// time is the order they were read in.
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

/** The matches of a filter over batches of records, newest (or oldest) first, at most `limit` kept. */
export class NewestMatches {
  private readonly accept: (r: EventRecord) => boolean;
  private kept: { t: number; r: EventRecord }[] = [];
  private matched = 0;

  /** `now` (epoch ms) anchors relative times such as `now-1h`. */
  constructor(
    private readonly opts: FileQueryOptions,
    now?: number,
  ) {
    this.accept = compileJs(opts.filter, now);
  }

  add(batch: readonly EventRecord[]): void {
    const { since, until } = this.opts;
    for (const r of batch) {
      if (!this.accept(r)) continue;
      const t = timeToMicros(eventTime(r.event)) ?? 0;
      if (since !== undefined && t < since) continue;
      if (until !== undefined && t >= until) continue;
      this.matched++;
      this.kept.push({ t, r });
    }
    if (this.kept.length > this.opts.limit * 2 + 1000) this.trim();
  }

  /** Takes in the matches of `later` (read after every record added here so far), as if added in order. */
  merge(later: NewestMatches): void {
    this.matched += later.matched;
    for (const k of later.kept) this.kept.push(k);
    if (this.kept.length > this.opts.limit * 2 + 1000) this.trim();
  }

  private trim(): void {
    const asc = this.opts.order === 'asc';
    this.kept.sort((a, b) => (asc ? a.t - b.t : b.t - a.t));
    this.kept = this.kept.slice(0, this.opts.limit);
  }

  result(): FileQueryResult {
    this.trim();
    return { records: this.kept.map((k) => k.r), matched: this.matched };
  }
}
