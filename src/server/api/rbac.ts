// Least privilege over HTTP, for the identity page. `GET /api/v1/rbac/suggest?user=NAME` answers the
// permissions a user (or service account, by its username) used in the range, counted per API group,
// resource, verb and namespace with the last use, the requests refused to it, and the suggested RBAC
// objects as YAML text. `POST /api/v1/rbac/review` takes the same parameters and the cluster's RBAC
// objects as text (what `kubectl get clusterroles,clusterrolebindings,roles,rolebindings -A -o yaml`
// prints) and adds the permissions granted to the identity (directly or through its groups) that it did
// not use. Both read only events within the caller's scope, at most `api.simulateMaxEvents` of them.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { KubetrailError } from '../../core/errors.js';
import { microsToTime } from '../../core/time.js';
import { parseRbac } from '../../rbac/load.js';
import { suggestionYaml } from '../../rbac/render.js';
import type { Observation } from '../../rbac/requests.js';
import { subjectFilter, tallyStore } from '../../rbac/source.js';
import { madeBy, subjectText, type SubjectRef } from '../../rbac/subject.js';
import { describeRequest, suggest } from '../../rbac/suggest.js';
import { splitServiceAccount, setOf } from '../../rbac/types.js';
import { analyzeUnused, describePermission } from '../../rbac/unused.js';
import { scoped, type Principal } from '../auth/scope.js';
import { jsonBody, timeRangeOf, userOf, validate, type ApiContext, type Guard } from './common.js';

/** Largest RBAC text accepted in a review (a large cluster's dump is a few megabytes). */
export const MAX_RBAC_UPLOAD = 16 * 1024 * 1024;

const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).optional();

const suggestQuery = z.strictObject({
  user: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(500),
  since: z.string().default('7d'),
  until: z.string().optional(),
  names: flag,
  expandVerbs: flag,
});

const reviewBody = z.strictObject({
  user: z.string({ error: 'is required' }).min(1, { error: 'is required' }).max(500),
  since: z.string().default('7d'),
  until: z.string().optional(),
  names: z.boolean().optional(),
  expandVerbs: z.boolean().optional(),
  rbac: z.string({ error: 'must be the RBAC objects as YAML or JSON text' }).max(MAX_RBAC_UPLOAD),
});

/** The subject a username names: a service account for system:serviceaccount:NS:NAME, else a user. */
function subjectOfUser(user: string): SubjectRef {
  const sa = splitServiceAccount(user);
  return sa ? { kind: 'ServiceAccount', ...sa } : { kind: 'User', name: user };
}

interface Params {
  user: string;
  since: string;
  until?: string | undefined;
  names?: boolean;
  expandVerbs?: boolean;
}

async function review(ctx: ApiContext, caller: Principal, p: Params) {
  const subject = subjectOfUser(p.user);
  const range = timeRangeOf(p);
  const max = ctx.config.api.simulateMaxEvents;
  const progress = { events: 0, truncated: false };
  const tally = await tallyStore(ctx.store, {
    filter: scoped(caller, subjectFilter(subject)),
    ...range,
    max,
    progress,
  });
  const observations = tally.observations().filter((o) => madeBy(subject, o.request));
  const s = suggest(observations, {
    subject,
    ...(p.names ? { names: true } : {}),
    ...(p.expandVerbs ? { expandVerbs: true } : {}),
  });
  return {
    observations,
    answer: {
      user: p.user,
      subject: subjectText(subject),
      source: {
        events: progress.events,
        maxEvents: max,
        truncated: progress.truncated,
        ...(range.since !== undefined ? { since: microsToTime(range.since) } : {}),
        ...(range.until !== undefined ? { until: microsToTime(range.until) } : {}),
      },
      used: usedPermissions(s.allowed),
      refused: s.refused
        .filter((r) => !r.grantedAnyway)
        .map((r) => ({ request: describeRequest(r.request), count: r.count, last: microsToTime(r.last) })),
      suggestion: { yaml: suggestionYaml(s), objects: s.objects },
    },
  };
}

/** Allowed requests counted per API group, resource, verb and namespace, most used first. */
function usedPermissions(allowed: readonly Observation[]) {
  const rows = new Map<
    string,
    { apiGroup: string; resource: string; verb: string; namespace: string; count: number; last: number }
  >();
  for (const o of allowed) {
    const r = o.request;
    const resource = r.nonResourceURL ?? `${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
    const row = { apiGroup: r.apiGroup ?? '', resource, verb: r.verb, namespace: r.namespace ?? '' };
    const key = JSON.stringify(row);
    const x = rows.get(key);
    if (x) {
      x.count += o.count;
      x.last = Math.max(x.last, o.last);
    } else rows.set(key, { ...row, count: o.count, last: o.last });
  }
  return [...rows.values()]
    .sort(
      (a, b) =>
        b.count - a.count ||
        a.resource.localeCompare(b.resource) ||
        a.verb.localeCompare(b.verb) ||
        a.namespace.localeCompare(b.namespace),
    )
    .map((r) => ({ ...r, last: microsToTime(r.last) }));
}

export function registerRbacRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  app.get('/api/v1/rbac/suggest', guard(), async (req) => {
    const p = validate(suggestQuery, req.query);
    const { answer } = await review(ctx, userOf(req), {
      ...p,
      names: p.names === 'true',
      expandVerbs: p.expandVerbs === 'true',
    });
    return answer;
  });

  app.post('/api/v1/rbac/review', { ...guard(), bodyLimit: MAX_RBAC_UPLOAD * 2 }, async (req) => {
    const body = validate(reviewBody, jsonBody(req, MAX_RBAC_UPLOAD * 2), 'field');
    const loaded = parseRbac(body.rbac, 'rbac');
    if (loaded.objects.length === 0)
      throw new KubetrailError(
        'KT_RBAC_INVALID',
        'the text holds no Role, ClusterRole, RoleBinding or ClusterRoleBinding',
        {
          where: { path: 'rbac' },
        },
      );
    const { observations, answer } = await review(ctx, userOf(req), body);
    const subject = subjectOfUser(body.user);
    const groups = new Set(
      observations.flatMap((o) => (madeBy(subject, o.request) ? (o.request.groups ?? []) : [])),
    );
    const report = analyzeUnused(setOf(loaded.objects), observations);
    const mine = report.subjects.filter((s) =>
      s.subject.kind === 'Group'
        ? groups.has(s.subject.name)
        : subjectText(s.subject) === subjectText(subject),
    );
    const unused = mine
      .flatMap((s) =>
        s.grants
          .filter((g) => g.uses === 0)
          .map((g) => ({
            subject: subjectText(s.subject),
            permission: describePermission(g.permission),
            namespace: g.scope === '' ? '*' : g.scope,
            role: `${g.role.kind}/${g.role.name}`,
            ...(g.via ? { via: g.via } : {}),
            binding: `${g.binding.kind}/${g.binding.namespace ? `${g.binding.namespace}/` : ''}${g.binding.name}`,
            ...(g.dangerous ? { dangerous: g.dangerous } : {}),
          })),
      )
      .sort((a, b) => Number(!a.dangerous) - Number(!b.dangerous));
    return {
      ...answer,
      rbac: { objects: loaded.objects.length, skipped: loaded.skipped },
      granted: mine.reduce((n, s) => n + s.grants.length, 0),
      unused,
    };
  });
}
