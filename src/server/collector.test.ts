import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../config/schema.js';
import type { EventRecord } from '../core/event.js';
import { isKubetrailError } from '../core/errors.js';
import { createDataKeyFile } from '../crypto/key-file.js';
import { openStore } from '../store/open.js';
import type { Transform } from '../core/transform.js';
import { parseQuery } from '../query/index.js';
import { execEvent, makeEvent } from '../test-support/events.js';
import { readSse } from '../cli/commands/tail.js';
import { STRICT_TRANSPORT_SECURITY } from './app.js';
import { plainTextWarning, startCollector, type Collector } from './collector.js';
import { gatedTransform } from '../test-support/gated-transform.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kt-collector-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function start(
  overrides: Record<string, unknown> = {},
  extra: { transforms?: Transform[]; tail?: string[] } = {},
): Promise<Collector & { dir: string }> {
  const dir = tempDir();
  const config: Config = configSchema.parse({
    dataDir: dir,
    listen: '127.0.0.1:0',
    autodetect: false,
    ...overrides,
    // These tests read the store write's counts in the answer (acknowledge: store); the default, an
    // answer once the batch is in the segment log, is tested in src/pipeline/sources/webhook.test.ts.
    webhook: { acknowledge: 'store', ...(overrides.webhook as object | undefined) },
  });
  const c = await startCollector({ config, logger: pino({ level: 'silent' }), ...extra });
  cleanups.push(() => c.close());
  return Object.assign(c, { dir });
}

function eventList(events: object[], stripKind = true): string {
  return JSON.stringify({
    kind: 'EventList',
    apiVersion: 'audit.k8s.io/v1',
    items: events.map((e) => {
      if (!stripKind) return e;
      const { kind: _k, apiVersion: _a, ...rest } = e as Record<string, unknown>;
      return rest;
    }),
  });
}

