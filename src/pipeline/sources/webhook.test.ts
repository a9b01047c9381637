// The webhook with its default acknowledgement (webhook.acknowledge: log): answered once the batch is in
// the segment log, stored by the feeder right after, each event once; the log's bound gives 429; what a
// previous run left in the log is stored at start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { startCollector, type Collector } from '../../server/collector.js';
import { makeEvent } from '../../test-support/events.js';
import { SegmentLog } from '../segment-log.js';
import type { Transform } from '../../core/transform.js';
import { decodeWebhookEntry, encodeWebhookEntry } from './webhook.js';
import { gatedTransform } from '../../test-support/gated-transform.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(
  overrides: Record<string, unknown> = {},
  transforms: Transform[] = [],
  dir = mkdtempSync(path.join(tmpdir(), 'kt-webhook-log-')),
): Promise<Collector & { dir: string }> {
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false, ...overrides });
  const c = await startCollector({ config, logger: pino({ level: 'silent' }), transforms });
  cleanups.push(() => c.close());
  return Object.assign(c, { dir });
}

const list = (events: object[]) =>
  JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events });

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function metric(c: Collector, name: string): Promise<number> {
  const text = await (await fetch(`${c.url}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
}

describe('webhook acknowledged by the segment log', () => {
  it('answers once the batch is in the log, then stores each event once, redacted', async () => {
    const c = await start();
    const events = [
      makeEvent({ auditID: 'a1' }),
      makeEvent({
        auditID: 'a2',
        requestObject: { kind: 'Secret', apiVersion: 'v1', data: { password: 'aHVudGVyMmh1bnRlcjI=' } },
      }),
    ];
    const body = `{"kind":"EventList","items":[${events.map((e) => JSON.stringify(e)).join(',')},{"nope":1}]}`;
    const first = await post(`${c.url}/webhook/prod?timeout=30s`, body);
    expect(first).toMatchObject({ status: 200, body: { received: 2, quarantined: 1 } });
    await c.settled();
    expect((await c.store.getByAuditId('a1')).map((r) => r.cluster)).toEqual(['prod']);
    const [secret] = await c.store.getByAuditId('a2');
    expect(JSON.stringify(secret)).not.toContain('aHVudGVyMmh1bnRlcjI=');
    // Resent (the API server retries): stored once.
    expect((await post(`${c.url}/webhook/prod`, body)).status).toBe(200);
    await c.settled();
    expect(await c.store.getByAuditId('a1')).toHaveLength(1);
    expect(await metric(c, 'kubetrail_events_stored_total')).toBe(2);
    expect(await metric(c, 'kubetrail_events_duplicates_total')).toBe(2);
    expect(await metric(c, 'kubetrail_events_quarantined_total')).toBe(2);
    expect(await metric(c, 'kubetrail_segment_log_pending_bytes')).toBe(0);
    expect(await metric(c, 'kubetrail_segment_log_oldest_pending_seconds')).toBe(0);
  });

  it('answers 429 when the log is full, is not ready then, and takes the batch once there is room', async () => {
    const { transform: slow, release } = gatedTransform();
    const c = await start({ pipeline: { segmentMaxBytes: 1024 * 1024 } }, [slow]);
    cleanups.push(() => release());
    const big = (i: number) =>
      list(
        Array.from({ length: 40 }, (_, j) =>
          makeEvent({ auditID: `b${i}-${j}`, userAgent: 'x'.repeat(8000) }),
        ),
      );
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    let accepted = 0;
    for (let i = 0; i < 20 && !refused; i++) {
      const r = await post(`${c.url}/webhook`, big(i));
      if (r.status === 429) refused = r;
      else accepted++;
    }
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.body.error).toMatchObject({ code: 'KT_OVERLOADED' });
    expect(await metric(c, 'kubetrail_segment_log_pending_bytes')).toBeGreaterThan(900 * 1024);
    expect(await metric(c, 'kubetrail_segment_log_oldest_pending_seconds')).toBeGreaterThanOrEqual(0);
    const ready = await fetch(`${c.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reason: 'the webhook segment log is full' });
    release();
    await c.settled();
    expect((await post(`${c.url}/webhook`, big(99))).status).toBe(200);
    await c.settled();
    expect(await metric(c, 'kubetrail_events_stored_total')).toBe((accepted + 1) * 40);
  });

  it('stores at start what a previous run acknowledged and did not store', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-webhook-log-'));
    const log = await SegmentLog.open({ dir: path.join(dir, 'segments'), maxBytes: 1 << 20 });
    const body = Buffer.from(list([makeEvent({ auditID: 'left-1' }), makeEvent({ auditID: 'left-2' })]));
    const entry = { cluster: 'east', source: 'webhook:east', body };
    expect(decodeWebhookEntry(encodeWebhookEntry(entry))).toEqual(entry);
    await log.append(encodeWebhookEntry(entry));
    await log.close();
    const c = await start({}, [], dir);
    await c.settled();
    expect((await c.store.getByAuditId('left-2')).map((r) => r.cluster)).toEqual(['east']);
    expect(await metric(c, 'kubetrail_segment_log_pending_bytes')).toBe(0);
  });
});
