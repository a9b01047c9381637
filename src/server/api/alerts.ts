// Alerts and rules: stored alerts with their acknowledgement (`/api/v1/alerts`, newest first), acknowledging
// one (`POST /api/v1/alerts/{id}/ack`), and the detection rules in effect (`/api/v1/rules`). A viewer sees
// only alerts whose triggering events are all in its scope. Alerts are read through the store's AlertLog:
// the DuckDB store's own tables, or ClickHouse's, where every collector's alerts are delivered.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { KubetrailError } from '../../core/errors.js';
import type { AlertLog } from '../../core/alert.js';
import { SEVERITIES, type Severity } from '../../detect/types.js';
import {
  limitParam,
  requestError,
  timeRangeOf,
  userOf,
  validate,
  type ApiContext,
  type Guard,
} from './common.js';
import { alertsInScope } from './events.js';

const alertsQuery = z.strictObject({
  since: z.string().optional(),
  until: z.string().optional(),
  severity: z.string().max(200).optional(),
  rule: z.string().max(2000).optional(),
  status: z.enum(['open', 'acked', 'all'], { error: 'must be open, acked or all' }).default('all'),
  limit: limitParam(1000, 500),
});

function alertLog(ctx: ApiContext): AlertLog {
  if (!ctx.alerts)
    throw new KubetrailError('KT_STORE_OPEN', `the alerts of this ${ctx.store.kind} store cannot be read`, {
      hint: "see the server's log for why",
    });
  return ctx.alerts;
}

/** Splits a comma-separated list parameter. */
function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function registerAlertRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/alerts', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(alertsQuery, req.query);
    const severities = list(p.severity);
    for (const s of severities)
      if (!(SEVERITIES as readonly string[]).includes(s))
        throw requestError(
          'severity',
          `\`severity\` ${JSON.stringify(s)} is not one of ${SEVERITIES.join(', ')}`,
        );
    const rules = list(p.rule);
    const store = alertLog(ctx);
    const range = timeRangeOf(p);
    // Read more than asked for: acknowledgement and scope filters apply after.
    const stored = await store.list({
      ...range,
      ...(rules.length > 0 ? { rules } : {}),
      limit: Math.min(20_000, p.limit * 10),
    });
    let alerts = stored
      .filter((a) => severities.length === 0 || severities.includes(a.severity as Severity))
      .reverse();
    const acks = await store.acks(alerts.map((a) => a.id));
    if (p.status !== 'all') alerts = alerts.filter((a) => acks.has(a.id) === (p.status === 'acked'));
    alerts = await alertsInScope(ctx, user, alerts);
    return {
      alerts: alerts.slice(0, p.limit).map((a) => {
        const ack = acks.get(a.id);
        return { ...a, status: ack ? 'acked' : 'open', acked: ack ?? null };
      }),
    };
  });

  app.post('/api/v1/alerts/:id/ack', guard(['admin', 'analyst']), async (req) => {
    const user = userOf(req);
    const { id } = req.params as { id: string };
    if (id.length === 0 || id.length > 200) throw requestError('id', 'the alert id must be 1-200 characters');
    if (!(await alertLog(ctx).acknowledge(id, user.name)))
      throw new KubetrailError('KT_NOT_FOUND', `no alert has the id ${JSON.stringify(id)}`, {
        where: { path: 'id' },
      });
    return { ok: true };
  });

  app.get('/api/v1/rules', guard(), async () => ({ rules: ctx.rules() }));
}
