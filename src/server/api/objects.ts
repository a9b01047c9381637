// Timelines: one object's change history (`/api/v1/history`: each write with its actor and the state it
// left, the revisions, and with `at` the object as it was then), the objects written in a time range as a
// tree (`/api/v1/objects`: cluster → kind → namespace → name → subresource) and one identity's activity
// (`/api/v1/identity`: what it touched, from where, in sessions of activity separated by 30-minute gaps,
// with sensitive actions counted). All are limited to the caller's scope.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseTimeArg } from '../../core/duration.js';
import { buildObjectHistory, stateAt } from '../../history/changes.js';
import { parseObjectArg, resolveKind } from '../../history/kinds.js';
import type { QueryNode } from '../../query/index.js';
import { parseQuery } from '../../query/index.js';
import { project, scoped, scopePredicate, seesBodies } from '../auth/scope.js';
import {
  limitParam,
  requestError,
  timeRangeOf,
  userOf,
  validate,
  type ApiContext,
  type Guard,
} from './common.js';
import { match } from './events.js';

const historyQuery = z.strictObject({
  object: z.string().max(500).optional(),
  resource: z.string().max(200).optional(),
  name: z.string().max(500).optional(),
  namespace: z.string().max(200).optional(),
  cluster: z.string().max(200).optional(),
  apiGroup: z.string().max(200).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  reads: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  managedFields: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  /** A time (or a duration ago): answer with the object's state then. */
  at: z.string().max(100).optional(),
});

const objectsQuery = z.strictObject({
  since: z.string().default('24h'),
  until: z.string().optional(),
  cluster: z.string().max(200).optional(),
  /** Writes read to build the tree, newest first. */
  limit: limitParam(20_000, 5_000),
});

/** One object written in the range, with its subresources and counts. */
export interface ObjectSummary {
  cluster: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  name: string;
  /** Writes per subresource ('' for the object itself). */
  writes: Record<string, number>;
  failed: number;
  last: string;
}

/** Requests that change objects. */
const WRITES_FILTER = 'verb:(create OR update OR patch OR delete) AND name:*';

const identityQuery = z.strictObject({
  user: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(500),
  since: z.string().default('7d'),
  until: z.string().optional(),
  limit: limitParam(1000, 100),
});

/** Requests worth a second look in an identity's timeline. */
export const SENSITIVE_FILTER =
  'subresource:(exec OR attach OR portforward) OR resource:secrets OR impersonated:* OR verb:impersonate';

/** A gap longer than this between two events starts a new session. */
export const SESSION_GAP_MS = 30 * 60_000;

export interface ActivitySession {
  start: string;
  end: string;
  count: number;
  sensitive: number;
}

