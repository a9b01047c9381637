// Events: a page of events by filter and time range (`/api/v1/events`), one request with all its stages
// and the diff against the object's previous version (`/api/v1/events/{auditID}`), and the live stream of
// events and alerts (`/api/v1/stream`, server-sent events; at most `api.streamsPerToken` per token and
// `api.streamsTotal` in all). Every answer is limited to the caller's scope.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { KubetrailError } from '../../core/errors.js';
import type { EventRecord } from '../../core/event.js';
import type { Alert } from '../../detect/types.js';
import { eventTime, timeToMicros } from '../../core/time.js';
import { buildHistory, WRITE_VERBS, type FieldChange } from '../../history/changes.js';
import { compileJs, type QueryNode } from '../../query/index.js';
import { project, scoped, scopePredicate, seesBodies, type Principal } from '../auth/scope.js';
import {
  filterOf,
  limitParam,
  timeRangeOf,
  userOf,
  validate,
  type ApiContext,
  type Guard,
} from './common.js';

const eventsQuery = z.strictObject({
  q: z.string().max(10_000).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  limit: limitParam(1000, 100),
  cursor: z.string().max(1000).optional(),
  order: z.enum(['desc', 'asc'], { error: 'must be desc or asc' }).default('desc'),
});

const streamQuery = z.strictObject({ q: z.string().max(10_000).optional() });

export interface EventDiff {
  previous?: { auditID: string; time: string };
  changes: FieldChange[];
  note?: string;
}

/** The diff a write made to its object, from the object's stored history; undefined for reads. */
async function diffOf(
  ctx: ApiContext,
  user: Principal,
  records: EventRecord[],
): Promise<EventDiff | undefined> {
  const last = records[records.length - 1];
  const e = last?.event;
  if (!e || !WRITE_VERBS.has(e.verb) || !e.objectRef?.resource || !e.objectRef.name) return undefined;
  // exec, attach, port-forward and the like create no new version of the object.
  const sub = e.objectRef.subresource;
  if (sub && sub !== 'status' && sub !== 'scale') return undefined;
  if (!seesBodies(user))
    return { changes: [], note: 'request and response bodies are not shown to this token' };
  const ref = e.objectRef;
  const t = timeToMicros(eventTime(e));
  const history = await ctx.store.history(
    {
      resource: ref.resource!,
      name: ref.name!,
      apiGroup: ref.apiGroup ?? '',
      cluster: last.cluster,
      ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
    },
    t !== undefined ? { until: t + 1 } : {},
  );
  const inScope = scopePredicate(user);
  const entries = buildHistory(history.filter(inScope));
  const i = entries.findIndex((x) => x.auditID === e.auditID);
  if (i < 0) return { changes: [], note: 'the object history of this request is not stored' };
  const entry = entries[i]!;
  let previous: { auditID: string; time: string } | undefined;
  for (let k = i - 1; k >= 0; k--) {
    const p = entries[k]!;
    if (!p.failed) {
      previous = { auditID: p.auditID, time: p.time };
      break;
    }
  }
  return {
    ...(previous ? { previous } : {}),
    changes: entry.changes ?? [],
    ...(entry.note ? { note: entry.note } : {}),
  };
}

/** Whether every event that raised an alert is in the caller's scope (and stored). */
export async function alertsInScope(
  ctx: ApiContext,
  user: Principal,
  alerts: readonly Alert[],
): Promise<Alert[]> {
  if (user.role !== 'viewer') return [...alerts];
  const byCluster = new Map<string, Set<string>>();
  for (const a of alerts) {
    const set = byCluster.get(a.cluster) ?? new Set<string>();
    for (const id of a.auditIDs) set.add(id);
    byCluster.set(a.cluster, set);
  }
  const visible = new Set<string>();
  for (const [cluster, ids] of byCluster) {
    const list = [...ids];
    for (let i = 0; i < list.length; i += 200) {
      const chunk = list.slice(i, i + 200);
      const filter: QueryNode = scoped(user, {
        type: 'and',
        children: [
          match('cluster', cluster),
          { type: 'or', children: chunk.map((id) => match('auditid', id)) },
        ],
      });
      const rows = await ctx.store.stats({ filter, by: 'auditid', limit: chunk.length });
      for (const r of rows) if (r.value !== null) visible.add(`${cluster}\u0000${String(r.value)}`);
    }
  }
  return alerts.filter(
    (a) => a.auditIDs.length > 0 && a.auditIDs.every((id) => visible.has(`${a.cluster}\u0000${id}`)),
  );
}

/** `field:"value"` as a filter node (exact, no wildcard). */
export function match(field: string, value: string): QueryNode {
  return { type: 'match', field, value: { text: value, quoted: true, wildcard: false } };
}

export function registerEventRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/events', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(eventsQuery, req.query);
    const filter = filterOf(user, p.q);
    const page = await ctx.store.query({
      filter,
      ...timeRangeOf(p),
      limit: p.limit,
      order: p.order,
      ...(p.cursor ? { cursor: p.cursor } : {}),
    });
    const records = page.records.map((r) => project(user, r));
    return {
      events: records.map((r) => r.event),
      clusters: records.map((r) => r.cluster),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  });

  app.get('/api/v1/events/:auditID', guard(), async (req) => {
    const user = userOf(req);
    const { auditID } = req.params as { auditID: string };
    if (auditID.length === 0 || auditID.length > 200)
      throw new KubetrailError('KT_API_REQUEST', 'the audit ID must be 1-200 characters', {
        where: { path: 'auditID' },
      });
    const inScope = scopePredicate(user);
    const records = (await ctx.store.getByAuditId(auditID)).filter(inScope);
    if (records.length === 0)
      throw new KubetrailError(
        'KT_NOT_FOUND',
        `no stored event has the audit ID ${JSON.stringify(auditID)}`,
        {
          where: { path: 'auditID' },
        },
      );
    const diff = await diffOf(ctx, user, records);
    return {
      records: records.map((r) => {
        const v = project(user, r);
        return { cluster: v.cluster, event: v.event };
      }),
      ...(diff ? { diff } : {}),
    };
  });

  app.get('/api/v1/stream', guard(), async (req, reply) => {
    const user = userOf(req);
    const p = validate(streamQuery, req.query);
    const accept = compileJs(filterOf(user, p.q));
    const limits = { perOwner: ctx.config.api.streamsPerToken, total: ctx.config.api.streamsTotal };
    try {
      ctx.hub.admit(user.name, limits);
    } catch (err) {
      const limit = ctx.hub.countOf(user.name) >= limits.perOwner ? 'token' : 'total';
      ctx.metrics.streamRejected.inc({ limit });
      throw err;
    }
    // No await from admit to attach: no other stream can be admitted in between.
    const started = performance.now();
    reply.hijack();
    ctx.metrics.streamClients.inc();
    const scopedUser = user.role === 'viewer';
    await ctx.hub.attach(reply.raw, accept, {
      owner: user.name,
      bodies: seesBodies(user),
      alerts: scopedUser ? async (a) => (await alertsInScope(ctx, user, [a])).length === 1 : () => true,
    });
    ctx.metrics.streamClients.dec();
    ctx.auth.accessLog.write({
      user: user.name,
      role: user.role,
      method: 'GET',
      path: '/api/v1/stream',
      ...(p.q ? { q: p.q } : {}),
      status: 200,
      ms: Math.round(performance.now() - started),
      ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress } : {}),
    });
  });
}
