// The export and gap endpoints on a running collector: a scoped viewer's bundle, NDJSON and CSV hold
// only what it may read (no bodies without them), the bundle verifies, the equivalent command is named,
// and /api/v1/gaps reports a hole with the webhook's own counters (left out for a scoped viewer).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../bundle/verify.js';
import { readTarGz } from '../../bundle/tar.js';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent } from '../../core/event.js';
import { makeEvent } from '../../test-support/events.js';
import { startCollector, type Collector } from '../collector.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kt-export-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2024, 4, 1, 10);
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

function write(id: string, ns: string, ms: number): AuditEvent {
  const obj = {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'settings', namespace: ns },
    data: { mode: id },
  };
  return makeEvent({
    auditID: id,
    verb: 'update',
    level: 'RequestResponse',
    objectRef: { resource: 'configmaps', apiVersion: 'v1', namespace: ns, name: 'settings' },
    requestURI: `/api/v1/namespaces/${ns}/configmaps/settings`,
    requestObject: obj,
    responseObject: obj,
    requestReceivedTimestamp: iso(ms),
    stageTimestamp: iso(ms),
  });
}

function lease(ms: number): AuditEvent {
  return makeEvent({
    verb: 'update',
    user: { username: 'system:kube-controller-manager', groups: [] },
    objectRef: {
      resource: 'leases',
      apiGroup: 'coordination.k8s.io',
      apiVersion: 'v1',
      namespace: 'kube-system',
      name: 'kcm',
    },
    requestReceivedTimestamp: iso(ms),
    stageTimestamp: iso(ms),
  });
}

describe('export and gaps API', () => {
  let c: Collector;
  const t = {} as Record<'admin' | 'viewer', string>;
  const get = async (url: string, token: string) =>
    fetch(`${c.url}${url}`, { headers: { authorization: `Bearer ${token}` } });
  const RANGE = 'since=2024-05-01T09:00:00Z&until=2024-05-01T13:00:00Z';

  beforeAll(async () => {
    const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
    c = await startCollector({ config, logger: pino({ level: 'silent' }) });
    t.admin = c.auth.tokens.create({ name: 'admin', role: 'admin' }).token;
    t.viewer = c.auth.tokens.create({ name: 'viewer', role: 'viewer', scope: 'ns:team-a' }).token;
    const events: AuditEvent[] = [
      write('a1', 'team-a', T0 + 60_000),
      write('a2', 'team-a', T0 + 120_000),
      write('b1', 'team-b', T0 + 90_000),
    ];
    // Two hours of leader-election renewals every 2 s, with the hour from 11:00 to 11:30 missing.
    for (let ms = T0; ms < T0 + 2 * 3_600_000; ms += 2000)
      if (ms < T0 + 3_600_000 || ms >= T0 + 5_400_000) events.push(lease(ms));
    for (let i = 0; i < events.length; i += 1000) {
      const res = await fetch(`${c.url}/webhook/prod`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'EventList',
          apiVersion: 'audit.k8s.io/v1',
          items: events.slice(i, i + 1000),
        }),
      });
      expect(res.status).toBe(200);
    }
    // The API server sends one batch again: the webhook counts its events as duplicates.
    await fetch(`${c.url}/webhook/prod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events.slice(0, 3) }),
    });
    await c.settled();
  }, 60_000);

  afterAll(async () => {
    await c?.close();
  });

  it('gives a scoped viewer a bundle of its scope only, without bodies, that verifies', async () => {
    const res = await get(`/api/v1/export?format=bundle&q=resource:configmaps&${RANGE}`, t.viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(decodeURIComponent(res.headers.get('x-kubetrail-command')!)).toMatch(
      /^kubetrail export --since 2024-05-01T09:00:00\.000000Z --until 2024-05-01T13:00:00\.000000Z --out kubetrail-20240501T090000\.tar\.gz resource:configmaps$/,
    );
    const file = path.join(dir, 'viewer.tar.gz');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const v = await verifyBundle(file);
    expect(v.findings).toEqual([]);
    expect(v.manifest!.request).toMatchObject({ requestedBy: 'viewer', scope: 'ns:team-a', bodies: false });
    expect(v.manifest!.signer.oneTime).toBe(true);
    const members = new Map<string, string>();
    await readTarGz(file, (name) => {
      let text = '';
      return { data: (b) => void (text += b.toString()), end: () => void members.set(name, text) };
    });
    const events = members
      .get('events.ndjson')!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: AuditEvent });
    expect(events.map((e) => e.event.auditID)).toEqual(['a1', 'a2']);
    expect(
      events.every((e) => e.event.requestObject === undefined && e.event.responseObject === undefined),
    ).toBe(true);
    const histories = members
      .get('histories.ndjson')!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { object: { namespace: string } });
    expect(histories.map((h) => h.object.namespace)).toEqual(['team-a']);
  });

  it('gives NDJSON and CSV of the same view, and names the command', async () => {
    const nd = await get(`/api/v1/export?format=ndjson&q=resource:configmaps&${RANGE}`, t.viewer);
    expect(nd.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(lines.map((e) => e.auditID)).toEqual(['a1', 'a2']);
    const csv = await (await get(`/api/v1/export?format=csv&q=resource:configmaps&${RANGE}`, t.admin)).text();
    expect(csv.split('\n')[0]).toMatch(/^"time","cluster","auditID"/);
    expect(csv.trim().split('\n')).toHaveLength(4);
    const cmd = (await (
      await get(`/api/v1/export?format=csv&q=resource:configmaps&${RANGE}&command=only`, t.admin)
    ).json()) as { command: string };
    expect(cmd.command).toBe(
      'kubetrail query --since 2024-05-01T09:00:00.000000Z --until 2024-05-01T13:00:00.000000Z --asc --limit 1000000 -o csv resource:configmaps > export.csv',
    );
    const bad = await get('/api/v1/export?format=zip', t.admin);
    expect(bad.status).toBe(400);
    const body = await get('/api/v1/export?format=ndjson&q=requestObject.data.mode:a1', t.viewer);
    expect(body.status).toBe(403);
  });

  it('reports the hole, with the webhook counters for an unscoped caller only', async () => {
    const res = await get(`/api/v1/gaps?${RANGE}`, t.admin);
    expect(res.status).toBe(200);
    const r = (await res.json()) as {
      gaps: { cluster: string; start: string; end: string; level: string }[];
      webhook: { duplicates: Record<string, number>; refused: Record<string, number> };
    };
    expect(r.gaps.map((g) => [g.cluster, g.start.slice(11, 19), g.end.slice(11, 19), g.level])).toEqual([
      ['prod', '10:59:58', '11:30:00', 'high'],
    ]);
    expect(r.webhook.duplicates['webhook:prod']).toBe(3);
    const scoped = (await (await get(`/api/v1/gaps?${RANGE}`, t.viewer)).json()) as {
      gaps: unknown[];
      webhook?: unknown;
    };
    expect(scoped.webhook).toBeUndefined();
    expect(scoped.gaps).toEqual([]);
    expect((await get('/api/v1/gaps?bucket=100ms', t.admin)).status).toBe(400);
  });
});
