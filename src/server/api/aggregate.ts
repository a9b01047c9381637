// Aggregations over stored events: the time histogram with an automatic interval and an optional split
// (`/api/v1/histogram`), the top values of a field (`/api/v1/top`), the field catalog and field values
// for autocomplete (`/api/v1/fields`, `/api/v1/values`). All are computed inside the caller's scope, and
// the filter, split and field parameters go through the shared guard (no body field without bodies).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { FIELDS } from '../../fields/catalog.js';
import type { QueryNode } from '../../query/index.js';
import type { HistogramBucket, TimeRange } from '../../store/store.js';
import {
  fieldOf,
  filterOf,
  limitParam,
  requestError,
  timeRangeOf,
  userOf,
  validate,
  type ApiContext,
  type Guard,
} from './common.js';

const histogramQuery = z.strictObject({
  q: z.string().max(10_000).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  interval: z.string().default('auto'),
  split: z.string().max(200).optional(),
  splitLimit: limitParam(50, 8),
});

const topQuery = z.strictObject({
  field: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(200),
  q: z.string().max(10_000).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  limit: limitParam(1000, 10),
});

const valuesQuery = z.strictObject({
  field: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(200),
  prefix: z.string().max(500).optional(),
  q: z.string().max(10_000).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  limit: limitParam(100, 20),
});

/** Bucket widths the automatic interval picks from, in ms. */
const NICE_MS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
].map((s) => s * 1000);

/** The most buckets a histogram answers with. */
export const MAX_BUCKETS = 5000;

/** The narrowest nice width giving at most 120 buckets over `spanMs` (so about 60–120). */
export function autoInterval(spanMs: number): number {
  for (const w of NICE_MS) if (spanMs / w <= 120) return w;
  return Math.ceil(spanMs / 120 / 86_400_000) * 86_400_000;
}

/** The time range to aggregate over: the request's, with open ends closed by the stored span and now. */
async function closedRange(
  ctx: ApiContext,
  range: TimeRange,
): Promise<{ since: number; until: number } | undefined> {
  const until = range.until ?? Date.now() * 1000;
  if (range.since !== undefined) return { since: range.since, until };
  const span = await ctx.store.span();
  if (!span) return undefined;
  return { since: Math.min(span.first, until - 1), until: range.until ?? Math.max(until, span.last + 1) };
}

export function registerAggregateRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/histogram', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(histogramQuery, req.query);
    const filter = filterOf(user, p.q);
    if (p.split !== undefined) fieldOf(user, 'split', p.split);
    const range = await closedRange(ctx, timeRangeOf(p));
    if (!range) return { intervalMs: 60_000, buckets: [] };
    const spanMs = (range.until - range.since) / 1000;
    let intervalMs: number;
    if (p.interval === 'auto') intervalMs = autoInterval(spanMs);
    else {
      const d = parseDuration(p.interval);
      if (d === undefined || d < 1000)
        throw requestError('interval', '`interval` must be auto or a duration of at least 1s (1m, 1h, 1d)');
      intervalMs = d;
    }
    if (spanMs / intervalMs > MAX_BUCKETS)
      throw requestError(
        'interval',
        `\`interval\` ${p.interval} gives ${Math.ceil(spanMs / intervalMs)} buckets over this range; at most ${MAX_BUCKETS} are answered`,
        'choose a wider interval or a shorter range, or use interval=auto',
      );
    const rows = await ctx.store.histogram({
      filter,
      since: range.since,
      until: range.until,
      intervalMs,
      ...(p.split !== undefined ? { splitBy: p.split, splitLimit: p.splitLimit } : {}),
    });
    return { intervalMs, buckets: fill(rows, range, intervalMs, p.split !== undefined) };
  });

  app.get('/api/v1/top', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(topQuery, req.query);
    fieldOf(user, 'field', p.field);
    const filter = filterOf(user, p.q);
    const range = timeRangeOf(p);
    const [rows, total] = await Promise.all([
      ctx.store.stats({ filter, by: p.field, limit: p.limit, ...range }),
      ctx.store.count(filter, range),
    ]);
    return { field: p.field, total, rows };
  });

  app.get('/api/v1/fields', guard(), async () => ({
    fields: FIELDS.map((f) => ({
      name: f.name,
      aliases: [...f.aliases],
      type: f.type,
      multi: f.multi,
      description: f.description,
      examples: [...f.examples],
    })),
  }));

  app.get('/api/v1/values', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(valuesQuery, req.query);
    fieldOf(user, 'field', p.field);
    let filter = filterOf(user, p.q);
    if (p.prefix) {
      const prefixNode: QueryNode = {
        type: 'match',
        field: p.field,
        value: { text: `${p.prefix}*`, quoted: false, wildcard: true, parts: [p.prefix, ''] },
      };
      filter = filter.type === 'all' ? prefixNode : { type: 'and', children: [filter, prefixNode] };
    }
    const rows = await ctx.store.stats({ filter, by: p.field, limit: p.limit + 1, ...timeRangeOf(p) });
    const values = rows.filter(
      (r) => r.value !== null && r.value !== '' && (!p.prefix || String(r.value).startsWith(p.prefix)),
    );
    return { values: values.slice(0, p.limit) };
  });
}

/** Buckets from the range's start to its end, empty ones included, with RFC 3339 starts. */
function fill(
  rows: HistogramBucket[],
  range: { since: number; until: number },
  intervalMs: number,
  split: boolean,
): { start: string; counts: Record<string, number> }[] {
  const us = intervalMs * 1000;
  const byStart = new Map(rows.map((b) => [b.start, b.counts]));
  const out: { start: string; counts: Record<string, number> }[] = [];
  const key = (counts: Record<string, number>) =>
    split ? counts : { all: Object.values(counts).reduce((a, b) => a + b, 0) };
  for (let t = Math.floor(range.since / us) * us; t < range.until; t += us) {
    out.push({ start: new Date(t / 1000).toISOString(), counts: key(byStart.get(t) ?? {}) });
  }
  return out;
}