/** The quarantine file's text once it holds at least `lines` records (it is written asynchronously). */
async function quarantineLines(dir: string, lines: number): Promise<string> {
  const file = path.join(dir, 'quarantine.jsonl');
  for (let i = 0; i < 200; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    if (text !== '' && text.split('\n').length >= lines) return text;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the quarantine file did not reach ${lines} records`);
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('collector: webhook', () => {
  it('stores a batch before answering 200, and a resent batch only once', async () => {
    const c = await start();
    const events = [makeEvent({ auditID: 'a1' }), makeEvent({ auditID: 'a2', verb: 'delete' })];
    const first = await post(`${c.url}/webhook/prod?timeout=30s`, eventList(events));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ received: 2, stored: 2, duplicates: 0 });
    // Answered 200: the events are in the store already.
    const page = await c.store.query({ filter: parseQuery('cluster:prod'), limit: 10 });
    expect(page.records.map((r) => r.event.auditID).sort()).toEqual(['a1', 'a2']);
    const again = await post(`${c.url}/webhook/prod?timeout=30s`, eventList(events));
    expect(again.body).toMatchObject({ stored: 0, duplicates: 2 });
    expect(await c.store.count(parseQuery('*'))).toBe(2);
  });

  it('with encryption.keyFile: stores sealed events, answers filters on sealed fields, needs the key to open', async () => {
    const keyDir = tempDir();
    const keyFile = path.join(keyDir, 'data.key');
    createDataKeyFile(keyFile);
    const c = await start({ encryption: { keyFile } });
    const events = [makeEvent({ auditID: 's1', userAgent: 'sealed-agent' }), makeEvent({ auditID: 's2' })];
    expect((await post(`${c.url}/webhook?timeout=30s`, eventList(events))).status).toBe(200);
    const page = await c.store.query({ filter: parseQuery('ua:sealed-agent'), limit: 10 });
    expect(page.records.map((r) => r.event.auditID)).toEqual(['s1']);
    await c.close();
    const err = await openStore(path.join(c.dir, 'kubetrail.duckdb')).catch((e: unknown) => e);
    expect(isKubetrailError(err) && err.code).toBe('KT_KEY_REQUIRED');
  });

  it('stores the same event once whether it arrives with kind/apiVersion or without', async () => {
    const c = await start();
    const e = makeEvent({ auditID: 'same' });
    await post(`${c.url}/webhook`, eventList([e], true));
    const r = await post(`${c.url}/webhook`, eventList([e], false));
    expect(r.body).toMatchObject({ stored: 0, duplicates: 1 });
  });

  it('accepts v1beta1 lists, gzip bodies and JSON lines', async () => {
    const c = await start();
    const beta = JSON.stringify({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1beta1',
      items: [{ ...makeEvent({ auditID: 'b1' }), apiVersion: 'audit.k8s.io/v1beta1' }],
    });
    expect((await post(`${c.url}/webhook`, beta)).body).toMatchObject({ stored: 1 });
    const gz = gzipSync(eventList([makeEvent({ auditID: 'g1' })]));
    expect((await post(`${c.url}/webhook`, gz, { 'content-encoding': 'gzip' })).body).toMatchObject({
      stored: 1,
    });
    // JSON lines (without credentials only in application/json; see 'who may write to the trail').
    const lines = [makeEvent({ auditID: 'l1' }), makeEvent({ auditID: 'l2' })]
      .map((e) => JSON.stringify(e))
      .join('\n');
    expect((await post(`${c.url}/webhook`, lines)).body).toMatchObject({ stored: 2 });
  });

  it('applies its retention at start, by whole UTC days', async () => {
    const first = await start();
    const old = makeEvent({
      auditID: 'old-1',
      requestReceivedTimestamp: '2020-01-01T10:00:00.000000Z',
      stageTimestamp: '2020-01-01T10:00:00.000000Z',
    });
    const now = new Date().toISOString().replace('Z', '000Z');
    const recent = makeEvent({ auditID: 'new-1', requestReceivedTimestamp: now, stageTimestamp: now });
    expect((await post(`${first.url}/webhook`, eventList([old, recent]))).body).toMatchObject({ stored: 2 });
    await first.close();
    const again = await start({ dataDir: first.dir, retention: '30d' });
    const { parseQuery } = await import('../query/index.js');
    const deadline = Date.now() + 10_000;
    while ((await again.store.count(parseQuery('*'))) !== 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(
      (await again.store.query({ filter: parseQuery('*'), limit: 10 })).records.map((r) => r.event.auditID),
    ).toEqual(['new-1']);
  });

  it('refuses bad requests with a stable code, and sets bad records aside', async () => {
    const c = await start({ webhook: { maxBodyBytes: 4096 } });
    const bad = await post(`${c.url}/webhook`, '{"kind":"EventList","items":[');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'KT_EVENT_INVALID' });
    const mixed = await post(
      `${c.url}/webhook`,
      JSON.stringify({ kind: 'EventList', items: [makeEvent({ auditID: 'ok' }), { verb: 42 }] }),
    );
    expect(mixed.status).toBe(200);
    expect(mixed.body).toMatchObject({ stored: 1, quarantined: 1 });
    // Nesting that would exhaust the stack of every stage that walks an event is set aside, not a 500.
    const deep = await post(
      `${c.url}/webhook`,
      `{"kind":"EventList","items":[{"verb":"get","requestObject":${'['.repeat(1500)}${']'.repeat(1500)}}]}`,
    );
    expect(deep.status).toBe(200);
    expect(deep.body).toMatchObject({ received: 0, stored: 0, quarantined: 1 });
    const big = await post(`${c.url}/webhook`, eventList(Array.from({ length: 20 }, () => makeEvent())));
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'KT_BODY_TOO_LARGE' });
    const bomb = gzipSync(Buffer.alloc(1_000_000, 0x20));
    const b = await post(`${c.url}/webhook`, bomb, { 'content-encoding': 'gzip' });
    expect(b.status).toBe(413);
    const type = await post(`${c.url}/webhook`, '{}', { 'content-type': 'application/xml' });
    expect(type.status).toBe(415);
    expect(type.body.error).toMatchObject({ code: 'KT_WEBHOOK_REQUEST' });
    const name = await post(`${c.url}/webhook/${encodeURIComponent('bad name!')}`, '{}');
    expect(name.status).toBe(400);
    const q = (await quarantineLines(c.dir, 3)).split('\n');
    expect(q.length).toBe(3);
    expect(JSON.parse(q[1]!)).toMatchObject({ reason: expect.stringMatching(/verb must be a string/) });
    expect(JSON.parse(q[2]!)).toMatchObject({
      reason: 'JSON nested deeper than 512 levels (at items[0])',
    });
  });

  it('stores an event over pipeline.maxEventBytes without its bodies, annotated and counted', async () => {
    const c = await start({ pipeline: { maxEventBytes: 1024 * 1024 } });
    const big = makeEvent({
      auditID: 'big-1',
      verb: 'update',
      userAgent: 'u'.repeat(5000),
      requestObject: { kind: 'ConfigMap', data: { blob: 'x'.repeat(5 * 1024 * 1024) } },
      responseObject: { kind: 'ConfigMap', data: { blob: 'x'.repeat(1024) } },
    });
    const small = makeEvent({
      auditID: 'small-1',
      verb: 'update',
      requestObject: { kind: 'ConfigMap', metadata: { name: 'app-config' } },
    });
    const r = await post(`${c.url}/webhook`, eventList([big, small]));
    expect(r.body).toMatchObject({ stored: 2 });
    const [stored] = await c.store.getByAuditId('big-1');
    expect(stored!.event.requestObject).toBeUndefined();
    expect(stored!.event.responseObject).toBeUndefined();
    expect(stored!.event.annotations?.['audit.k8s.io/truncated']).toBe('true');
    expect(stored!.event.userAgent).toBe(`${'u'.repeat(1024)}...TRUNCATED`);
    expect(stored!.event.objectRef).toEqual(big.objectRef);
    // A query over a body path still answers, over a range that holds the event.
    const page = await c.store.query({ filter: parseQuery('requestObject.metadata.name:app-*'), limit: 10 });
    expect(page.records.map((x) => x.event.auditID)).toEqual(['small-1']);
    expect((await c.store.getByAuditId('small-1'))[0]!.event.requestObject).toEqual(small.requestObject);
    const text = await (await fetch(`${c.url}/metrics`)).text();
    expect(text).toContain('kubetrail_events_truncated_total 1');
  });

  it('stores the good items of a batch and sets aside the one nested too deep, with its position', async () => {
    const c = await start();
    const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const items = [
      JSON.stringify(makeEvent({ auditID: 'good-1' })),
      JSON.stringify({ ...makeEvent({ auditID: 'deep' }), requestObject: '@' }).replace('"@"', nested(600)),
      JSON.stringify(makeEvent({ auditID: 'good-2' })),
    ];
    const r = await post(`${c.url}/webhook`, `{"kind":"EventList","items":[${items.join(',')}]}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ received: 2, stored: 2, quarantined: 1 });
    expect(await c.store.getByAuditId('good-2')).toHaveLength(1);
    expect(await c.store.count(parseQuery('*'))).toBe(2);
    const q = JSON.parse(await quarantineLines(c.dir, 1)) as { reason: string };
    expect(q.reason).toBe('JSON nested deeper than 512 levels (at items[1])');
    // JSON lines (with a token): the deep line is set aside with its line number, the others stored.
    const token = 'tok-0123456789abcdef';
    const t = await start({ webhook: { tokens: [{ token, cluster: 'east' }] } });
    const lines = await post(`${t.url}/webhook`, items.join('\n'), {
      authorization: `Bearer ${token}`,
      'content-type': 'application/x-ndjson',
    });
    expect(lines.body).toMatchObject({ stored: 2, quarantined: 1 });
    expect(JSON.parse(await quarantineLines(t.dir, 1))).toMatchObject({ line: 2 });
  });

  it('with tokens configured: needs a valid token, tags its cluster, refuses another cluster', async () => {
    const token = 'tok-0123456789abcdef';
    const c = await start({ webhook: { tokens: [{ token, cluster: 'east' }] } });
    const none = await post(`${c.url}/webhook`, eventList([makeEvent()]));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await post(`${c.url}/webhook`, eventList([makeEvent()]), {
      authorization: 'Bearer nope-nope-nope-nope',
    });
    expect(wrong.status).toBe(401);
    const ok = await post(`${c.url}/webhook`, eventList([makeEvent({ auditID: 'e1' })]), {
      authorization: `Bearer ${token}`,
    });
    expect(ok.status).toBe(200);
    expect((await c.store.getByAuditId('e1'))[0]?.cluster).toBe('east');
    const other = await post(`${c.url}/webhook/west`, eventList([makeEvent()]), {
      authorization: `Bearer ${token}`,
    });
    expect(other.status).toBe(403);
  });

  it('answers 429 with Retry-After when the pipeline is full, and takes the batch once there is room', async () => {
    const { transform: slow, release } = gatedTransform();
    const c = await start({ pipeline: { queueEvents: 100, lingerMs: 0 } }, { transforms: [slow] });
    const first = post(`${c.url}/webhook`, eventList(Array.from({ length: 80 }, () => makeEvent())));
    await new Promise((r) => setTimeout(r, 50));
    const refused = await post(`${c.url}/webhook`, eventList(Array.from({ length: 50 }, () => makeEvent())));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error).toMatchObject({ code: 'KT_OVERLOADED' });
    const ready = await fetch(`${c.url}/readyz`);
    expect(ready.status).toBe(200);
    release();
    expect((await first).status).toBe(200);
    const retried = await post(`${c.url}/webhook`, eventList(Array.from({ length: 50 }, () => makeEvent())));
    expect(retried.status).toBe(200);
  });
});

