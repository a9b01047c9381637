// The rbac routes end to end on a real collector (DuckDB store): the used permissions, refused requests
// and suggested YAML for a user; the review with pasted RBAC objects (granted but unused, dangerous
// first, through the user's groups too); a viewer scoped to one namespace sees only what its scope
// shows; bad parameters and bad RBAC text are coded errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent } from '../../core/event.js';
import { makeEvent } from '../../test-support/events.js';
import { startCollector, type Collector } from '../collector.js';

const at = (minute: number) =>
  new Date(Date.UTC(2024, 4, 1, 10, minute, 0)).toISOString().replace('.000Z', '.000000Z');
const SINCE = 'since=2024-05-01T00:00:00Z&until=2024-05-02T00:00:00Z';
const alice = { username: 'alice', groups: ['devs', 'system:authenticated'] };
const req = (
  minute: number,
  verb: string,
  ns: string,
  resource: string,
  code = 200,
  name?: string,
): AuditEvent =>
  makeEvent({
    auditID: `e-${minute}`,
    user: alice,
    verb,
    objectRef: { resource, namespace: ns, apiVersion: 'v1', ...(name ? { name } : {}) },
    requestURI: `/api/v1/namespaces/${ns}/${resource}`,
    responseStatus: { code },
    annotations: { 'authorization.k8s.io/decision': code === 403 ? 'forbid' : 'allow' },
    requestReceivedTimestamp: at(minute),
    stageTimestamp: at(minute),
  });

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: dev}
rules:
- {apiGroups: [""], resources: [pods, secrets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: devs}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: dev}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs}]
`;

let c: Collector;
let dir: string;
const t = {} as Record<'analyst' | 'viewer', string>;

interface Answer {
  error?: { code: string; where?: Record<string, unknown> };
  subject: string;
  source: { events: number; truncated: boolean };
  used: unknown[];
  refused: unknown[];
  suggestion: { yaml: string; objects: unknown[] };
  rbac: unknown;
  granted: number;
  unused: unknown[];
}

async function call(method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${c.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kt-api-rbac-'));
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
  c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  t.analyst = c.auth.tokens.create({ name: 'analyst', role: 'analyst' }).token;
  t.viewer = c.auth.tokens.create({ name: 'viewer', role: 'viewer', scope: 'ns:team-a' }).token;
  const events = [
    req(1, 'get', 'team-a', 'pods', 200, 'web'),
    req(2, 'list', 'team-a', 'pods'),
    req(3, 'list', 'team-b', 'pods'),
    req(4, 'delete', 'team-b', 'pods', 403, 'db'),
  ];
  const res = await fetch(`${c.url}/webhook/prod`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events }),
  });
  expect(res.status).toBe(200);
  await c.settled();
});

afterAll(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /api/v1/rbac/suggest', () => {
  it('answers the used permissions, the refused requests and the suggested YAML', async () => {
    const r = await call('GET', `/api/v1/rbac/suggest?user=alice&${SINCE}`, t.analyst);
    expect(r.status).toBe(200);
    expect(r.body.subject).toBe('user:alice');
    expect(r.body.source).toMatchObject({ events: 4, truncated: false });
    expect(r.body.used).toEqual([
      {
        apiGroup: '',
        resource: 'pods',
        verb: 'get',
        namespace: 'team-a',
        count: 1,
        last: '2024-05-01T10:01:00.000000Z',
      },
      {
        apiGroup: '',
        resource: 'pods',
        verb: 'list',
        namespace: 'team-a',
        count: 1,
        last: '2024-05-01T10:02:00.000000Z',
      },
      {
        apiGroup: '',
        resource: 'pods',
        verb: 'list',
        namespace: 'team-b',
        count: 1,
        last: '2024-05-01T10:03:00.000000Z',
      },
    ]);

    expect(r.body.refused).toEqual([
      { request: 'delete pods db in namespace team-b', count: 1, last: '2024-05-01T10:04:00.000000Z' },
    ]);
    expect(r.body.suggestion.yaml).toContain(
      'kind: Role\nmetadata:\n  name: kubetrail:alice\n  namespace: team-b',
    );
    expect(r.body.suggestion.objects).toHaveLength(4);
  });

  it('a viewer scoped to team-a gets a suggestion from team-a only', async () => {
    const r = await call('GET', `/api/v1/rbac/suggest?user=alice&${SINCE}`, t.viewer);
    expect(r.status).toBe(200);
    expect(r.body.source.events).toBe(2);
    expect(JSON.stringify(r.body)).not.toContain('team-b');
  });

  it('refuses a missing user and a bad flag', async () => {
    expect((await call('GET', '/api/v1/rbac/suggest', t.analyst)).body.error).toMatchObject({
      code: 'KT_API_REQUEST',
    });
    expect((await call('GET', '/api/v1/rbac/suggest?user=a&names=yes', t.analyst)).status).toBe(400);
  });
});

describe('POST /api/v1/rbac/review', () => {
  it('adds what the identity was granted through its groups and did not use, dangerous first', async () => {
    const r = await call('POST', '/api/v1/rbac/review', t.analyst, {
      user: 'alice',
      since: '2024-05-01T00:00:00Z',
      until: '2024-05-02T00:00:00Z',
      rbac: RBAC,
    });
    expect(r.status).toBe(200);
    expect(r.body.rbac).toEqual({ objects: 2, skipped: 0 });
    expect(r.body.granted).toBe(4);
    expect(r.body.unused).toEqual([
      {
        subject: 'group:devs',
        permission: 'get secrets',
        namespace: '*',
        role: 'ClusterRole/dev',
        binding: 'ClusterRoleBinding/devs',
        dangerous: 'reads secrets',
      },
      {
        subject: 'group:devs',
        permission: 'list secrets',
        namespace: '*',
        role: 'ClusterRole/dev',
        binding: 'ClusterRoleBinding/devs',
        dangerous: 'reads secrets',
      },
    ]);
  });

  it('answers a placed KT_RBAC_INVALID for bad objects and refuses text without RBAC', async () => {
    const bad = await call('POST', '/api/v1/rbac/review', t.analyst, {
      user: 'alice',
      rbac: 'kind: Role\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: r}\n',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'KT_RBAC_INVALID', where: { file: 'rbac', line: 3 } });
    const none = await call('POST', '/api/v1/rbac/review', t.analyst, {
      user: 'alice',
      rbac: 'kind: ConfigMap\n',
    });
    expect(none.body.error).toMatchObject({ code: 'KT_RBAC_INVALID' });
  });
});
