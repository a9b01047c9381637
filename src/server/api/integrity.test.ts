// The integrity endpoints on a real collector (DuckDB store): who may read the last verification (admin,
// analyst; never a viewer, whatever its scope, nor an ingest token), who may run one (admin), the shape
// of both answers, a verification that names a row changed behind kubetrail's back, and the OpenAPI
// document describing both routes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import type { AuditEvent } from '../../core/event.js';
import type { VerificationRecord } from '../../integrity/types.js';
import { makeEvent } from '../../test-support/events.js';
import { startCollector, type Collector } from '../collector.js';
import { openApiFile } from './index.js';

let dir: string;
let c: Collector;
const t = {} as Record<'admin' | 'analyst' | 'viewerAll' | 'viewer' | 'ingest', string>;

async function call(method: string, url: string, token?: string) {
  const res = await fetch(`${c.url}${url}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { error?: { code: string } },
  };
}

const at = (minute: number) => `2024-05-01T10:${String(minute).padStart(2, '0')}:00.000000Z`;
const event = (id: string, minute: number, ns: string): AuditEvent =>
  makeEvent({
    auditID: id,
    objectRef: { resource: 'configmaps', namespace: ns, name: 'x', apiVersion: 'v1' },
    requestReceivedTimestamp: at(minute),
    stageTimestamp: at(minute),
  });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kt-integrity-api-'));
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false });
  c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  const mk = (name: keyof typeof t, spec: Parameters<typeof c.auth.tokens.create>[0]) =>
    (t[name] = c.auth.tokens.create({ ...spec, name }).token);
  mk('admin', { role: 'admin' });
  mk('analyst', { role: 'analyst' });
  mk('viewerAll', { role: 'viewer', scope: '*', bodies: true });
  mk('viewer', { role: 'viewer', scope: 'ns:team-a' });
  mk('ingest', { role: 'ingest' });
  const res = await fetch(`${c.url}/webhook/prod`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: 'EventList',
      items: [event('a', 1, 'team-a'), event('b', 2, 'team-b'), event('c', 3, 'team-a')],
    }),
  });
  expect(res.status).toBe(200);
  await c.settled();
});

afterAll(async () => {
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /api/v1/integrity, POST /api/v1/integrity/verify', () => {
  it('is for admin and analyst only; running a verification is for admin only', async () => {
    for (const who of ['viewerAll', 'viewer', 'ingest'] as const) {
      const r = await call('GET', '/api/v1/integrity', t[who]);
      expect(r.status, who).toBe(403);
      expect(r.body.error?.code).toBe('KT_FORBIDDEN');
    }
    for (const who of ['analyst', 'viewerAll', 'viewer', 'ingest'] as const) {
      const r = await call('POST', '/api/v1/integrity/verify', t[who]);
      expect(r.status, who).toBe(403);
    }
    expect((await call('GET', '/api/v1/integrity')).status).toBe(401);
    expect((await call('POST', '/api/v1/integrity/verify')).status).toBe(401);
  });

  it('shows the chain before any verification, then the verification an admin ran', async () => {
    const before = await call('GET', '/api/v1/integrity', t.analyst);
    expect(before.status).toBe(200);
    expect(before.body.last).toBeUndefined();
    expect(before.body.chain).toMatchObject({ headSeq: expect.any(Number) });
    expect((before.body.chain as { records: number }).records).toBeGreaterThanOrEqual(1);
    expect(before.body.schedule).toMatchObject({
      intervalSeconds: 86_400,
      running: false,
      next: expect.any(String),
    });

    const run = await call('POST', '/api/v1/integrity/verify', t.admin);
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    const rec = run.body as unknown as VerificationRecord;
    expect(rec).toMatchObject({ ok: true, by: 'server', findings: [], verified: { events: 3 } });
    expect(Date.parse(rec.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(rec.durationMs).toBeGreaterThanOrEqual(0);

    const after = await call('GET', '/api/v1/integrity', t.analyst);
    expect(after.body.last).toEqual(rec);
  });

  it('names a row changed behind its back', async () => {
    const conn = await (
      c.store as unknown as { connect(): Promise<{ run(sql: string): Promise<unknown>; closeSync(): void }> }
    ).connect();
    try {
      await conn.run("UPDATE events SET verb = 'delete' WHERE audit_id = 'b'");
    } finally {
      conn.closeSync();
    }
    const run = await call('POST', '/api/v1/integrity/verify', t.admin);
    const rec = run.body as unknown as VerificationRecord;
    expect(rec.ok).toBe(false);
    expect(rec.findings).toEqual([
      expect.objectContaining({
        kind: 'modified',
        auditID: 'b',
        time: expect.stringContaining('2024-05-01T10:02:00'),
      }),
    ]);
    expect((await call('GET', '/api/v1/integrity', t.admin)).body.last).toEqual(rec);
  });

  it('is described in the OpenAPI document', () => {
    const doc = JSON.parse(readFileSync(openApiFile(), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/api/v1/integrity']!)).toEqual(['get']);
    expect(Object.keys(doc.paths['/api/v1/integrity/verify']!)).toEqual(['post']);
  });
});
