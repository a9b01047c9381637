// Each destination against a loopback server written to its published API, with the faults that API has:
// partial bulk failures, 429 with Retry-After, 5xx, dropped connections, slow answers, lost HEC acks,
// OTLP partial success. What must hold: every deliverable event arrives, none is indexed twice where the
// API allows an ID, what can never be delivered is in the dead-letter file with its error.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/event.js';
import { contentHash } from '../../store/columns.js';
import { makeEvent, rec } from '../../test-support/events.js';
import { FakeDestination } from '../../test-support/forward-fakes.js';
import { ForwarderSet, type ForwardConfig } from '../index.js';
import { forwardSchema } from '../options.js';

/** A received document, read loosely. */
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kt-fwd-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function openSet(entry: Partial<ForwardConfig> & { spec: string }, env: NodeJS.ProcessEnv = {}) {
  const dataDir = tmp();
  const set = await ForwarderSet.open(
    [forwardSchema.parse({ retryInitialMs: 5, retryMaxMs: 40, ...entry })],
    {
      dataDir,
      log: () => undefined,
      env,
    },
  );
  cleanup.push(() => set.close(100));
  return { set, dataDir, stats: () => set.stats()[0]! };
}

function events(n: number, cluster = 'prod'): EventRecord[] {
  return Array.from({ length: n }, (_, i) =>
    rec(makeEvent({ auditID: `ev-${i}`, responseStatus: { code: i % 7 === 3 ? 403 : 200 } }), cluster),
  );
}

