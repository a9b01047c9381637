// The HTTP API end to end on a real collector (DuckDB store): every endpoint, every role, scope
// enforcement everywhere (a viewer scoped to one namespace sees nothing else), bodies stripped for
// viewers, sessions with CSRF, the login rate limit, the access log, and the OpenAPI document.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../cli/commands/tail.js';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent, EventRecord } from '../../core/event.js';
import { makeEvent } from '../../test-support/events.js';
import { startCollector, type Collector } from '../collector.js';
import { autoInterval } from './aggregate.js';
import { openApiFile } from './index.js';

const dirs: string[] = [];
async function start(overrides: Record<string, unknown> = {}): Promise<Collector & { dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-api-'));
  dirs.push(dir);
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false, ...overrides });
  const c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  return Object.assign(c, { dir });
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; message: string; where?: { path?: string } } };
}

async function call(
  c: Collector,
  method: string,
  url: string,
  opts: { token?: string; cookie?: string; csrf?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${c.url}${url}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

/** Posts a batch and waits until it is stored (the webhook answers once it is in the segment log). */
async function webhook(c: Collector, events: AuditEvent[], cluster = 'prod') {
  const res = await fetch(`${c.url}/webhook/${cluster}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events }),
  });
  await c.settled();
  return res;
}

const at = (minute: number) =>
  new Date(Date.UTC(2024, 4, 1, 10, minute, 0)).toISOString().replace('.000Z', '.000000Z');

function deployWrite(id: string, ns: string, minute: number, verb: string, replicas: number): AuditEvent {
  const obj = {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: { name: 'web', namespace: ns, resourceVersion: String(minute) },
    spec: { replicas },
  };
  return makeEvent({
    auditID: id,
    verb,
    level: 'RequestResponse',
    user: { username: `dev-${ns}`, groups: ['system:authenticated'] },
    objectRef: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: ns, name: 'web' },
    requestURI: `/apis/apps/v1/namespaces/${ns}/deployments/web`,
    requestObject: obj,
    responseObject: obj,
    responseStatus: { code: verb === 'create' ? 201 : 200 },
    requestReceivedTimestamp: at(minute),
    stageTimestamp: at(minute),
  });
}

function exec(id: string, ns: string, minute: number): AuditEvent {
  return makeEvent({
    auditID: id,
    verb: 'create',
    user: { username: `dev-${ns}`, groups: ['system:authenticated'] },
    objectRef: { resource: 'pods', subresource: 'exec', namespace: ns, name: 'web-1', apiVersion: 'v1' },
    requestURI: `/api/v1/namespaces/${ns}/pods/web-1/exec?command=sh&stdin=true&tty=true`,
    responseStatus: { code: 101 },
    requestReceivedTimestamp: at(minute),
    stageTimestamp: at(minute),
  });
}

const SINCE = 'since=2024-05-01T00:00:00Z&until=2024-05-02T00:00:00Z';

describe('HTTP API', () => {
  let c: Collector & { dir: string };
  const t = {} as Record<'admin' | 'analyst' | 'viewer' | 'viewerBodies' | 'ingest', string>;

  beforeAll(async () => {
    c = await start();
    const mk = (name: keyof typeof t, spec: Parameters<typeof c.auth.tokens.create>[0]) =>
      (t[name] = c.auth.tokens.create({ ...spec, name }).token);
    mk('admin', { role: 'admin' });
    mk('analyst', { role: 'analyst' });
    mk('viewer', { role: 'viewer', scope: 'ns:team-a' });
    mk('viewerBodies', { role: 'viewer', scope: 'ns:team-a', bodies: true });
    mk('ingest', { role: 'ingest', cluster: 'edge' });
    const events = [
      deployWrite('a-create', 'team-a', 1, 'create', 1),
      deployWrite('a-update', 'team-a', 2, 'update', 3),
      deployWrite('b-create', 'team-b', 3, 'create', 1),
      deployWrite('b-update', 'team-b', 4, 'update', 5),
      exec('a-exec', 'team-a', 5),
      exec('b-exec', 'team-b', 70),
    ];
    expect((await webhook(c, events)).status).toBe(200);
  });

  afterAll(async () => {
    await c.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses every API path without credentials, with a bad token, and to ingest tokens', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/events'],
      ['GET', '/api/v1/histogram'],
      ['GET', '/api/v1/alerts'],
      ['GET', '/api/v1/stream'],
      ['GET', '/api/openapi.json'],
      ['POST', '/api/v1/policy/lint'],
    ] as const) {
      const none = await call(c, method, url);
      expect(none.status, url).toBe(401);
      expect(none.body.error?.code).toBe('KT_AUTH_REQUIRED');
      expect((await call(c, method, url, { token: 'kt_wrong' })).status).toBe(401);
      const ingest = await call(c, method, url, { token: t.ingest });
      expect(ingest.status, url).toBe(403);
      expect(ingest.body.error?.code).toBe('KT_FORBIDDEN');
    }
  });

  it('lets an ingest token post to the webhook, tagged with its cluster', async () => {
    const res = await fetch(`${c.url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.ingest}` },
      body: JSON.stringify({ kind: 'EventList', items: [makeEvent({ auditID: 'edge-1' })] }),
    });
    expect(res.status).toBe(200);
    await c.settled();
    expect((await c.store.getByAuditId('edge-1'))[0]?.cluster).toBe('edge');
    const other = await fetch(`${c.url}/webhook/prod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.ingest}` },
      body: JSON.stringify({ kind: 'EventList', items: [makeEvent()] }),
    });
    expect(other.status).toBe(403);
  });

  it('lists events newest first with clusters and a cursor; validates every parameter', async () => {
    const first = await call(
      c,
      'GET',
      `/api/v1/events?q=${encodeURIComponent('resource:deployments')}&limit=3`,
      {
        token: t.analyst,
      },
    );
    expect(first.status).toBe(200);
    const events = first.body.events as AuditEvent[];
    expect(events.map((e) => e.auditID)).toEqual(['b-update', 'b-create', 'a-update']);
    expect(first.body.clusters).toEqual(['prod', 'prod', 'prod']);
    expect(events[0]!.requestObject).toBeDefined();
    const next = await call(
      c,
      'GET',
      `/api/v1/events?q=resource:deployments&limit=3&cursor=${encodeURIComponent(String(first.body.nextCursor))}`,
      { token: t.analyst },
    );
    expect((next.body.events as AuditEvent[]).map((e) => e.auditID)).toEqual(['a-create']);
    expect(next.body.nextCursor).toBeUndefined();
    const asc = await call(c, 'GET', '/api/v1/events?q=resource:deployments&order=asc&limit=1', {
      token: t.analyst,
    });
    expect((asc.body.events as AuditEvent[])[0]!.auditID).toBe('a-create');

    const bad = async (query: string, code: string, where?: string) => {
      const r = await call(c, 'GET', `/api/v1/events?${query}`, { token: t.analyst });
      expect(r.status, query).toBe(400);
      expect(r.body.error?.code, query).toBe(code);
      if (where) expect(r.body.error?.where?.path, query).toBe(where);
      expect(r.body.error?.message.length).toBeGreaterThan(5);
    };
    await bad('limit=0', 'KT_API_REQUEST', 'limit');
    await bad('limit=1001', 'KT_API_REQUEST', 'limit');
    await bad('limit=abc', 'KT_API_REQUEST', 'limit');
    await bad('order=sideways', 'KT_API_REQUEST', 'order');
    await bad('since=yesterday', 'KT_TIME_INVALID', 'since');
    await bad('since=1h&until=2h', 'KT_TIME_INVALID', 'since');
    await bad('q=verb:(create', 'KT_QUERY_SYNTAX');
    await bad('q=verbb:create', 'KT_QUERY_FIELD');
    await bad('cursor=nonsense', 'KT_USAGE');
    await bad('colour=red', 'KT_API_REQUEST', 'colour');
  });

  it('shows one request with all its stages and the diff against the previous version', async () => {
    const r = await call(c, 'GET', '/api/v1/events/a-update', { token: t.analyst });
    expect(r.status).toBe(200);
    const records = r.body.records as EventRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]!.cluster).toBe('prod');
    const diff = r.body.diff as {
      previous: { auditID: string };
      changes: { path: string; old: unknown; new: unknown }[];
    };
    expect(diff.previous.auditID).toBe('a-create');
    expect(diff.changes).toContainEqual({ op: 'change', path: 'spec.replicas', old: 1, new: 3 });
    const missing = await call(c, 'GET', '/api/v1/events/nope', { token: t.analyst });
    expect(missing.status).toBe(404);
    expect(missing.body.error?.code).toBe('KT_NOT_FOUND');
    const read = await call(c, 'GET', '/api/v1/events/a-exec', { token: t.analyst });
    expect(read.body.diff).toBeUndefined();
  });

  it('confines a viewer to its scope on every endpoint and strips bodies unless granted', async () => {
    const v = { token: t.viewer };
    const events = await call(c, 'GET', `/api/v1/events?limit=100`, v);
    const list = events.body.events as AuditEvent[];
    expect(list.length).toBe(3);
    expect(list.every((e) => e.objectRef?.namespace === 'team-a')).toBe(true);
    expect(list.every((e) => e.requestObject === undefined && e.responseObject === undefined)).toBe(true);
    // A filter cannot widen the scope.
    const widened = await call(c, 'GET', `/api/v1/events?q=${encodeURIComponent('ns:team-b OR *')}`, v);
    expect((widened.body.events as AuditEvent[]).every((e) => e.objectRef?.namespace === 'team-a')).toBe(
      true,
    );
    expect((await call(c, 'GET', `/api/v1/events?q=ns:team-b`, v)).body.events).toEqual([]);
    // Detail: out of scope is not found; in scope has no bodies and no diff values.
    expect((await call(c, 'GET', '/api/v1/events/b-update', v)).status).toBe(404);
    const detail = await call(c, 'GET', '/api/v1/events/a-update', v);
    expect((detail.body.records as EventRecord[])[0]!.event.requestObject).toBeUndefined();
    expect((detail.body.diff as { changes: unknown[] }).changes).toEqual([]);
    const withBodies = await call(c, 'GET', '/api/v1/events/a-update', { token: t.viewerBodies });
    expect((withBodies.body.records as EventRecord[])[0]!.event.requestObject).toBeDefined();
    expect((withBodies.body.diff as { changes: unknown[] }).changes.length).toBeGreaterThan(0);
    // Aggregations.
    const hist = await call(c, 'GET', `/api/v1/histogram?${SINCE}&split=ns`, v);
    const keys = new Set(
      (hist.body.buckets as { counts: Record<string, number> }[]).flatMap((b) => Object.keys(b.counts)),
    );
    expect([...keys]).toEqual(['team-a']);
    const top = await call(c, 'GET', `/api/v1/top?field=ns&${SINCE}`, v);
    expect(top.body).toMatchObject({ field: 'ns', total: 3, rows: [{ value: 'team-a', count: 3 }] });
    const values = await call(c, 'GET', `/api/v1/values?field=ns&prefix=team`, v);
    expect(values.body.values).toEqual([{ value: 'team-a', count: 3 }]);
    // History and identity.
    const hb = await call(c, 'GET', '/api/v1/history?object=deployment/web&namespace=team-b', v);
    expect(hb.body.entries).toEqual([]);
    const ha = await call(c, 'GET', '/api/v1/history?object=deployment/web&namespace=team-a', v);
    expect((ha.body.entries as unknown[]).length).toBe(2);
    expect(JSON.stringify(ha.body)).not.toContain('"replicas"');
    // The viewer learns that bodies are hidden from it, not that they were never logged.
    expect(ha.body.bodiesHidden).toBe(true);
    expect((ha.body.entries as { note?: string }[]).map((e) => e.note)).toEqual([
      'hidden: this token may not see bodies',
      'hidden: this token may not see bodies',
    ]);
    const hBodies = await call(c, 'GET', '/api/v1/history?object=deployment/web&namespace=team-a', {
      token: t.viewerBodies,
    });
    expect(hBodies.body.bodiesHidden).toBeUndefined();
    const idb = await call(c, 'GET', `/api/v1/identity?user=dev-team-b&${SINCE}`, v);
    expect(idb.body).toMatchObject({ total: 0, events: [], sessions: [] });
    // Alerts: only those raised by team-a events.
    const alerts = (await call(c, 'GET', '/api/v1/alerts', v)).body.alerts as { auditIDs: string[] }[];
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => a.auditIDs.every((id) => id.startsWith('a-')))).toBe(true);
    const all = (await call(c, 'GET', '/api/v1/alerts', { token: t.analyst })).body.alerts as {
      auditIDs: string[];
    }[];
    expect(all.some((a) => a.auditIDs.includes('b-exec'))).toBe(true);
    // Policy simulation reads only the scope.
    const sim = await call(c, 'POST', '/api/v1/policy/simulate', {
      ...v,
      body: {
        policy: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n',
        since: '2024-05-01T00:00:00Z',
      },
    });
    expect(sim.status).toBe(200);
    expect((sim.body.source as { events: number }).events).toBe(3);
    // Viewers cannot acknowledge or manage tokens.
    expect((await call(c, 'POST', '/api/v1/alerts/x/ack', v)).status).toBe(403);
    expect((await call(c, 'GET', '/api/v1/tokens', v)).status).toBe(403);
  });

  it('refuses body fields on every route to a token without bodies, with the parameter and column', async () => {
    const v = { token: t.viewer };
    const q = (f: string) => `q=${encodeURIComponent(f)}`;
    // Each request names a body field in one parameter; the oracle of issue reports is the prefix filter.
    const oracle = 'requestObject.metadata.name:we*';
    const gets: [url: string, param: string][] = [
      [`/api/v1/events?${q(oracle)}`, 'q'],
      [`/api/v1/events?${q('verb:update AND (ns:x OR -RequestObject.spec.replicas>2)')}`, 'q'],
      [`/api/v1/events?${q('responseObject.spec.replicas:*')}`, 'q'],
      [`/api/v1/histogram?${SINCE}&${q(oracle)}`, 'q'],
      [`/api/v1/histogram?${SINCE}&split=requestObject.spec.replicas`, 'split'],
      [`/api/v1/top?field=requestObject.metadata.name&${SINCE}`, 'field'],
      [`/api/v1/top?field=verb&${SINCE}&${q(oracle)}`, 'q'],
      [`/api/v1/values?field=requestObject.metadata.name`, 'field'],
      [`/api/v1/values?field=responseObject.spec.replicas&prefix=3`, 'field'],
      [`/api/v1/values?field=verb&${q(oracle)}`, 'q'],
      [`/api/v1/stream?${q(oracle)}`, 'q'],
    ];
    for (const [url, param] of gets) {
      const r = await call(c, 'GET', url, v);
      expect(r.status, url).toBe(403);
      expect(r.body.error?.code, url).toBe('KT_BODY_FORBIDDEN');
      expect(r.body.error?.where?.path, url).toBe(param);
      expect(r.body.error?.message, url).toContain('may not see request or response bodies');
    }
    const nested = await call(
      c,
      'GET',
      `/api/v1/events?${q('verb:update AND (ns:x OR -RequestObject.spec.replicas>2)')}`,
      v,
    );
    expect(nested.body.error?.message).toContain('"RequestObject.spec.replicas"');
    expect((nested.body.error?.where as { column?: number }).column).toBe(
      'verb:update AND (ns:x OR -'.length + 1,
    );
    const policy = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n';
    for (const [body, param] of [
      [{ policy, q: oracle }, 'q'],
      [{ policy, need: ['verb:get', oracle] }, 'need.1'],
    ] as const) {
      const r = await call(c, 'POST', '/api/v1/policy/simulate', { ...v, body });
      expect(r.status, param).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'KT_BODY_FORBIDDEN', where: { path: param } });
    }
    // Free text searches only metadata text fields, never bodies: a word only bodies hold finds nothing,
    // for any token.
    for (const token of [t.viewer, t.admin]) {
      const text = await call(c, 'GET', `/api/v1/events?${q('replicas')}&${SINCE}`, { token });
      expect(text.status).toBe(200);
      expect(text.body.events).toEqual([]);
    }
    // A viewer with bodies and an admin may name body fields; the viewer stays in its scope.
    for (const [token, n] of [
      [t.viewerBodies, 2],
      [t.admin, 4],
    ] as const) {
      const events = await call(c, 'GET', `/api/v1/events?${q(oracle)}&${SINCE}`, { token });
      expect(events.status).toBe(200);
      expect((events.body.events as unknown[]).length).toBe(n);
      const values = await call(c, 'GET', `/api/v1/values?field=requestObject.spec.replicas&${SINCE}`, {
        token,
      });
      expect(values.status).toBe(200);
      expect((values.body.values as unknown[]).length).toBeGreaterThan(0);
      const top = await call(c, 'GET', `/api/v1/top?field=responseObject.metadata.name&${SINCE}`, { token });
      expect((top.body.rows as { value: unknown; count: number }[])[0]).toEqual({ value: 'web', count: n });
      const split = await call(c, 'GET', `/api/v1/histogram?${SINCE}&split=requestObject.spec.replicas`, {
        token,
      });
      // The guard lets it through; the store cannot split by a JSON path (several values per event).
      expect(split.body.error?.code).toBe('KT_QUERY_FIELD');
      const sim = await call(c, 'POST', '/api/v1/policy/simulate', {
        token,
        body: { policy, q: oracle, need: [oracle] },
      });
      expect(sim.status).toBe(200);
      expect((sim.body.source as { events: number; bodiesHidden?: boolean }).events).toBe(n);
    }
    // Metadata-only filters still work for the viewer; simulation then leaves bodies out of its bytes.
    const sim = await call(c, 'POST', '/api/v1/policy/simulate', {
      ...v,
      body: { policy, q: 'verb:update' },
    });
    expect(sim.status).toBe(200);
    expect(sim.body.source).toMatchObject({ events: 1, bodiesHidden: true });
  });

  it('streams only in-scope events (without bodies) and alerts to a viewer', async () => {
    const ac = new AbortController();
    const got: { event: string; data: Record<string, unknown> }[] = [];
    const open = async (token: string) => {
      const res = await fetch(`${c.url}/api/v1/stream`, {
        signal: ac.signal,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const sink: { event: string; data: Record<string, unknown> }[] = [];
      void readSse(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) =>
        sink.push({ event, data: JSON.parse(data) as Record<string, unknown> }),
      ).catch(() => undefined);
      return sink;
    };
    const viewer = await open(t.viewer);
    const analyst = await open(t.analyst);
    await new Promise((r) => setTimeout(r, 100));
    expect(
      (
        await webhook(c, [
          exec('s-a', 'team-a', 3000),
          exec('s-b', 'team-b', 3001),
          deployWrite('s-w', 'team-a', 3002, 'update', 9),
        ])
      ).status,
    ).toBe(200);
    for (
      let i = 0;
      i < 300 &&
      (analyst.filter((m) => m.event === 'alert').length < 2 ||
        viewer.filter((m) => m.event === 'alert').length < 1);
      i++
    )
      await new Promise((r) => setTimeout(r, 20));
    got.push(...viewer);
    ac.abort();
    const audit = got.filter((m) => m.event === 'audit').map((m) => m.data as unknown as EventRecord);
    expect(audit.map((r) => r.event.auditID).sort()).toEqual(['s-a', 's-w']);
    expect(audit.every((r) => r.event.requestObject === undefined)).toBe(true);
    const alerts = got.filter((m) => m.event === 'alert').map((m) => m.data as { auditIDs: string[] });
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => a.auditIDs.every((id) => id === 's-a'))).toBe(true);
    expect(
      analyst.filter((m) => m.event === 'alert').some((m) => (m.data.auditIDs as string[]).includes('s-b')),
    ).toBe(true);
  });

  it('holds at most 8 live streams per token by default: the 9th gets 429 KT_STREAM_LIMIT', async () => {
    const ac = new AbortController();
    const open = (token: string) =>
      fetch(`${c.url}/api/v1/stream`, { signal: ac.signal, headers: { authorization: `Bearer ${token}` } });
    try {
      for (let i = 0; i < 8; i++) expect((await open(t.admin)).status).toBe(200);
      expect(c.hub.countOf('admin')).toBe(8);
      const ninth = await open(t.admin);
      expect(ninth.status).toBe(429);
      const body = (await ninth.json()) as Answer['body'];
      expect(body.error).toMatchObject({ code: 'KT_STREAM_LIMIT', where: { path: 'api.streamsPerToken' } });
      expect(body.error?.message).toContain('"admin" already has 8 live streams open');
      // Another token is not affected.
      expect((await open(t.analyst)).status).toBe(200);
      const metrics = await (await fetch(`${c.url}/metrics`)).text();
      expect(metrics).toMatch(/kubetrail_stream_rejected_total\{limit="token"\} 1/);
    } finally {
      ac.abort();
    }
    for (let i = 0; i < 200 && c.hub.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.hub.countOf('admin')).toBe(0);
  });

  it('answers histograms with an automatic interval, zero-filled, optionally split', async () => {
    const r = await call(c, 'GET', `/api/v1/histogram?q=resource:deployments&${SINCE}`, { token: t.analyst });
    expect(r.status).toBe(200);
    const buckets = r.body.buckets as { start: string; counts: Record<string, number> }[];
    expect(buckets.length).toBeGreaterThanOrEqual(48);
    expect(buckets.length).toBeLessThanOrEqual(120);
    expect(buckets.reduce((a, b) => a + (b.counts.all ?? 0), 0)).toBe(4);
    expect(r.body.intervalMs).toBe(autoInterval(86_400_000));
    const split = await call(c, 'GET', `/api/v1/histogram?${SINCE}&interval=1h&split=verb`, {
      token: t.analyst,
    });
    expect(split.body.intervalMs).toBe(3_600_000);
    expect((split.body.buckets as unknown[]).length).toBe(24);
    // Nothing matches, split: zero-filled buckets, not an error (the default dashboard asks this).
    const none = await call(c, 'GET', `/api/v1/histogram?q=user:nobody&${SINCE}&interval=1h&split=verb`, {
      token: t.analyst,
    });
    expect(none.status).toBe(200);
    const noneBuckets = none.body.buckets as { counts: Record<string, number> }[];
    expect(noneBuckets.length).toBe(24);
    expect(noneBuckets.every((b) => Object.values(b.counts).every((n) => n === 0))).toBe(true);
    const bad = await call(c, 'GET', `/api/v1/histogram?${SINCE}&interval=1s`, { token: t.analyst });
    expect(bad.body.error?.code).toBe('KT_API_REQUEST');
    const field = await call(c, 'GET', `/api/v1/histogram?${SINCE}&split=verbb`, { token: t.analyst });
    expect(field.body.error).toMatchObject({ code: 'KT_QUERY_FIELD', hint: 'did you mean `verb`?' });
  });

  it('answers top values, fields and autocomplete values', async () => {
    const top = await call(c, 'GET', `/api/v1/top?field=verb&${SINCE}&limit=2`, { token: t.analyst });
    expect(top.body).toMatchObject({
      field: 'verb',
      rows: [
        { value: 'create', count: 4 },
        { value: 'update', count: 2 },
      ],
    });
    expect((await call(c, 'GET', '/api/v1/top', { token: t.analyst })).body.error?.where?.path).toBe('field');
    const fields = (await call(c, 'GET', '/api/v1/fields', { token: t.viewer })).body.fields as {
      name: string;
    }[];
    expect(fields.map((f) => f.name)).toContain('verb');
    const values = await call(c, 'GET', '/api/v1/values?field=user&prefix=dev-team-', { token: t.analyst });
    expect((values.body.values as { value: string }[]).map((v) => v.value).sort()).toEqual([
      'dev-team-a',
      'dev-team-b',
    ]);
  });

  it('answers object history and identity activity with sessions', async () => {
    const h = await call(
      c,
      'GET',
      '/api/v1/history?resource=deployments&name=web&namespace=team-b&apiGroup=apps',
      {
        token: t.analyst,
      },
    );
    const entries = h.body.entries as { auditID: string; changes?: unknown[] }[];
    expect(entries.map((e) => e.auditID)).toEqual(['b-create', 'b-update']);
    expect(
      (await call(c, 'GET', '/api/v1/history?object=web', { token: t.analyst })).body.error?.where?.path,
    ).toBe('object');
    const id = await call(c, 'GET', `/api/v1/identity?user=dev-team-b&${SINCE}`, { token: t.analyst });
    expect(id.body).toMatchObject({ user: 'dev-team-b', total: 3 });
    const sessions = id.body.sessions as { count: number; sensitive: number }[];
    // Minutes 3-4 and minute 70 are more than 30 minutes apart: two sessions, the exec in the later one.
    expect(sessions).toHaveLength(2);
    expect(sessions[0]).toMatchObject({ count: 1, sensitive: 1 });
    expect(sessions[1]).toMatchObject({ count: 2, sensitive: 0 });
    expect((id.body.verbs as { value: string }[]).map((v) => v.value)).toContain('update');
    expect((id.body.events as unknown[]).length).toBe(3);
  });

  it('lists alerts by severity, rule and status, and acknowledges them (analyst, admin)', async () => {
    const all = (await call(c, 'GET', '/api/v1/alerts', { token: t.analyst })).body.alerts as {
      id: string;
      rule: string;
      severity: string;
      status: string;
    }[];
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((a) => a.status === 'open')).toBe(true);
    const one = all[0]!;
    const byRule = (
      await call(c, 'GET', `/api/v1/alerts?rule=${one.rule}&severity=${one.severity}`, { token: t.analyst })
    ).body.alerts as { rule: string }[];
    expect(byRule.every((a) => a.rule === one.rule)).toBe(true);
    expect(
      (await call(c, 'GET', '/api/v1/alerts?severity=urgent', { token: t.analyst })).body.error?.where?.path,
    ).toBe('severity');
    expect((await call(c, 'POST', `/api/v1/alerts/${one.id}/ack`, { token: t.analyst })).body).toEqual({
      ok: true,
    });
    expect((await call(c, 'POST', '/api/v1/alerts/unknown/ack', { token: t.admin })).status).toBe(404);
    const acked = (await call(c, 'GET', '/api/v1/alerts?status=acked', { token: t.analyst })).body.alerts as {
      id: string;
      acked: { by: string };
    }[];
    expect(acked.map((a) => a.id)).toEqual([one.id]);
    expect(acked[0]!.acked.by).toBe('analyst');
    const open = (await call(c, 'GET', '/api/v1/alerts?status=open', { token: t.analyst })).body.alerts as {
      id: string;
    }[];
    expect(open.map((a) => a.id)).not.toContain(one.id);
    const rules = (await call(c, 'GET', '/api/v1/rules', { token: t.viewer })).body.rules as {
      id: string;
      enabled: boolean;
    }[];
    expect(rules.length).toBeGreaterThan(10);
    expect(rules[0]).toMatchObject({ id: expect.any(String), enabled: expect.any(Boolean) });
  });

  it('lints and simulates policies', async () => {
    const lint = await call(c, 'POST', '/api/v1/policy/lint', {
      token: t.analyst,
      body: { policy: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Loud\n' },
    });
    expect(lint.status).toBe(200);
    expect(lint.body.errors).toBeGreaterThan(0);
    const sim = await call(c, 'POST', '/api/v1/policy/simulate', {
      token: t.analyst,
      body: { policy: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n' },
    });
    expect(sim.status).toBe(200);
    expect(sim.body).toMatchObject({
      after: { events: 0 },
      source: { truncated: false, maxEvents: 500_000 },
    });
    expect((sim.body.lost as number) > 0).toBe(true);
    const invalid = await call(c, 'POST', '/api/v1/policy/simulate', {
      token: t.analyst,
      body: { policy: 'kind: Policy\nrules: []\n' },
    });
    expect(invalid.body.error?.code).toBe('KT_POLICY_INVALID');
    const noBody = await call(c, 'POST', '/api/v1/policy/lint', { token: t.analyst });
    expect(noBody.body.error).toMatchObject({ code: 'KT_API_REQUEST', where: { path: 'body' } });
    const wrongField = await call(c, 'POST', '/api/v1/policy/lint', {
      token: t.analyst,
      body: { text: 'x' },
    });
    expect(wrongField.status).toBe(400);
  });

  it('logs in with a cookie session, requires CSRF for changes, logs out', async () => {
    const login = await call(c, 'POST', '/api/v1/login', { body: { token: t.analyst } });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^kt_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toContain('Max-Age=43200');
    expect(setCookie).not.toContain('Secure');
    const csrf = login.body.csrfToken as string;
    expect(login.body.user).toEqual({ name: 'analyst', role: 'analyst', scope: null, bodies: true });
    const cookie = setCookie.split(';')[0]!;
    const me = await call(c, 'GET', '/api/v1/me', { cookie });
    expect(me.body).toMatchObject({ name: 'analyst', role: 'analyst', csrfToken: csrf });
    expect((await call(c, 'GET', '/api/v1/events?limit=1', { cookie })).status).toBe(200);
    const alerts = (await call(c, 'GET', '/api/v1/alerts', { cookie })).body.alerts as { id: string }[];
    const noCsrf = await call(c, 'POST', `/api/v1/alerts/${alerts[0]!.id}/ack`, { cookie });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error?.code).toBe('KT_FORBIDDEN');
    expect(
      (await call(c, 'POST', `/api/v1/alerts/${alerts[0]!.id}/ack`, { cookie, csrf: 'wrong' })).status,
    ).toBe(403);
    expect((await call(c, 'POST', `/api/v1/alerts/${alerts[0]!.id}/ack`, { cookie, csrf })).status).toBe(200);
    expect(
      (await call(c, 'POST', '/api/v1/policy/lint', { cookie, body: { policy: 'kind: Policy' } })).status,
    ).toBe(403);
    expect((await call(c, 'POST', '/api/v1/logout', { cookie })).status).toBe(403);
    const out = await call(c, 'POST', '/api/v1/logout', { cookie, csrf });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await call(c, 'GET', '/api/v1/me', { cookie })).status).toBe(401);
    // A viewer's session carries its scope.
    const v = await call(c, 'POST', '/api/v1/login', { body: { token: t.viewer } });
    expect(v.body.user).toEqual({ name: 'viewer', role: 'viewer', scope: 'ns:team-a', bodies: false });
    // An ingest token cannot open a session.
    expect((await call(c, 'POST', '/api/v1/login', { body: { token: t.ingest } })).status).toBe(403);
  });

  it('ends sessions and refuses tokens once revoked; admins manage tokens over the API', async () => {
    const created = await call(c, 'POST', '/api/v1/tokens', {
      token: t.admin,
      body: { role: 'viewer', name: 'temp', scope: 'ns:x' },
    });
    expect(created.status).toBe(201);
    const temp = created.body.token as string;
    const login = await call(c, 'POST', '/api/v1/login', { body: { token: temp } });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const list = (await call(c, 'GET', '/api/v1/tokens', { token: t.admin })).body.tokens as Record<
      string,
      unknown
    >[];
    expect(list.map((x) => x.name)).toContain('temp');
    expect(JSON.stringify(list)).not.toMatch(/sha256|kt_/);
    expect((await call(c, 'GET', '/api/v1/tokens', { token: t.analyst })).status).toBe(403);
    expect((await call(c, 'DELETE', '/api/v1/tokens/temp', { token: t.admin })).body).toEqual({ ok: true });
    expect((await call(c, 'GET', '/api/v1/me', { token: temp })).status).toBe(401);
    expect((await call(c, 'GET', '/api/v1/me', { cookie })).status).toBe(401);
    expect((await call(c, 'DELETE', '/api/v1/tokens/temp', { token: t.admin })).status).toBe(404);
  });

  it('writes the access log without tokens, cookies or bodies', async () => {
    await call(c, 'GET', `/api/v1/events?q=${encodeURIComponent('verb:create')}&limit=1`, { token: t.admin });
    const secretPolicy =
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None # very-private-text\n';
    await call(c, 'POST', '/api/v1/policy/lint', { token: t.admin, body: { policy: secretPolicy } });
    const log = readFileSync(path.join(c.dir, 'access.log'), 'utf8');
    const lines = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        user: 'admin',
        role: 'admin',
        method: 'GET',
        path: '/api/v1/events',
        q: 'verb:create',
        status: 200,
      }),
    );
    expect(lines.every((l) => typeof l.ms === 'number' && typeof l.time === 'string')).toBe(true);
    for (const secret of Object.values(t)) expect(log).not.toContain(secret);
    expect(log).not.toContain('kt_session');
    expect(log).not.toContain('very-private-text');
  });

  it('serves an OpenAPI document that lists exactly the registered routes', async () => {
    const r = await call(c, 'GET', '/api/openapi.json', { token: t.viewer });
    expect(r.status).toBe(200);
    const doc = r.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc).toEqual(JSON.parse(readFileSync(openApiFile(), 'utf8')));
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== 'parameters')
          .map((m) => `${m} ${p}`),
      )
      .sort();
    const registered = c.server.kubetrailApiRoutes.map((x) => `${x.method} ${x.path}`).sort();
    expect(documented).toEqual(registered);
  });
});

describe('HTTP API: no token, rate limit', () => {
  it('refuses the API while no token exists, telling how to create one', async () => {
    const c = await start();
    try {
      const r = await call(c, 'GET', '/api/v1/events');
      expect(r.status).toBe(401);
      expect(r.body.error?.message).toContain('no API token exists');
      expect((r.body.error as unknown as { hint: string }).hint).toContain(
        'kubetrail token create --role admin',
      );
      // The webhook still takes loopback clients without credentials.
      expect((await webhook(c, [makeEvent()])).status).toBe(200);
    } finally {
      await c.close();
    }
  });

  it('limits failed logins per address', async () => {
    const c = await start({ api: { loginMaxFailures: 3, loginWindowSeconds: 60 } });
    try {
      c.auth.tokens.create({ role: 'admin', name: 'root' });
      for (let i = 0; i < 3; i++)
        expect((await call(c, 'POST', '/api/v1/login', { body: { token: `kt_guess${i}` } })).status).toBe(
          401,
        );
      const limited = await call(c, 'POST', '/api/v1/login', { body: { token: 'kt_guess9' } });
      expect(limited.status).toBe(429);
      expect(limited.body.error?.code).toBe('KT_RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
  });

  it('holds at most api.streamsTotal live streams in all, and admits again once one closes', async () => {
    const c = await start({ api: { streamsPerToken: 2, streamsTotal: 3 } });
    const ac = [new AbortController(), new AbortController()];
    try {
      const a = c.auth.tokens.create({ role: 'analyst', name: 'a' }).token;
      const b = c.auth.tokens.create({ role: 'analyst', name: 'b' }).token;
      const open = (token: string, k = 1) =>
        fetch(`${c.url}/api/v1/stream`, {
          signal: ac[k]!.signal,
          headers: { authorization: `Bearer ${token}` },
        });
      expect((await open(a, 0)).status).toBe(200);
      expect((await open(a)).status).toBe(200);
      expect((await open(a)).status).toBe(429);
      expect((await open(b)).status).toBe(200);
      const full = await open(b);
      expect(full.status).toBe(429);
      expect(((await full.json()) as Answer['body']).error).toMatchObject({
        code: 'KT_STREAM_LIMIT',
        where: { path: 'api.streamsTotal' },
      });
      ac[0]!.abort();
      for (let i = 0; i < 200 && c.hub.size > 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect((await open(b)).status).toBe(200);
    } finally {
      for (const x of ac) x.abort();
      await c.close();
    }
  });

  it('never refuses a valid token or session after failures from the same address', async () => {
    // The default limit: 10 failures in 300 s.
    const c = await start();
    try {
      const { token } = c.auth.tokens.create({ role: 'analyst', name: 'alice' });
      const login = await call(c, 'POST', '/api/v1/login', { body: { token } });
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      for (let i = 0; i < 10; i++) {
        const bad =
          i % 2 === 0
            ? await call(c, 'POST', '/api/v1/login', { body: { token: `kt_guess${i}` } })
            : await call(c, 'GET', '/api/v1/me', { token: `kt_guess${i}` });
        expect(bad.status).toBe(401);
      }
      // Bad guesses are now refused, by login and by bearer header alike, with Retry-After.
      for (const bad of [
        await call(c, 'POST', '/api/v1/login', { body: { token: 'kt_guess-next' } }),
        await call(c, 'GET', '/api/v1/me', { token: 'kt_guess-next' }),
      ]) {
        expect(bad.status).toBe(429);
        expect(bad.body.error?.code).toBe('KT_RATE_LIMITED');
        expect(Number(bad.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // The valid token, its session and a new login from the same address still work.
      expect((await call(c, 'GET', '/api/v1/me', { token })).status).toBe(200);
      expect((await call(c, 'GET', '/api/v1/events', { token })).status).toBe(200);
      expect((await call(c, 'GET', '/api/v1/me', { cookie })).status).toBe(200);
      expect((await call(c, 'POST', '/api/v1/login', { body: { token } })).status).toBe(200);
      // A success clears nothing: the next bad guess is still refused.
      expect((await call(c, 'GET', '/api/v1/me', { token: 'kt_guess-after' })).status).toBe(429);
    } finally {
      await c.close();
    }
  });
});
