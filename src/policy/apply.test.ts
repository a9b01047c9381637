// Applying a policy to logged events: drop, downgrade, omit stages, strip managed fields; the transform;
// simulation totals and detection loss; recommendation on generated traffic; presets and rendering.
import { describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { DEMO_INCIDENTS, DEMO_START, generateEvents } from '../generate/index.js';
import { makeEvent, rec } from '../test-support/events.js';
import { applyDecision, policyTransform } from './apply.js';
import { evaluate } from './evaluate.js';
import { parsePolicy } from './load.js';
import { BUILTIN_NEEDS, compileNeeds } from './needs.js';
import { PRESET_NAMES, presetDocument, presetYaml } from './presets.js';
import { recommend } from './recommend.js';
import { policyOf, renderPolicy, yamlString } from './render.js';
import { eventBytes, simulate } from './simulate.js';
import type { Decision, Policy } from './types.js';

const decision = (d: Partial<Decision>): Decision => ({
  level: 'Metadata',
  omitStages: [],
  omitManagedFields: false,
  rule: 0,
  ...d,
});

const withBodies = (over: Partial<AuditEvent> = {}) =>
  makeEvent({
    level: 'RequestResponse',
    verb: 'create',
    requestObject: { kind: 'Pod', metadata: { name: 'p', managedFields: [{ manager: 'kubectl' }] } },
    responseObject: {
      kind: 'Pod',
      metadata: { name: 'p', uid: 'u', managedFields: [{ manager: 'kubectl' }] },
    },
    ...over,
  });

describe('applyDecision', () => {
  it('drops at level None and for omitted stages', () => {
    expect(applyDecision(makeEvent(), decision({ level: 'None' }))).toEqual({
      outcome: 'dropped',
      reason: 'level None',
    });
    expect(
      applyDecision(makeEvent({ stage: 'RequestReceived' }), decision({ omitStages: ['RequestReceived'] })),
    ).toEqual({
      outcome: 'dropped',
      reason: 'stage omitted',
    });
  });
  it('downgrades: Metadata strips both bodies, Request the response', () => {
    const e = withBodies();
    const m = applyDecision(e, decision({ level: 'Metadata' }));
    expect(m.outcome).toBe('downgraded');
    expect(m.event!.level).toBe('Metadata');
    expect(m.event!.requestObject).toBeUndefined();
    expect(m.event!.responseObject).toBeUndefined();
    const r = applyDecision(e, decision({ level: 'Request' }));
    expect(r.event!.level).toBe('Request');
    expect(r.event!.requestObject).toEqual(e.requestObject);
    expect(r.event!.responseObject).toBeUndefined();
    expect(e.responseObject).toBeDefined();
  });
  it('never upgrades: an event logged at Metadata stays as it is', () => {
    const e = makeEvent({ level: 'Metadata' });
    expect(applyDecision(e, decision({ level: 'RequestResponse' }))).toEqual({ outcome: 'kept', event: e });
  });
  it('strips managed fields from objects and list items, not from patch bodies', () => {
    const e = withBodies();
    const out = applyDecision(e, decision({ level: 'RequestResponse', omitManagedFields: true }));
    expect(out.outcome).toBe('downgraded');
    expect(out.reason).toBe('managed fields stripped');
    expect(out.event!.requestObject).toEqual({ kind: 'Pod', metadata: { name: 'p' } });
    expect(out.event!.responseObject).toEqual({ kind: 'Pod', metadata: { name: 'p', uid: 'u' } });
    expect((e.requestObject as { metadata: object }).metadata).toHaveProperty('managedFields');
    const list = makeEvent({
      level: 'RequestResponse',
      verb: 'list',
      responseObject: {
        kind: 'PodList',
        items: [{ metadata: { name: 'a', managedFields: [] } }, { metadata: { name: 'b' } }],
      },
    });
    expect(
      applyDecision(list, decision({ level: 'RequestResponse', omitManagedFields: true })).event!
        .responseObject,
    ).toEqual({
      kind: 'PodList',
      items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }],
    });
    const patch = withBodies({ verb: 'patch' });
    const p = applyDecision(patch, decision({ level: 'RequestResponse', omitManagedFields: true }));
    expect(p.event!.requestObject).toEqual(patch.requestObject);
    expect(p.event!.responseObject).toEqual({ kind: 'Pod', metadata: { name: 'p', uid: 'u' } });
  });
});