function deadLetters(dataDir: string, name: string): { error: string; event: { auditID: string } }[] {
  const text = readFileSync(path.join(dataDir, 'forward', name, 'dead-letter.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { error: string; event: { auditID: string } });
}

describe('elasticsearch / opensearch _bulk', () => {
  it('retries 429 and 5xx items only, dead-letters the others, indexes each event once under its content hash', async () => {
    const es = await FakeDestination.start('elasticsearch');
    cleanup.push(() => es.stop());
    es.faults.push(
      { kind: 'status', status: 429, retryAfter: 0 },
      { kind: 'drop' },
      { kind: 'status', status: 503 },
    );
    es.itemStatus = (id, attempt) =>
      id === 'ev-3' && attempt === 1
        ? 429
        : id === 'ev-5' && attempt <= 2
          ? 503
          : id === 'ev-7'
            ? 400
            : undefined;
    const { set, dataDir, stats } = await openSet({ spec: `elasticsearch:${es.url}`, name: 'es' });
    const batch = events(30);
    await set.write(batch);
    await until(() => stats().queueRecords === 0);
    expect([...es.ids()].sort()).toEqual(
      batch
        .map((r) => r.event.auditID)
        .filter((id) => id !== 'ev-7')
        .sort(),
    );
    expect(es.received).toHaveLength(29);
    expect(stats()).toMatchObject({ sent: 29, deadLettered: 1 });
    expect(stats().retried).toBeGreaterThanOrEqual(30 + 2);
    const dead = deadLetters(dataDir, 'es');
    expect(dead.map((d) => d.event.auditID)).toEqual(['ev-7']);
    expect(dead[0]!.error).toMatch(/400 mapper_parsing_exception/);
    // Document IDs are the store's content hash; the document carries the integration's ECS fields.
    const first = batch[0]!;
    const doc = es.docs.get(contentHash(first.cluster, JSON.stringify(first.event))) as Doc;
    expect(doc).toMatchObject({
      '@timestamp': first.event.stageTimestamp,
      data_stream: { type: 'logs', dataset: 'kubernetes.audit_logs', namespace: 'default' },
      event: { kind: 'event', action: 'get', outcome: 'success', dataset: 'kubernetes.audit_logs' },
      user: { name: 'alice@example.com' },
      user_agent: { original: first.event.userAgent },
      source: { ip: '10.0.0.5' },
      orchestrator: { cluster: { name: 'prod' } },
    });
    expect(doc.kubernetes.audit.annotations['authorization_k8s_io/decision']).toBe('allow');
    expect(doc.kubernetes.audit.responseStatus).toEqual({ code: 200 });
    // Sent again (a re-fed batch after a crash): 409 for every known ID, nothing indexed twice (ev-7
    // is refused again).
    await set.write(batch.slice(0, 10));
    await until(() => stats().sent === 29 + 9 && stats().deadLettered === 2);
    expect(es.received).toHaveLength(29);
  });

  it('opensearch: same API, a data stream of its own', async () => {
    const os = await FakeDestination.start('elasticsearch');
    cleanup.push(() => os.stop());
    const { set, stats } = await openSet({ spec: `opensearch:${os.url}/`, index: 'logs-k8s.audit-prod' });
    await set.write(events(5));
    await until(() => stats().sent === 5);
    expect((os.received[0]!.item as Doc).data_stream).toEqual({
      type: 'logs',
      dataset: 'k8s.audit',
      namespace: 'prod',
    });
  });
});

describe('splunk HEC', () => {
  it('sends with the token and sourcetype; with acks, a batch whose ack never comes is sent again', async () => {
    const hec = await FakeDestination.start('splunk', { token: 'hec-token-1', ack: true });
    cleanup.push(() => hec.stop());
    hec.faults.push({ kind: 'lose-ack' }, { kind: 'status', status: 503 });
    const { set, stats } = await openSet(
      { spec: `splunk:${hec.url}`, token: { env: 'HEC' }, ack: true, ackTimeoutMs: 300, batchEvents: 10 },
      { HEC: 'hec-token-1' },
    );
    const batch = events(25);
    await set.write(batch);
    await until(() => stats().queueRecords === 0);
    expect(hec.ids()).toEqual(new Set(batch.map((r) => r.event.auditID)));
    expect(stats().retried).toBeGreaterThanOrEqual(20);
    expect(hec.lastHeaders['x-splunk-request-channel']).toMatch(/^[0-9a-f-]{36}$/);
    expect(hec.received[0]!.item).toMatchObject({ sourcetype: 'kube:apiserver-audit', source: 'kubetrail' });
  });

  it('without indexer acknowledgement the 200 delivers', async () => {
    const hec = await FakeDestination.start('splunk', { token: 't0k' });
    cleanup.push(() => hec.stop());
    const { set, stats } = await openSet(
      { spec: `splunk:${hec.url}/services/collector`, token: { env: 'T' }, sourcetype: 'k8s:audit' },
      { T: 't0k' },
    );
    await set.write(events(3));
    await until(() => stats().sent === 3);
    expect(hec.received[2]!.item).toMatchObject({ sourcetype: 'k8s:audit', fields: { cluster: 'prod' } });
  });
});

describe('loki push', () => {
  it('uses the fixed label set; 429 and a slow answer are retried', async () => {
    const loki = await FakeDestination.start('loki');
    cleanup.push(() => loki.stop());
    loki.faults.push({ kind: 'status', status: 429, retryAfter: 0 }, { kind: 'slow', ms: 600 });
    const { set, stats } = await openSet({ spec: `loki:${loki.url}`, timeoutMs: 200, tenant: 'team-a' });
    const batch = events(20);
    await set.write(batch);
    await until(() => stats().queueRecords === 0);
    expect(loki.ids()).toEqual(new Set(batch.map((r) => r.event.auditID)));
    const streams = new Set(loki.received.map((r) => JSON.stringify((r.item as Doc).stream)));
    expect([...streams].map((s) => JSON.parse(s))).toEqual(
      expect.arrayContaining([
        {
          job: 'kubetrail',
          cluster: 'prod',
          verb: 'get',
          resource: 'pods',
          namespace: 'default',
          code_class: '2xx',
        },
        {
          job: 'kubetrail',
          cluster: 'prod',
          verb: 'get',
          resource: 'pods',
          namespace: 'default',
          code_class: '4xx',
        },
      ]),
    );
    expect(streams.size).toBe(2);
    expect(loki.lastHeaders['x-scope-orgid']).toBe('team-a');
    const t = batch[0]!.event.stageTimestamp;
    const ns = (loki.received.find((r) => r.auditID === 'ev-0')!.item as Doc).ts as string;
    expect(new Date(Number(BigInt(ns) / 1000000n)).toISOString()).toBe(new Date(t).toISOString());
  });
});

describe('otlp/http logs', () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    it(`${encoding}: one log record per event, body = the event, cluster attribute; partial success dead-letters`, async () => {
      const otlp = await FakeDestination.start('otlp');
      cleanup.push(() => otlp.stop());
      otlp.faults.push({ kind: 'status', status: 502 }, { kind: 'drop' });
      const { set, dataDir, stats } = await openSet({ spec: `otlp:${otlp.url}`, encoding, name: 'o' });
      const batch = events(12);
      await set.write(batch);
      await until(() => stats().sent === 12);
      expect(otlp.ids()).toEqual(new Set(batch.map((r) => r.event.auditID)));
      const item = otlp.received.find((r) => r.auditID === 'ev-3')!;
      expect((item.item as Doc).event).toEqual(batch[3]!.event);
      expect(item.cluster).toBe('prod');
      expect(otlp.lastHeaders['content-type']).toBe(
        encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      );
      otlp.faults.push({ kind: 'partial', rejected: 2 });
      await set.write(events(4));
      await until(() => stats().deadLettered === 4);
      expect(deadLetters(dataDir, 'o')[0]!.error).toMatch(/rejected 2 of 4 records.*injected rejection/);
    });
  }
});