export function registerObjectRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/history', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(historyQuery, req.query);
    let resource = p.resource;
    let name = p.name;
    let apiGroup = p.apiGroup;
    if (p.object !== undefined) {
      const parsed = parseObjectArg(p.object);
      if (!parsed)
        throw requestError(
          'object',
          `\`object\` must be KIND/NAME (like deployment/web), not ${JSON.stringify(p.object)}`,
        );
      resource = parsed.kind.resource;
      name = parsed.name;
      apiGroup ??= parsed.kind.group;
    } else if (resource !== undefined) {
      const kind = resolveKind(resource);
      resource = kind.resource;
      apiGroup ??= kind.group;
    }
    if (!resource) throw requestError('resource', 'give `object` (KIND/NAME) or `resource` and `name`');
    if (!name) throw requestError('name', '`name` is required with `resource`');
    const records = await ctx.store.history(
      {
        resource,
        name,
        apiGroup: apiGroup ?? '',
        ...(p.namespace !== undefined ? { namespace: p.namespace } : {}),
        ...(p.cluster !== undefined ? { cluster: p.cluster } : {}),
      },
      timeRangeOf(p),
    );
    const inScope = scopePredicate(user);
    const visible = records.filter(inScope).map((r) => project(user, r));
    // bodiesHidden: the caller may not see bodies, so no entry can show a diff (the UI says why).
    const bodiesHidden = !seesBodies(user);
    const h = buildObjectHistory(visible, {
      includeReads: p.reads === 'true',
      bodiesHidden,
      managedFields: p.managedFields === 'true',
    });
    const hidden = bodiesHidden ? { bodiesHidden: true } : {};
    if (p.at !== undefined) {
      const ms = parseTimeArg(p.at);
      if (ms === undefined) throw requestError('at', '`at` must be a time or a duration ago');
      const at = new Date(ms).toISOString();
      return { at, ...stateAt(h, at), ...hidden };
    }
    // Revisions without their objects: the state at a moment is asked for with `at`.
    const revisions = h.revisions.map(({ object: _o, ...r }) => r);
    return { entries: h.entries, revisions, ...hidden };
  });

  app.get('/api/v1/objects', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(objectsQuery, req.query);
    let filter: QueryNode = parseQuery(WRITES_FILTER);
    if (p.cluster !== undefined) filter = { type: 'and', children: [filter, match('cluster', p.cluster)] };
    const page = await ctx.store.query({ filter: scoped(user, filter), ...timeRangeOf(p), limit: p.limit });
    const byKey = new Map<string, ObjectSummary>();
    for (const r of page.records) {
      const ref = r.event.objectRef;
      if (!ref?.resource || !ref.name) continue;
      const o = {
        cluster: r.cluster,
        apiGroup: ref.apiGroup ?? '',
        resource: ref.resource,
        namespace: ref.namespace ?? '',
        name: ref.name,
      };
      const key = JSON.stringify(o);
      let s = byKey.get(key);
      if (!s) byKey.set(key, (s = { ...o, writes: {}, failed: 0, last: '' }));
      const sub = ref.subresource ?? '';
      s.writes[sub] = (s.writes[sub] ?? 0) + 1;
      const code = r.event.responseStatus?.code;
      if (typeof code === 'number' && code >= 400) s.failed++;
      const t = r.event.stageTimestamp || r.event.requestReceivedTimestamp;
      if (t > s.last) s.last = t;
    }
    const objects = [...byKey.values()].sort(
      (a, b) =>
        a.cluster.localeCompare(b.cluster) ||
        a.resource.localeCompare(b.resource) ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name),
    );
    return { objects, ...(page.nextCursor ? { truncated: true } : {}) };
  });

  app.get('/api/v1/identity', guard(), async (req) => {
    const user = userOf(req);
    const p = validate(identityQuery, req.query);
    const range = timeRangeOf(p);
    const until = range.until ?? Date.now() * 1000;
    const since = range.since ?? until - 7 * 86_400_000_000;
    const who: QueryNode = match('user', p.user);
    const filter = scoped(user, who);
    const sensitiveFilter: QueryNode = scoped(user, {
      type: 'and',
      children: [who, parseQuery(SENSITIVE_FILTER)],
    });
    const top = (by: string, limit = 10) => ctx.store.stats({ filter, by, limit, since, until });
    // Sessions from per-minute counts (coarser over long ranges), so that any volume costs the same.
    const bucketMs = Math.max(60_000, Math.ceil((until - since) / 1000 / 20_000 / 60_000) * 60_000);
    const [total, verbs, resources, namespaces, sourceIPs, userAgents, activity, sensitive, page] =
      await Promise.all([
        ctx.store.count(filter, { since, until }),
        top('verb'),
        top('resource'),
        top('ns'),
        top('ip'),
        top('ua'),
        ctx.store.histogram({ filter, since, until, intervalMs: bucketMs }),
        ctx.store.histogram({ filter: sensitiveFilter, since, until, intervalMs: bucketMs }),
        ctx.store.query({ filter, since, until, limit: p.limit }),
      ]);
    const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    const sensitiveAt = new Map(sensitive.map((b) => [b.start, sum(b.counts)]));
    const sessions: ActivitySession[] = [];
    let cur: { start: number; end: number; count: number; sensitive: number } | undefined;
    const gapUs = SESSION_GAP_MS * 1000;
    const bucketUs = bucketMs * 1000;
    for (const b of [...activity].sort((x, y) => x.start - y.start)) {
      const n = sum(b.counts);
      if (n === 0) continue;
      if (cur && b.start - cur.end <= gapUs) {
        cur.end = b.start + bucketUs;
        cur.count += n;
        cur.sensitive += sensitiveAt.get(b.start) ?? 0;
      } else {
        if (cur) sessions.push(sessionJson(cur));
        cur = { start: b.start, end: b.start + bucketUs, count: n, sensitive: sensitiveAt.get(b.start) ?? 0 };
      }
    }
    if (cur) sessions.push(sessionJson(cur));
    return {
      user: p.user,
      total,
      verbs,
      resources,
      namespaces,
      sourceIPs,
      userAgents,
      sessions: sessions.reverse(),
      events: page.records.map((r) => project(user, r).event),
      clusters: page.records.map((r) => r.cluster),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  });
}

function sessionJson(s: { start: number; end: number; count: number; sensitive: number }): ActivitySession {
  return {
    start: new Date(s.start / 1000).toISOString(),
    end: new Date(s.end / 1000).toISOString(),
    count: s.count,
    sensitive: s.sensitive,
  };
}
