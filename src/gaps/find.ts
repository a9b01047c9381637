// Gaps in the stored trail: counts each watched stream per cluster and time bucket with the store's
// histogram (one SQL aggregation per stream, split by cluster, so months of events are never read one by
// one), finds the silences in those counts (silence.ts), and reads each gap's exact bounds from the store
// (the last event of the silent streams before it, the first after it).
import type { EventRecord } from '../core/event.js';
import { eventTime, microsToTime } from '../core/time.js';
import type { QueryNode } from '../query/index.js';
import type { Store } from '../store/store.js';
import { DEFAULT_SILENCE, gapsOf, type Series, type SilenceOptions } from './silence.js';
import { STREAMS, streamFilter } from './streams.js';

export interface GapOptions {
  /** Epoch µs; default: the first stored event. */
  since?: number;
  /** Epoch µs, exclusive; default: just after the last stored event. */
  until?: number;
  cluster?: string;
  /** A filter every counted event must also match (an API caller's scope). */
  scope?: QueryNode;
  /** Bucket width (default one minute); widened when the range would need more than MAX_BUCKETS. */
  bucketMs?: number;
  /** Gaps below this confidence are left out (default 0.5: medium and high). */
  minConfidence?: number;
  silence?: SilenceOptions;
  /** Most gaps whose bounds are read from the store; the others keep their bucket bounds. */
  maxRefined?: number;
}

export const DEFAULT_BUCKET_MS = 60_000;
/** Most buckets per stream and cluster: a year at one minute. */
export const MAX_BUCKETS = 530_000;

export type ConfidenceLevel = 'high' | 'medium' | 'low';

export function confidenceLevel(c: number): ConfidenceLevel {
  return c >= 0.8 ? 'high' : c >= 0.5 ? 'medium' : 'low';
}

export interface Gap {
  cluster: string;
  /** The last event of the silent streams before the gap (RFC 3339); at bucket precision when not read. */
  start: string;
  /** The first event after it; absent while the cluster has not come back. */
  end?: string;
  /** Length in seconds (up to the end of the range when open). */
  seconds: number;
  open: boolean;
  confidence: number;
  level: ConfidenceLevel;
  silent: string[];
  goingOn: string[];
  expectedMissing: number;
  /** True when every cluster fell silent together: the collector itself was probably stopped. */
  allClusters: boolean;
  /** Whether start and end are the exact times of the events around the gap. */
  exact: boolean;
}

export interface StreamSummary {
  name: string;
  events: number;
  /** Events per minute over the cluster's buckets with any event. */
  perMinute: number;
}

export interface ClusterSummary {
  cluster: string;
  events: number;
  streams: StreamSummary[];
}

/** What the webhook receiver itself saw since the server started (the running server only). */
export interface WebhookEvidence {
  since: string;
  /** Webhook requests refused, by reason: a refused batch is retried by the API server, then dropped. */
  refused: Record<string, number>;
  /** Events already stored that came again, per webhook source: the API server's retries. */
  duplicates: Record<string, number>;
  received: Record<string, number>;
}

export interface GapReport {
  since?: string;
  until?: string;
  bucketSeconds: number;
  /** Set when the bucket was widened to keep the count of buckets bounded. */
  widened?: boolean;
  clusters: ClusterSummary[];
  gaps: Gap[];
  webhook?: WebhookEvidence;
}

function within(node: QueryNode, scope: QueryNode | undefined): QueryNode {
  return scope ? { type: 'and', children: [scope, node] } : node;
}

function or(nodes: QueryNode[]): QueryNode {
  return nodes.length === 1 ? nodes[0]! : { type: 'or', children: nodes };
}

