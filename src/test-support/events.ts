// Test helpers: building audit events by hand and generating random ones (fast-check) for property tests.
import fc from 'fast-check';
import type { AuditEvent, EventRecord } from '../core/event.js';

let counter = 0;

/** A plausible ResponseComplete event; override any field. */
export function makeEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  counter++;
  const t = new Date(Date.UTC(2024, 4, 1, 10, 0, 0) + counter * 1000).toISOString().replace('Z', '000Z');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods/web-1',
    verb: 'get',
    user: { username: 'alice@example.com', groups: ['devs', 'system:authenticated'] },
    sourceIPs: ['10.0.0.5'],
    userAgent: 'kubectl/v1.30.0 (linux/amd64) kubernetes/abc123',
    objectRef: { resource: 'pods', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...overrides,
  };
}

/** An interactive `kubectl exec` into prod/web-1 by mallory (what the pod-exec rule catches); override any field. */
export function execEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return makeEvent({
    verb: 'create',
    user: { username: 'mallory', groups: ['system:authenticated'] },
    objectRef: { resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'web-1', apiVersion: 'v1' },
    requestURI: '/api/v1/namespaces/prod/pods/web-1/exec?command=sh&container=web&stdin=true&tty=true',
    responseStatus: { code: 101 },
    ...overrides,
  });
}

export function rec(event: AuditEvent, cluster = 'default'): EventRecord {
  return { cluster, event };
}

// Small vocabularies so that generated queries hit generated events often.
export const USERS = [
  'alice',
  'bob',
  'system:serviceaccount:kube-system:replicaset-controller',
  'system:node:n1',
  'Alice',
  '',
];
export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
export const NAMESPACES = ['default', 'kube-system', 'team-a', 'a_b', 'a%b'];
export const RESOURCES = ['pods', 'secrets', 'deployments', 'configmaps', 'namespaces'];
export const TEXTS = [
  'forbidden',
  'Forbidden',
  'x*y',
  'a\\b',
  "it's",
  'ünïcode',
  'line\nbreak',
  '50%',
  'under_score',
];

const micros = fc.integer({ min: 0, max: 999_999 });

export const eventArbitrary: fc.Arbitrary<AuditEvent> = fc
  .record({
    user: fc.constantFrom(...USERS),
    groups: fc.subarray(['devs', 'system:masters', 'system:authenticated', 'a_b']),
    verb: fc.constantFrom(...VERBS),
    ns: fc.option(fc.constantFrom(...NAMESPACES), { nil: undefined }),
    resource: fc.option(fc.constantFrom(...RESOURCES), { nil: undefined }),
    name: fc.option(fc.constantFrom('web-1', 'db', 'x*y', 'Forbidden-thing'), { nil: undefined }),
    code: fc.option(fc.constantFrom(200, 201, 403, 404, 500), { nil: undefined }),
    ips: fc.subarray(['10.0.0.1', '203.0.113.7', '::1']),
    ua: fc.option(fc.constantFrom(...TEXTS, 'kubectl/v1.30.0'), { nil: undefined }),
    msg: fc.option(fc.constantFrom(...TEXTS), { nil: undefined }),
    second: fc.integer({ min: 0, max: 86_399 }),
    us: micros,
    latencyUs: fc.integer({ min: 0, max: 3_000_000 }),
    decision: fc.option(fc.constantFrom('allow', 'forbid'), { nil: undefined }),
    privileged: fc.option(fc.boolean(), { nil: undefined }),
    replicas: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    images: fc.subarray(['nginx:1', 'busybox', 'evil/miner']),
    impersonated: fc.option(fc.constantFrom('bob', 'system:serviceaccount:ns1:sa1'), { nil: undefined }),
  })
  .map((g) => {
    const base = Date.UTC(2024, 4, 1) + g.second * 1000;
    const recvUs = base * 1000 + g.us;
    const iso = (us: number) =>
      `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
    const e: AuditEvent = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: g.privileged === undefined ? 'Metadata' : 'RequestResponse',
      auditID: `id-${g.second}-${g.us}`,
      stage: 'ResponseComplete',
      requestURI: `/api/v1/${g.ns ? `namespaces/${g.ns}/` : ''}${g.resource ?? 'healthz'}`,
      verb: g.verb,
      user: { username: g.user, groups: g.groups },
      sourceIPs: g.ips,
      requestReceivedTimestamp: iso(recvUs),
      stageTimestamp: iso(recvUs + g.latencyUs),
    };
    if (g.ua !== undefined) e.userAgent = g.ua;
    if (g.resource) {
      e.objectRef = { resource: g.resource, apiVersion: 'v1' };
      if (g.ns) e.objectRef.namespace = g.ns;
      if (g.name) e.objectRef.name = g.name;
    }
    if (g.code !== undefined) {
      e.responseStatus = { code: g.code };
      if (g.msg !== undefined) e.responseStatus.message = g.msg;
      if (g.code === 403) e.responseStatus.reason = 'Forbidden';
    }
    if (g.decision) e.annotations = { 'authorization.k8s.io/decision': g.decision, 'a/b~c': g.msg ?? 'v' };
    if (g.impersonated) e.impersonatedUser = { username: g.impersonated };
    if (g.privileged !== undefined || g.replicas !== undefined || g.images.length > 0) {
      e.requestObject = {
        spec: {
          ...(g.replicas !== undefined ? { replicas: g.replicas } : {}),
          containers: g.images.map((image, i) => ({
            name: `c${i}`,
            image,
            ...(g.privileged !== undefined && i === 0
              ? { securityContext: { privileged: g.privileged } }
              : {}),
            ports: [{ containerPort: 80 + i }],
          })),
        },
        metadata: { labels: { app: g.name ?? 'none' } },
      };
    }
    return e;
  });
