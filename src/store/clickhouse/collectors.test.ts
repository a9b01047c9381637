// Topology at scale: two collectors (one per cluster) receive audit webhook batches, some resent and
// some concurrently, and write to one real ClickHouse database; an API server with no sources
// (`serve --role api`) and a third store handle read what they stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent } from '../../core/event.js';
import { parseQuery } from '../../query/index.js';
import { startCollector, type Collector } from '../../server/collector.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { makeEvent } from '../../test-support/events.js';
import { openStore } from '../open.js';

let ch: TestClickHouse;
const dirs: string[] = [];
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(async () => {
  await ch?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function collector(cluster: string, db: string, role: 'all' | 'api' = 'all'): Promise<Collector> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-ch-collector-'));
  dirs.push(dir);
  const config = configSchema.parse({
    dataDir: dir,
    listen: '127.0.0.1:0',
    autodetect: false,
    cluster,
    db,
    role,
    // Detection keeps its alerts in a DuckDB store.
    detect: { enabled: false },
  });
  return startCollector({ config, logger: pino({ level: 'silent' }) });
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
