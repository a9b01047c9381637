// Audit policy tools over HTTP: lint a pasted policy (`POST /api/v1/policy/lint`) and simulate it on the
// stored events within the caller's scope (`POST /api/v1/policy/simulate`), reading at most
// `api.simulateMaxEvents` events (the answer says when it stopped there). The filter and every `need` go
// through the body-field guard; a token without bodies simulates on the events as it may see them (bodies
// removed, so byte counts leave them out: the answer says `bodiesHidden`).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { EventRecord } from '../../core/event.js';
import { DEMO_INCIDENTS } from '../../generate/index.js';
import { lintPolicy } from '../../policy/lint.js';
import { assertValid, MAX_POLICY_BYTES, parsePolicy } from '../../policy/load.js';
import { compileNeeds, detectionNeeds } from '../../policy/needs.js';
import { simulate } from '../../policy/simulate.js';
import { allEvents } from '../../store/paging.js';
import { project, seesBodies, type Principal } from '../auth/scope.js';
import {
  filterOf,
  jsonBody,
  timeRangeOf,
  userFilter,
  userOf,
  validate,
  type ApiContext,
  type Guard,
} from './common.js';

const policyText = z
  .string({ error: 'must be the policy as text (YAML or JSON)' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_POLICY_BYTES, { error: `must be at most ${MAX_POLICY_BYTES} characters` });

const lintBody = z.strictObject({
  policy: policyText,
  kubernetesVersion: z
    .string()
    .regex(/^v?\d+\.\d+(\.\d+)?$/, { error: 'must be a version such as 1.31' })
    .optional(),
});

const simulateBody = z.strictObject({
  policy: policyText,
  since: z.string().optional(),
  until: z.string().optional(),
  q: z.string().max(10_000).optional(),
  need: z.array(z.string().max(10_000)).max(50).optional(),
});

/** Pages of events as the caller may see them (bodies removed for a token without bodies). */
async function* projected(
  pages: AsyncIterable<EventRecord[]>,
  user: Principal,
): AsyncGenerator<EventRecord[]> {
  for await (const page of pages) yield page.map((r) => project(user, r));
}

export function registerPolicyRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  const maxBody = MAX_POLICY_BYTES * 2 + 65_536;

  app.post('/api/v1/policy/lint', guard(), async (req) => {
    const body = validate(lintBody, jsonBody(req, maxBody), 'field');
    const loaded = parsePolicy(body.policy, 'policy');
    const problems = lintPolicy(
      loaded,
      body.kubernetesVersion ? { kubernetesVersion: body.kubernetesVersion } : {},
    );
    const errors = problems.filter((p) => p.severity === 'error').length;
    return { errors, warnings: problems.length - errors, rules: loaded.policy.rules.length, problems };
  });

  app.post('/api/v1/policy/simulate', guard(), async (req) => {
    const user = userOf(req);
    const body = validate(simulateBody, jsonBody(req, maxBody), 'field');
    const policy = assertValid(parsePolicy(body.policy, 'policy'));
    const filter = filterOf(user, body.q);
    (body.need ?? []).forEach((n, k) => userFilter(user, `need.${k}`, n));
    const range = timeRangeOf(body);
    const needs = compileNeeds(detectionNeeds(body.need ?? [], DEMO_INCIDENTS));
    const max = ctx.config.api.simulateMaxEvents;
    const state = { events: 0, truncated: false };
    const pages = allEvents(ctx.store, { filter, ...range, max, progress: state });
    const report = await simulate(policy, projected(pages, user), { needs });
    return {
      source: {
        events: state.events,
        maxEvents: max,
        truncated: state.truncated,
        ...(seesBodies(user) ? {} : { bodiesHidden: true }),
        ...(body.q ? { q: body.q } : {}),
        ...(range.since !== undefined ? { since: new Date(range.since / 1000).toISOString() } : {}),
        ...(range.until !== undefined ? { until: new Date(range.until / 1000).toISOString() } : {}),
      },
      ...report,
    };
  });
}
