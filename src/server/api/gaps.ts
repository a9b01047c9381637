// Gaps in the trail (`/api/v1/gaps`): silences of the streams that should be continuous, per cluster,
// computed inside the caller's scope (a scoped viewer sees the gaps of what it may read), and the
// webhook receiver's own evidence since the server started: requests refused (each refusal is retried
// by the API server, then the batch is dropped) and events that came again (retries), per source. The
// webhook evidence names every cluster, so a scoped viewer does not get it.
import type { FastifyInstance } from 'fastify';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { findGaps, type WebhookEvidence } from '../../gaps/find.js';
import { scopeNode } from '../auth/scope.js';
import type { CollectorMetrics } from '../metrics.js';
import { requestError, timeRangeOf, userOf, validate, type ApiContext, type Guard } from './common.js';

const gapsQuery = z.strictObject({
  since: z.string().default('24h'),
  until: z.string().optional(),
  cluster: z.string().max(1000).optional(),
  bucket: z.string().default('1m'),
  minConfidence: z
    .enum(['low', 'medium', 'high'], { error: 'must be low, medium or high' })
    .default('medium'),
});

const FLOORS = { low: 0, medium: 0.5, high: 0.8 } as const;

async function valuesOf(metrics: CollectorMetrics, name: string): Promise<MetricValue<string>[]> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) return [];
  const got = (await m.get()) as MetricObjectWithValues<MetricValue<string>>;
  return got.values;
}

/** The webhook receiver's counters, read from the server's metrics. */
export async function webhookEvidence(
  metrics: CollectorMetrics,
  startedAt: number,
): Promise<WebhookEvidence> {
  const refused: Record<string, number> = {};
  for (const v of await valuesOf(metrics, 'kubetrail_webhook_rejected_total'))
    if (v.value > 0) refused[String(v.labels.reason ?? 'unknown')] = v.value;
  const bySource = async (name: string) => {
    const out: Record<string, number> = {};
    for (const v of await valuesOf(metrics, name)) {
      const source = String(v.labels.source ?? '');
      if (source.startsWith('webhook:')) out[source] = v.value;
    }
    return out;
  };
  return {
    since: new Date(startedAt).toISOString(),
    refused,
    duplicates: await bySource('kubetrail_events_duplicates_total'),
    received: await bySource('kubetrail_events_received_total'),
  };
}

export function registerGapRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  const startedAt = Date.now();
  app.get('/api/v1/gaps', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(gapsQuery, req.query);
    const bucketMs = parseDuration(p.bucket);
    if (bucketMs === undefined || bucketMs < 1000 || bucketMs % 1000 !== 0)
      throw requestError('bucket', '`bucket` must be a whole number of seconds of at least 1s (10s, 1m, 5m)');
    const scope = scopeNode(user);
    const report = await findGaps(ctx.store, {
      ...timeRangeOf(p),
      ...(p.cluster !== undefined ? { cluster: p.cluster } : {}),
      ...(scope ? { scope } : {}),
      bucketMs,
      minConfidence: FLOORS[p.minConfidence],
    });
    return scope ? report : { ...report, webhook: await webhookEvidence(ctx.metrics, startedAt) };
  });
}