const POLICY: Policy = parsePolicy(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    nonResourceURLs: ["/healthz*"]
  - level: Metadata
    resources: [{group: "", resources: [secrets]}]
  - level: Request
`).policy;

describe('the import transform', () => {
  it('drops, downgrades and keeps; counts each; leaves input records alone', async () => {
    const health = makeEvent({ requestURI: '/healthz', objectRef: undefined });
    delete health.objectRef;
    const received = makeEvent({ stage: 'RequestReceived' });
    const secret = withBodies({
      objectRef: { resource: 'secrets', namespace: 'a', name: 's', apiVersion: 'v1' },
    });
    const pod = withBodies();
    const t = policyTransform(POLICY);
    const out = await t.apply([rec(health), rec(received), rec(secret), rec(pod)]);
    expect(out.map((r) => [r.event.auditID, r.event.level])).toEqual([
      [secret.auditID, 'Metadata'],
      [pod.auditID, 'Request'],
    ]);
    expect(t.counts).toEqual({ kept: 0, downgraded: 2, dropped: 2 });
    expect(secret.requestObject).toBeDefined();
    expect(t.name).toBe('apply-policy');
  });
});

describe('simulate', () => {
  it('per-rule and total volumes, per-day estimate, detection loss', async () => {
    const t0 = Date.UTC(2024, 0, 1);
    const at = (s: number) => new Date(t0 + s * 1000).toISOString().replace('Z', '000Z');
    const health = makeEvent({ requestURI: '/healthz', stageTimestamp: at(0) });
    delete health.objectRef;
    const exec = makeEvent({
      verb: 'create',
      requestURI: '/api/v1/namespaces/a/pods/p/exec?command=sh',
      objectRef: { resource: 'pods', subresource: 'exec', namespace: 'a', name: 'p', apiVersion: 'v1' },
      stageTimestamp: at(3600),
    });
    const secret = withBodies({
      objectRef: { resource: 'secrets', namespace: 'a', name: 's', apiVersion: 'v1' },
      stageTimestamp: at(7200),
    });
    const events = [health, exec, secret];
    const needs = compileNeeds([
      ...BUILTIN_NEEDS.filter((n) => n.id === 'exec-attach-portforward'),
      {
        id: 'bodies',
        title: 'secret bodies',
        filter: 'resource:secrets requestObject.kind:*',
        source: 'user',
      },
    ]);
    const r = await simulate(POLICY, [events.map((e) => rec(e))], { needs });
    const total = events.reduce((a, e) => a + eventBytes(e), 0);
    expect(r.before).toEqual({ events: 3, bytes: total });
    expect(r.after.events).toBe(2);
    expect(
      r.rules.map((s) => [s.rule, s.matched.events, s.kept.events, s.downgraded.events, s.dropped.events]),
    ).toEqual([
      [0, 1, 0, 0, 1],
      [1, 1, 0, 1, 0],
      [2, 1, 1, 0, 0],
      [null, 0, 0, 0, 0],
    ]);
    expect(r.rules[1]!.downgraded.bytesAfter).toBeLessThan(r.rules[1]!.downgraded.bytes);
    expect(r.span).toEqual({ first: at(0), last: at(7200), seconds: 7200 });
    expect(r.perDay!.before.events).toBeCloseTo(36);
    expect(r.needs.map((n) => [n.id, n.before, n.after, n.lost])).toEqual([
      ['exec-attach-portforward', 1, 1, 0],
      ['bodies', 1, 0, 1],
    ]);
    expect(r.lost).toBe(1);
    expect(r.needs[1]!.examples[0]).toMatchObject({ auditID: secret.auditID, rule: 1 });
    expect(r.needs[1]!.examples[0]!.why).toMatch(/stripped/);
  });
  it('a request survives when any of its stages is still logged', async () => {
    const a = makeEvent({ stage: 'RequestReceived', verb: 'delete' });
    const b = { ...a, stage: 'ResponseComplete' as const };
    const r = await simulate(POLICY, [[rec(a), rec(b)]], {
      needs: compileNeeds([{ id: 'd', title: 'd', filter: 'verb:delete', source: 'user' }]),
    });
    expect(r.needs[0]).toMatchObject({ before: 1, after: 1, lost: 0 });
  });
});

describe('recommend on generated traffic (a day of the demo cluster, thinned)', () => {
  const events = [
    ...generateEvents({
      seed: 7,
      start: DEMO_START,
      durationMs: 86_400_000,
      eventsPerSecond: 0.08,
      incidents: true,
    }),
  ];
  const batches = () => [events.map((e): EventRecord => rec(e))];
  it('cuts the volume by more than half, loses no detection, and lints clean', async () => {
    const needs = compileNeeds([
      ...BUILTIN_NEEDS,
      ...DEMO_INCIDENTS.map((i) => ({
        id: i.id,
        title: i.title,
        filter: i.filter,
        source: 'demo-incident' as const,
      })),
    ]);
    const r = await recommend(batches, { needs });
    expect(r.measured.reduction.bytes).toBeGreaterThan(0.5);
    expect(r.measured.lost).toBe(0);
    for (const inc of DEMO_INCIDENTS)
      expect(r.measured.needs.find((n) => n.id === inc.id)!.before).toBeGreaterThan(0);
    const loaded = parsePolicy(r.yaml);
    expect(loaded.problems).toEqual([]);
    expect(loaded.policy).toEqual(policyOf(r.document));
    const { lintPolicy } = await import('./lint.js');
    expect(lintPolicy(loaded)).toEqual([]);
    expect(r.yaml).toMatch(/^# Audit policy recommended/);
    expect(r.yaml).toContain('fewer bytes');
    expect(r.profile.categories.nodeLeases.events).toBeGreaterThan(0);
  });
  it('writes no rule for noise that is not in the data', async () => {
    const only = [makeEvent({ verb: 'get' })];
    const r = await recommend(() => [only.map((e) => rec(e))]);
    expect(r.yaml).not.toContain('Health and readiness');
    expect(r.yaml).toContain('secrets');
  });
});

describe('presets and rendering', () => {
  it('every preset renders to the policy it describes', () => {
    for (const name of PRESET_NAMES) {
      const loaded = parsePolicy(presetYaml(name));
      expect(loaded.problems).toEqual([]);
      expect(loaded.policy).toEqual(policyOf(presetDocument(name)));
    }
  });
  it('the cis preset logs Secrets at Metadata, exec at Metadata and pod changes with bodies', () => {
    const p = parsePolicy(presetYaml('cis')).policy;
    const a = (over: object) => ({
      user: { name: 'u', groups: ['system:authenticated'] },
      verb: 'get',
      resourceRequest: true,
      namespace: 'a',
      apiGroup: '',
      resource: 'secrets',
      subresource: '',
      name: 'x',
      path: '',
      ...over,
    });
    expect(evaluate(p, a({})).level).toBe('Metadata');
    expect(evaluate(p, a({ resource: 'pods', subresource: 'exec', verb: 'create' })).level).toBe('Metadata');
    expect(evaluate(p, a({ resource: 'deployments', apiGroup: 'apps', verb: 'patch' })).level).toBe(
      'RequestResponse',
    );
    expect(evaluate(p, a({ resource: 'pods', verb: 'list' })).level).toBe('Metadata');
  });
  it('quotes strings YAML could misread', () => {
    expect(['on', 'yes', 'No', '*', '', 'system:nodes', '/healthz*', '1.2', 'null'].map(yamlString)).toEqual([
      '"on"',
      '"yes"',
      '"No"',
      '"*"',
      '""',
      '"system:nodes"',
      '"/healthz*"',
      '"1.2"',
      '"null"',
    ]);
    expect(yamlString('pods/exec')).toBe('pods/exec');
    const text = renderPolicy({
      header: 'a\n\nb',
      rules: [
        {
          rule: {
            level: 'Metadata',
            users: Array.from({ length: 12 }, (_, i) => `system:serviceaccount:kube-system:user-${i}`),
          },
        },
      ],
    });
    expect(parsePolicy(text).policy.rules[0]!.users).toHaveLength(12);
    expect(text).toContain('    users:\n      - "system:serviceaccount:kube-system:user-0"');
  });
});
