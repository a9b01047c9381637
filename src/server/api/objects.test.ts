// The object routes on a running collector: history with states and actors, the state at a moment, the
// object tree, all limited to the caller's scope.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent } from '../../core/event.js';
import { makeEvent } from '../../test-support/events.js';
import { startCollector, type Collector } from '../collector.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kt-objects-'));
let c: Collector;
const t = {} as Record<'analyst' | 'viewer', string>;

async function get(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${c.url}${url}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const time = (minute: number) =>
  new Date(Date.UTC(2024, 4, 1, 10, minute, 0)).toISOString().replace('.000Z', '.000000Z');

function write(
  id: string,
  ns: string,
  minute: number,
  verb: string,
  extra: Partial<AuditEvent> = {},
): AuditEvent {
  return makeEvent({
    auditID: id,
    verb,
    level: 'RequestResponse',
    user: {
      username: 'system:serviceaccount:ci:deployer',
      extra: { 'authentication.kubernetes.io/pod-name': ['ci-1'] },
    },
    objectRef: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: ns, name: 'web' },
    requestURI: `/apis/apps/v1/namespaces/${ns}/deployments/web`,
    responseStatus: { code: 200 },
    requestReceivedTimestamp: time(minute),
    stageTimestamp: time(minute),
    ...extra,
  });
}

const deploy = (ns: string, replicas: number) => ({
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  metadata: { name: 'web', namespace: ns, managedFields: [{ manager: 'kubectl' }] },
  spec: { replicas },
});

beforeAll(async () => {
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
  c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  t.analyst = c.auth.tokens.create({ name: 'analyst', role: 'analyst' }).token;
  t.viewer = c.auth.tokens.create({ name: 'viewer', role: 'viewer', scope: 'ns:team-a' }).token;
  const events = [
    write('a-create', 'team-a', 1, 'create', { responseObject: deploy('team-a', 1) }),
    write('a-patch', 'team-a', 2, 'patch', { level: 'Request', requestObject: { spec: { replicas: 3 } } }),
    write('a-scale', 'team-a', 3, 'update', {
      objectRef: {
        resource: 'deployments',
        apiGroup: 'apps',
        namespace: 'team-a',
        name: 'web',
        subresource: 'scale',
      },
      responseStatus: { code: 403 },
    }),
    write('b-patch', 'team-b', 4, 'patch', { level: 'Request', requestObject: { spec: { replicas: 2 } } }),
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

const SINCE = 'since=2024-05-01T00:00:00Z';

describe('object routes', () => {
  it('gives each write its actor and state, and the revisions', async () => {
    const h = await get(`/api/v1/history?object=deploy/web&namespace=team-a&${SINCE}`, t.analyst);
    expect(h.status).toBe(200);
    const entries = h.body.entries as { auditID: string; actor: string; state?: string; failed: boolean }[];
    expect(entries.map((e) => [e.auditID, e.state ?? '-', e.failed])).toEqual([
      ['a-create', 'known', false],
      ['a-patch', 'derived', false],
      ['a-scale', '-', true],
    ]);
    expect(entries[0]!.actor).toBe('pod:ci/ci-1 (sa deployer)');
    expect(h.body.revisions).toEqual([
      { entry: 0, from: time(1), to: time(2), state: 'known', source: 'response' },
      { entry: 1, from: time(2), state: 'derived', source: 'strategic-merge-patch' },
    ]);
    expect(JSON.stringify(h.body)).not.toContain('managedFields');
    const withMf = await get(
      `/api/v1/history?object=deploy/web&namespace=team-a&managedFields=true&${SINCE}`,
      t.analyst,
    );
    expect(JSON.stringify(withMf.body)).toContain('managedFields');
  });

  it('answers the state at a moment', async () => {
    const at = await get(
      `/api/v1/history?object=deploy/web&namespace=team-a&at=2024-05-01T10:02:30Z&${SINCE}`,
      t.analyst,
    );
    expect(at.body).toMatchObject({ state: 'derived', object: { spec: { replicas: 3 } } });
    const b = await get(
      `/api/v1/history?object=deploy/web&namespace=team-b&at=2024-05-01T10:05:00Z&${SINCE}`,
      t.analyst,
    );
    expect(b.body.state).toBe('unknown');
    expect(b.body.object).toBeUndefined();
    const bad = await get(`/api/v1/history?object=deploy/web&at=soon&${SINCE}`, t.analyst);
    expect(bad.status).toBe(400);
  });

  it('lists written objects for the tree, within the caller scope', async () => {
    const all = await get(`/api/v1/objects?${SINCE}`, t.analyst);
    expect(all.body.objects).toEqual([
      {
        cluster: 'prod',
        apiGroup: 'apps',
        resource: 'deployments',
        namespace: 'team-a',
        name: 'web',
        writes: { '': 2, scale: 1 },
        failed: 1,
        last: time(3),
      },
      expect.objectContaining({ namespace: 'team-b', writes: { '': 1 }, failed: 0 }),
    ]);
    const scoped = await get(`/api/v1/objects?${SINCE}`, t.viewer);
    expect((scoped.body.objects as { namespace: string }[]).map((o) => o.namespace)).toEqual(['team-a']);
  });
});