describe('generic http and file', () => {
  it('http: NDJSON batches; a 400 dead-letters the batch, a 500 is retried', async () => {
    const h = await FakeDestination.start('http');
    cleanup.push(() => h.stop());
    h.faults.push({ kind: 'status', status: 500 }, { kind: 'status', status: 400 });
    const { set, dataDir, stats } = await openSet({
      spec: `http:${h.url}/ingest`,
      name: 'h',
      batchEvents: 5,
    });
    await set.write(events(10));
    await until(() => stats().queueRecords === 0);
    expect(stats()).toMatchObject({ sent: 5, deadLettered: 5 });
    expect(deadLetters(dataDir, 'h')).toHaveLength(5);
    expect(h.received).toHaveLength(5);
  });

  it('file: NDJSON rotated by size, keeping keepFiles', async () => {
    const dir = tmp();
    const out = path.join(dir, 'audit.ndjson');
    const { set, stats } = await openSet({
      spec: `file:${out}`,
      maxFileBytes: 4096,
      keepFiles: 2,
      batchEvents: 4,
    });
    const batch = events(60);
    for (let i = 0; i < 60; i += 4) await set.write(batch.slice(i, i + 4));
    await until(() => stats().sent === 60);
    expect(readdirSync(dir).sort()).toEqual(['audit.ndjson', 'audit.ndjson.1', 'audit.ndjson.2']);
    const lines = ['audit.ndjson.2', 'audit.ndjson.1', 'audit.ndjson'].flatMap((f) =>
      readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean),
    );
    const ids = lines.map((l) => (JSON.parse(l) as { event: { auditID: string } }).event.auditID);
    // The newest events, in order, with nothing missing between the kept files.
    expect(ids).toEqual(batch.slice(60 - ids.length).map((r) => r.event.auditID));
    for (const f of readdirSync(dir))
      expect(readFileSync(path.join(dir, f)).length).toBeLessThanOrEqual(4096);
  });
});

describe('filter and fields', () => {
  it('forwards only matching events, with the chosen fields', async () => {
    const h = await FakeDestination.start('http');
    cleanup.push(() => h.stop());
    const { set, stats } = await openSet({
      spec: `http:${h.url}/ingest`,
      filter: 'code >= 400',
      fields: { exclude: ['requestObject', 'user.groups', 'annotations.authorization.k8s.io/reason'] },
    });
    const batch = events(21).map((r, i) =>
      i === 3 ? { ...r, event: { ...r.event, requestObject: { secret: 'x' } } } : r,
    );
    await set.write(batch);
    await until(() => stats().queueRecords === 0);
    expect([...h.ids()].sort()).toEqual(['ev-10', 'ev-17', 'ev-3']);
    const ev = (h.received.find((r) => r.auditID === 'ev-3')!.item as Doc).event;
    expect(ev.requestObject).toBeUndefined();
    expect(ev.user).toEqual({ username: 'alice@example.com' });
    expect(ev.annotations).toEqual({ 'authorization.k8s.io/decision': 'allow' });
  });
});