/** A raw HTTP POST (fetch cannot leave out the content type or set Host as a browser would). */
function rawPost(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('collector: who may write to the trail', () => {
  it('without credentials takes only application/json from a loopback client that is not a browser', async () => {
    const c = await start();
    const url = `${c.url}/webhook/x`;
    const port = new URL(c.url).port;
    const body = (id: string) => eventList([makeEvent({ auditID: id, verb: 'delete' })]);
    // What a page can send with mode: 'no-cors': text/plain, a form type, or no content type.
    const plain = await rawPost(url, body('plain'), { 'content-type': 'text/plain;charset=UTF-8' });
    expect(plain.status).toBe(415);
    expect(plain.body.error).toMatchObject({ code: 'KT_WEBHOOK_REQUEST' });
    const form = await rawPost(url, body('form'), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const none = await rawPost(url, body('none'), {});
    expect(none.status).toBe(415);
    // JSON lines need credentials too.
    const lines = await rawPost(url, JSON.stringify(makeEvent({ auditID: 'nd' })), {
      'content-type': 'application/x-ndjson',
    });
    expect(lines.status).toBe(415);
    // Sent by a web page: an Origin header, or Sec-Fetch-Site other than none.
    const json = { 'content-type': 'application/json' };
    const origin = await rawPost(url, body('origin'), { ...json, origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    expect(origin.body.error).toMatchObject({
      code: 'KT_FORBIDDEN',
      message: expect.stringMatching(/Origin/),
    });
    const sameOrigin = await rawPost(url, body('same'), { ...json, origin: `http://127.0.0.1:${port}` });
    expect(sameOrigin.status).toBe(403);
    const site = await rawPost(url, body('site'), { ...json, 'sec-fetch-site': 'cross-site' });
    expect(site.status).toBe(403);
    // DNS rebinding: the page's own name in Host.
    const rebound = await rawPost(url, body('host'), { ...json, host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body.error).toMatchObject({ message: expect.stringMatching(/Host header/) });
    expect(await c.store.count(parseQuery('*'))).toBe(0);
    // A program on this machine: stored.
    for (const [id, host] of [
      ['ok1', `127.0.0.1:${port}`],
      ['ok2', `localhost:${port}`],
      ['ok3', 'localhost'],
    ] as const) {
      const ok = await rawPost(url, body(id), { ...json, host, 'sec-fetch-site': 'none' });
      expect(ok.status, host).toBe(200);
    }
    const charset = await rawPost(url, body('ok4'), { 'content-type': 'application/json; charset=utf-8' });
    expect(charset.status).toBe(200);
    expect(await c.store.count(parseQuery('*'))).toBe(4);
    const text = await (await fetch(`${c.url}/metrics`)).text();
    expect(text).toContain('kubetrail_webhook_rejected_total{reason="forbidden"} 4');
  });

  it('with a bearer token also takes JSON lines, text/plain and no content type', async () => {
    const token = 'tok-0123456789abcdef';
    const c = await start({ webhook: { tokens: [{ token, cluster: 'east' }] } });
    const auth = { authorization: `Bearer ${token}` };
    const body = (id: string) => eventList([makeEvent({ auditID: id })]);
    expect(
      (await rawPost(`${c.url}/webhook`, body('t1'), { ...auth, 'content-type': 'text/plain' })).status,
    ).toBe(200);
    expect((await rawPost(`${c.url}/webhook`, body('t2'), auth)).status).toBe(200);
    const lines = [makeEvent({ auditID: 't3' }), makeEvent({ auditID: 't4' })].map((e) => JSON.stringify(e));
    expect(
      (
        await rawPost(`${c.url}/webhook`, lines.join('\n'), {
          ...auth,
          'content-type': 'application/x-ndjson',
        })
      ).status,
    ).toBe(200);
    // With a token, a request from a page is no threat (a page cannot attach the token by itself).
    const origin = await rawPost(`${c.url}/webhook`, body('t5'), {
      ...auth,
      'content-type': 'application/json',
      origin: 'https://tool.example',
      host: 'kubetrail.example:7480',
    });
    expect(origin.status).toBe(200);
    // Forms are never audit events.
    const form = await rawPost(`${c.url}/webhook`, body('t6'), {
      ...auth,
      'content-type': 'multipart/form-data; boundary=x',
    });
    expect(form.status).toBe(415);
    expect(await c.store.count(parseQuery('*'))).toBe(5);
    // No token: the loopback exception does not apply once credentials are configured.
    expect(
      (await rawPost(`${c.url}/webhook`, body('t7'), { 'content-type': 'application/json' })).status,
    ).toBe(401);
  });
});

describe('collector: transforms', () => {
  it('redacts secrets before storing, streaming or setting aside, and applies an audit policy', async () => {
    const dir = tempDir();
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'rules:',
        '  - level: None',
        '    resources: [{ group: "coordination.k8s.io", resources: ["leases"] }]',
        '  - level: RequestResponse',
      ].join('\n'),
    );
    const c = await start({ policy });
    const secretValue = 'c3VwZXItc2VjcmV0LXBhc3N3b3JkLTEyMzQ1';
    const secret = makeEvent({
      auditID: 's1',
      verb: 'create',
      level: 'RequestResponse',
      objectRef: { resource: 'secrets', namespace: 'prod', name: 'db', apiVersion: 'v1' },
      requestObject: {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { name: 'db' },
        data: { password: secretValue },
      },
    });
    const lease = makeEvent({
      auditID: 'l1',
      verb: 'update',
      objectRef: {
        resource: 'leases',
        namespace: 'kube-node-lease',
        name: 'n1',
        apiGroup: 'coordination.k8s.io',
        apiVersion: 'v1',
      },
    });
    const r = await post(`${c.url}/webhook`, eventList([secret, lease]));
    expect(r.body).toMatchObject({ received: 2, stored: 1, dropped: 1 });
    const stored = await c.store.getByAuditId('s1');
    expect(JSON.stringify(stored)).not.toContain(secretValue);
    expect(stored[0]?.event.annotations?.['kubetrail.io/redacted']).toContain('requestObject.data.password');
    expect(await c.store.getByAuditId('l1')).toEqual([]);
    // A line that is not JSON but carries a credential is set aside without it.
    await post(`${c.url}/webhook`, `{"token": "${secretValue}"`);
    const q = await quarantineLines(c.dir, 1);
    expect(q).not.toContain(secretValue);
  });
});

describe('collector: detection', () => {
  it('raises and stores an alert in real time for an event a built-in rule catches', async () => {
    const c = await start();
    const exec = execEvent({ auditID: 'x1' });
    expect((await post(`${c.url}/webhook`, eventList([exec]))).status).toBe(200);
    const alerts = await (await c.store.alertLog())!.list({});
    expect(alerts.some((a) => a.auditIDs.includes('x1'))).toBe(true);
  });
});

describe('collector: file source, live stream, operations', () => {
  it('follows a file and streams matching events to live clients', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.log');
    appendFileSync(file, '');
    const c = await start({ files: [{ path: file, cluster: 'filecluster', startAt: 'beginning' }] });
    const { token } = c.auth.tokens.create({ role: 'analyst', name: 'stream' });
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const res = await fetch(`${c.url}/api/v1/stream?q=${encodeURIComponent('verb:delete')}`, {
      signal: ac.signal,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const got: EventRecord[] = [];
    void readSse(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) => {
      if (event === 'audit') got.push(JSON.parse(data) as EventRecord);
    }).catch(() => undefined);
    appendFileSync(
      file,
      [makeEvent({ auditID: 'f1', verb: 'get' }), makeEvent({ auditID: 'f2', verb: 'delete' })]
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(''),
    );
    await post(`${c.url}/webhook`, eventList([makeEvent({ auditID: 'w1', verb: 'delete' })]));
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got.map((r) => r.event.auditID).sort()).toEqual(['f2', 'w1']);
    expect(got.find((r) => r.event.auditID === 'f2')?.cluster).toBe('filecluster');
  });

  it('streams each stored event once: a batch posted again reaches no stream', async () => {
    const c = await start();
    const { token } = c.auth.tokens.create({ role: 'analyst', name: 'stream' });
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const res = await fetch(`${c.url}/api/v1/stream`, {
      signal: ac.signal,
      headers: { authorization: `Bearer ${token}` },
    });
    const got: string[] = [];
    void readSse(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) => {
      if (event === 'audit') got.push((JSON.parse(data) as EventRecord).event.auditID);
    }).catch(() => undefined);
    const [r1, r2, r3] = ['r1', 'r2', 'r3'].map((auditID) => makeEvent({ auditID }));
    const batch = eventList([r1!, r2!]);
    expect((await post(`${c.url}/webhook`, batch)).body).toMatchObject({ stored: 2 });
    expect((await post(`${c.url}/webhook`, batch)).body).toMatchObject({ stored: 0, duplicates: 2 });
    // Half old, half new: only the new one is streamed.
    const mixed = eventList([r2!, r3!]);
    expect((await post(`${c.url}/webhook`, mixed)).body).toMatchObject({ stored: 1, duplicates: 1 });
    expect((await post(`${c.url}/webhook`, batch)).status).toBe(200);
    await post(`${c.url}/webhook`, eventList([makeEvent({ auditID: 'last' })]));
    for (let i = 0; i < 300 && !got.includes('last'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['r1', 'r2', 'r3', 'last']);
  });

  it('rejects a bad stream filter with its position', async () => {
    const c = await start();
    const { token } = c.auth.tokens.create({ role: 'analyst', name: 'stream' });
    const res = await fetch(`${c.url}/api/v1/stream?q=${encodeURIComponent('verb:(create')}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; where: { column: number } } };
    expect(body.error.code).toBe('KT_QUERY_SYNTAX');
    expect(body.error.where.column).toBeGreaterThan(0);
  });

  it('serves health, readiness and metrics', async () => {
    const c = await start();
    await post(`${c.url}/webhook/m`, eventList([makeEvent(), makeEvent()]));
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${c.url}/metrics`)).text();
    expect(text).toContain('kubetrail_events_received_total{source="webhook:m"} 2');
    expect(text).toContain('kubetrail_events_stored_total{source="webhook:m"} 2');
    expect(text).toContain('kubetrail_store_write_seconds_bucket');
    expect(text).toContain('kubetrail_queue_events 0');
  });
});

describe('collector: HTTPS with client certificates', () => {
  it('accepts a client certificate signed by the configured CA and tags its common name', async () => {
    const dir = tempDir();
    const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    ]);
    const leaf = (name: string, cn: string, ext: string[]) => {
      sh([
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${cn}`,
      ]);
      sh([
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        ...ext,
      ]);
    };
    appendFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    leaf('server', '127.0.0.1', ['-extfile', 'san.ext']);
    leaf('client', 'cluster-a', []);
    const c = await start({
      tls: {
        cert: path.join(dir, 'server.crt'),
        key: path.join(dir, 'server.key'),
        clientCA: path.join(dir, 'ca.crt'),
      },
      webhook: { clusterFromCertificate: true },
    });
    expect(c.url).toMatch(/^https:/);
    let hsts: string | string[] | undefined;
    const send = (withCert: boolean) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${c.url}/webhook`,
          {
            method: 'POST',
            ca: readFileSync(path.join(dir, 'ca.crt')),
            headers: { 'content-type': 'application/json' },
            ...(withCert
              ? {
                  cert: readFileSync(path.join(dir, 'client.crt')),
                  key: readFileSync(path.join(dir, 'client.key')),
                }
              : {}),
          },
          (res) => {
            hsts = res.headers['strict-transport-security'];
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(eventList([makeEvent({ auditID: withCert ? 'tls1' : 'tls0' })]));
      });
    expect(await send(false)).toBe(401);
    expect(hsts).toBe(STRICT_TRANSPORT_SECURITY);
    expect(await send(true)).toBe(200);
    expect(hsts).toBe(STRICT_TRANSPORT_SECURITY);
    expect((await c.store.getByAuditId('tls1'))[0]?.cluster).toBe('cluster-a');
  });
});

describe('collector: clear text beyond loopback', () => {
  it('warns when listening beyond loopback without TLS, and only then', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'kubetrail.example.com'])
      expect(plainTextWarning(host, false)).toMatch(/without TLS.*--tls-cert/);
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost'])
      expect(plainTextWarning(host, false)).toBeUndefined();
    expect(plainTextWarning('0.0.0.0', true)).toBeUndefined();
  });
});