/** Finds the gaps of the stored trail. */
export async function findGaps(store: Store, opts: GapOptions = {}): Promise<GapReport> {
  const span = opts.since === undefined || opts.until === undefined ? await store.span() : undefined;
  const since = opts.since ?? span?.first;
  const until = opts.until ?? (span ? span.last + 1 : undefined);
  let bucketMs = opts.bucketMs ?? DEFAULT_BUCKET_MS;
  const empty: GapReport = { bucketSeconds: bucketMs / 1000, clusters: [], gaps: [] };
  if (since === undefined || until === undefined || since >= until) return empty;
  let widened = false;
  if ((until - since) / (bucketMs * 1000) > MAX_BUCKETS) {
    bucketMs = Math.ceil((until - since) / 1000 / MAX_BUCKETS / 1000) * 1000;
    widened = true;
  }
  const bucketUs = bucketMs * 1000;
  // Whole buckets, aligned as the histogram aligns them (on the epoch).
  const b0 = Math.floor(since / bucketUs) * bucketUs;
  const end = Math.ceil(until / bucketUs) * bucketUs;
  const n = Math.max(1, Math.round((end - b0) / bucketUs));
  const silence = opts.silence ?? DEFAULT_SILENCE;

  const counts = new Map<string, Map<string, Float64Array>>();
  for (const stream of STREAMS) {
    const buckets = await store.histogram({
      filter: within(streamFilter(stream, opts.cluster), opts.scope),
      since: b0,
      until: end,
      intervalMs: bucketMs,
      splitBy: 'cluster',
      splitLimit: 1000,
    });
    for (const b of buckets) {
      const i = Math.round((b.start - b0) / bucketUs);
      if (i < 0 || i >= n) continue;
      for (const [cluster, c] of Object.entries(b.counts)) {
        let byStream = counts.get(cluster);
        if (!byStream) counts.set(cluster, (byStream = new Map()));
        let arr = byStream.get(stream.name);
        if (!arr) byStream.set(stream.name, (arr = new Float64Array(n)));
        arr[i]! += c;
      }
    }
  }
  const clusters = [...counts.keys()].filter((c) => c !== 'other').sort();
  const allOf = (c: string) => counts.get(c)!.get('all-events') ?? new Float64Array(n);
  // Whether some other cluster had events in a bucket of [from, to), the last (partial) bucket left out.
  const othersWentOn = (me: string) => (from: number, to: number) =>
    clusters.some((c) => {
      if (c === me) return false;
      const a = allOf(c);
      let busy = 0;
      for (let i = from; i < Math.min(to, n - 1); i++) if (a[i]! > 0) busy++;
      return busy >= 2;
    });

  const summaries: ClusterSummary[] = [];
  const found: (Gap & { fromB: number; toB: number; silentFilters: QueryNode[] })[] = [];
  for (const cluster of clusters) {
    const byStream = counts.get(cluster)!;
    const all = allOf(cluster);
    let active = 0;
    for (let i = 0; i < n; i++) if (all[i]! > 0) active++;
    const series: Series[] = STREAMS.map((s) => ({
      name: s.name,
      heartbeat: s.heartbeat,
      counts: byStream.get(s.name) ?? new Float64Array(n),
    }));
    summaries.push({
      cluster,
      events: sumOf(all),
      streams: series.map((s) => {
        const events = sumOf(s.counts);
        return {
          name: s.name,
          events,
          perMinute: active > 0 ? round2(events / ((active * bucketMs) / 60_000)) : 0,
        };
      }),
    });
    for (const g of gapsOf(series, silence, othersWentOn(cluster))) {
      if (g.confidence < (opts.minConfidence ?? 0.5)) continue;
      const startUs = b0 + g.from * bucketUs;
      const endUs = g.open ? until : b0 + g.to * bucketUs;
      found.push({
        cluster,
        start: microsToTime(startUs),
        ...(g.open ? {} : { end: microsToTime(endUs) }),
        seconds: Math.round((endUs - startUs) / 1e6),
        open: g.open,
        confidence: g.confidence,
        level: confidenceLevel(g.confidence),
        silent: g.silent,
        goingOn: g.goingOn,
        expectedMissing: g.expectedMissing,
        allClusters: false,
        exact: false,
        fromB: g.from,
        toB: g.to,
        silentFilters: STREAMS.filter((s) => g.silent.includes(s.name)).map((s) =>
          within(streamFilter(s, cluster), opts.scope),
        ),
      });
    }
  }
  // A gap every cluster shares (over most of its length) says the collector stopped, not one cluster.
  if (clusters.length > 1) {
    for (const g of found) {
      g.allClusters = clusters.every((c) =>
        found.some((o) => o.cluster === c && o.fromB < g.toB && g.fromB < o.toB),
      );
    }
  }
  const maxRefined = opts.maxRefined ?? 200;
  const gaps: Gap[] = [];
  for (const [k, g] of found.entries()) {
    const { fromB, toB, silentFilters, ...gap } = g;
    if (k < maxRefined) {
      const filter = or(silentFilters);
      const w = silence.window * bucketUs;
      const fromUs = b0 + fromB * bucketUs;
      const toUs = b0 + toB * bucketUs;
      const before = await store.query({ filter, since: fromUs - w, until: fromUs, limit: 1, order: 'desc' });
      const startT = timeOf(before.records[0]);
      if (startT !== undefined) gap.start = startT;
      let endT: string | undefined;
      if (!g.open) {
        const after = await store.query({ filter, since: toUs, until: toUs + w, limit: 1, order: 'asc' });
        endT = timeOf(after.records[0]);
        if (endT !== undefined) gap.end = endT;
      }
      gap.exact = startT !== undefined && (g.open || endT !== undefined);
      const endMs = gap.end ? Date.parse(gap.end) : until / 1000;
      gap.seconds = Math.max(0, Math.round((endMs - Date.parse(gap.start)) / 1000));
    }
    gaps.push(gap);
  }
  gaps.sort((a, b) => a.start.localeCompare(b.start) || a.cluster.localeCompare(b.cluster));
  return {
    since: microsToTime(since),
    until: microsToTime(until),
    bucketSeconds: bucketMs / 1000,
    ...(widened ? { widened } : {}),
    clusters: summaries,
    gaps,
  };
}

function timeOf(r: EventRecord | undefined): string | undefined {
  return r ? eventTime(r.event) : undefined;
}

function sumOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
