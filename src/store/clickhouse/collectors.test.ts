// Topology at scale: two collectors (one per cluster) receive audit webhook batches, some resent and
// some concurrently, and write to one real ClickHouse database; an API server with no sources
// (`serve --role api`) and a third store handle read what they stored. With detection on, an alert one
// collector raises reaches ClickHouse through its local outbox, and the API server lists and
// acknowledges it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent } from '../../core/event.js';
import { parseQuery } from '../../query/index.js';
import { startCollector, type Collector } from '../../server/collector.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { execEvent, makeEvent } from '../../test-support/events.js';
import { openStore } from '../open.js';
import { ClickHouseAlertLog } from './alerts.js';
import type { ClickHouseStore } from './store.js';

let ch: TestClickHouse;
const dirs: string[] = [];
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(async () => {
  await ch?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function collector(
  cluster: string,
  db: string,
  role: 'all' | 'api' = 'all',
  detect = false,
): Promise<Collector & { dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-ch-collector-'));
  dirs.push(dir);
  const config = configSchema.parse({
    dataDir: dir,
    listen: '127.0.0.1:0',
    autodetect: false,
    cluster,
    db,
    role,
    detect: { enabled: detect },
    // Collectors without a volume of their own: answered once ClickHouse has the batch.
    webhook: { acknowledge: 'store' },
  });
  return Object.assign(await startCollector({ config, logger: pino({ level: 'silent' }) }), { dir });
}

async function send(c: Collector, events: AuditEvent[]): Promise<Record<string, unknown>> {
  const res = await fetch(`${c.url}/webhook?timeout=30s`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('two collectors writing to one ClickHouse', () => {
  it('store every event once per cluster, whatever is resent', async () => {
    const db = ch.location('kt_topology');
    const [east, west] = await Promise.all([collector('east', db), collector('west', db)]);
    try {
      const batches = Array.from({ length: 6 }, (_, b) =>
        Array.from({ length: 25 }, (_, i) =>
          makeEvent({ auditID: `b${b}-e${i}`, verb: i % 2 ? 'get' : 'delete' }),
        ),
      );
      // Each cluster receives every batch; batches 0-2 are resent, two of them concurrently with the
      // first delivery (the API server retries and sends batches in parallel).
      await Promise.all(batches.map((b) => send(east, b)));
      await Promise.all([send(east, batches[0]!), send(east, batches[1]!), send(east, batches[1]!)]);
      await Promise.all(batches.map((b) => send(west, b)));
      const resent = await send(west, batches[2]!);
      expect(resent).toMatchObject({ stored: 0, duplicates: 25 });
      // Same auditID and stage, different content: a distinct event, kept.
      await send(west, [{ ...batches[0]![0]!, userAgent: 'another-client' }]);

      // An API server with no sources (`serve --role api`) answers from what both collectors wrote.
      const api = await collector('none', db, 'api');
      try {
        const { token } = api.auth.tokens.create({ role: 'analyst', name: 'reader' });
        const res = await fetch(
          `${api.url}/api/v1/events?q=${encodeURIComponent('auditid:b0-e0')}&limit=1000`,
          {
            headers: { authorization: `Bearer ${token}` },
          },
        );
        expect(res.status).toBe(200);
        const page = (await res.json()) as { events: AuditEvent[]; clusters: string[] };
        expect(page.clusters.sort()).toEqual(['east', 'west', 'west']);
        const top = await fetch(`${api.url}/api/v1/top?field=cluster&since=3650d`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(((await top.json()) as { rows: unknown[] }).rows).toEqual([
          { value: 'west', count: 151 },
          { value: 'east', count: 150 },
        ]);
        // No sources: the webhook is off.
        const post = await fetch(`${api.url}/webhook`, { method: 'POST', body: '{}' });
        expect(post.status).toBe(404);
      } finally {
        await api.close();
      }

      const reader = await openStore(db, { readOnly: true });
      try {
        expect(reader.kind).toBe('clickhouse');
        expect(await reader.count(parseQuery('*'))).toBe(301);
        expect(await reader.count(parseQuery('cluster:east'))).toBe(150);
        expect(await reader.count(parseQuery('cluster:west'))).toBe(151);
        expect(await reader.stats({ filter: parseQuery('*'), by: 'cluster', limit: 5 })).toEqual([
          { value: 'west', count: 151 },
          { value: 'east', count: 150 },
        ]);
        expect(await reader.getByAuditId('b0-e0')).toHaveLength(3);
        expect(await reader.count(parseQuery('verb:delete cluster:east'))).toBe(78);
      } finally {
        await reader.close();
      }
    } finally {
      await Promise.all([east.close(), west.close()]);
    }
  });
});

interface ApiAlert {
  id: string;
  rule: string;
  cluster: string;
  auditIDs: string[];
  status: 'open' | 'acked';
  acked: { at: string; by: string } | null;
}

describe('detection with collectors writing to one ClickHouse', () => {
  it('an alert raised by one collector is listed and acknowledged through the API server', async () => {
    const db = ch.location('kt_detect_topology');
    const [east, west] = await Promise.all([
      collector('east', db, 'all', true),
      collector('west', db, 'all', true),
    ]);
    const api = await collector('none', db, 'api');
    try {
      // Each detecting collector keeps its engine state and outbox in its own data directory.
      expect(existsSync(path.join(east.dir, 'detect.duckdb'))).toBe(true);
      expect(existsSync(path.join(west.dir, 'detect.duckdb'))).toBe(true);
      expect(existsSync(path.join(api.dir, 'detect.duckdb'))).toBe(false);
      const analyst = api.auth.tokens.create({ role: 'analyst', name: 'ana' }).token;
      const admin = api.auth.tokens.create({ role: 'admin', name: 'root' }).token;
      const get = async (c: Collector, url: string, token: string) => {
        const res = await fetch(`${c.url}${url}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        return ((await res.json()) as { alerts: ApiAlert[] }).alerts;
      };
      const execs = (alerts: ApiAlert[]) => alerts.filter((a) => a.rule === 'pod-exec');
      const since = 'since=2020-01-01T00:00:00Z';
      expect(await get(api, `/api/v1/alerts?${since}`, analyst)).toEqual([]);

      // An exec into a pod in the east cluster; ordinary reads in the west one.
      const exec = execEvent({ auditID: 'east-exec-1' });
      await send(east, [exec]);
      await send(west, [makeEvent({ auditID: 'west-get-1' })]);

      // The alert goes from east's outbox to ClickHouse right after the batch is stored.
      let listed: ApiAlert[] = [];
      for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
        listed = execs(await get(api, `/api/v1/alerts?${since}`, analyst));
        if (listed.length > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(listed).toEqual([
        expect.objectContaining({
          rule: 'pod-exec',
          cluster: 'east',
          auditIDs: ['east-exec-1'],
          status: 'open',
          acked: null,
        }),
      ]);
      const id = listed[0]!.id;

      // Acknowledged through the API server; the first acknowledgement stands.
      const ack = async (token: string) =>
        fetch(`${api.url}/api/v1/alerts/${encodeURIComponent(id)}/ack`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
      const first = await ack(analyst);
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ ok: true });
      expect((await ack(admin)).status).toBe(200);
      const missing = await fetch(`${api.url}/api/v1/alerts/no-such-alert/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(missing.status).toBe(404);
      const acked = execs(await get(api, `/api/v1/alerts?${since}&status=acked`, analyst));
      expect(acked.map((a) => [a.id, a.status, a.acked?.by])).toEqual([[id, 'acked', 'ana']]);
      expect(execs(await get(api, `/api/v1/alerts?${since}&status=open`, analyst))).toEqual([]);
      // Every server over the database sees the same alert and acknowledgement: the west collector
      // (which did not raise it) too.
      const fromWest = execs(
        await get(
          west,
          `/api/v1/alerts?${since}`,
          west.auth.tokens.create({ role: 'analyst', name: 'w' }).token,
        ),
      );
      expect(fromWest.map((a) => [a.id, a.status, a.acked?.by])).toEqual([[id, 'acked', 'ana']]);

      // In ClickHouse, once.
      const log = ClickHouseAlertLog.forStore(api.store as ClickHouseStore);
      expect((await log.list({ rules: ['pod-exec'] })).map((a) => a.id)).toEqual([id]);
    } finally {
      await Promise.all([east.close(), west.close(), api.close()]);
    }
  });
});
