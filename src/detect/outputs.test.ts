// Alert outputs against real HTTP servers on 127.0.0.1 that check what they receive (generic webhook,
// Slack incoming webhook, Alertmanager v2), the file and stdout outputs, and the durable outbox: retries
// with backoff while a receiver fails, and delivery after a restart of what was queued before it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../store/open.js';
import { backoffDelay, Dispatcher } from './outbox.js';
import { createOutput } from './outputs.js';
import type { Alert } from './types.js';

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: unknown;
}

/** A receiver on loopback; `fail` answers the next n requests with 500. */
async function receiver() {
  const got: Received[] = [];
  const state = { fail: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      if (state.fail > 0) {
        state.fail--;
        res.writeHead(500).end('down');
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(data);
      } catch {
        res.writeHead(400).end('not json');
        return;
      }
      got.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const alert = (n: number, severity: Alert['severity'] = 'high'): Alert => ({
  id: `alert-${n}`,
  rule: 'privileged-pod',
  title: 'Privileged container created',
  severity,
  time: `2025-01-06T09:00:0${n}.000000Z`,
  cluster: 'prod',
  auditIDs: [`audit-${n}`],
  message: `bob created a privileged pod #${n}`,
  references: ['T1611', 'falco:Create Privileged Pod'],
  key: `audit-${n}`,
  count: 1,
});

describe('alert outputs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-outputs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('webhook: one JSON alert per POST', async () => {
    const r = await receiver();
    try {
      await createOutput(`webhook:${r.url}/hook`).send([alert(1), alert(2)]);
      expect(r.got).toHaveLength(2);
      expect(r.got[0]).toMatchObject({ method: 'POST', url: '/hook', contentType: 'application/json' });
      expect(r.got[0]!.body).toMatchObject({
        rule: 'privileged-pod',
        severity: 'high',
        auditIDs: ['audit-1'],
        references: ['T1611', 'falco:Create Privileged Pod'],
      });
    } finally {
      await r.close();
    }
  });

  it('Slack: an incoming-webhook message with the alert', async () => {
    const r = await receiver();
    try {
      await createOutput(`slack:${r.url}/services/T000/B000/XXX`).send([alert(3)]);
      const body = r.got[0]!.body as {
        text: string;
        attachments: { fields: { title: string; value: string }[] }[];
      };
      expect(body.text).toBe('[HIGH] Privileged container created: bob created a privileged pod #3');
      expect(body.attachments[0]!.fields.find((f) => f.title === 'Audit IDs')!.value).toBe('audit-3');
    } finally {
      await r.close();
    }
  });

  it('Alertmanager: the v2 API with labels and annotations', async () => {
    const r = await receiver();
    try {
      await createOutput(`alertmanager:${r.url}`).send([alert(4), alert(5, 'critical')]);
      expect(r.got).toHaveLength(1);
      expect(r.got[0]!.url).toBe('/api/v2/alerts');
      const body = r.got[0]!.body as {
        labels: Record<string, string>;
        annotations: Record<string, string>;
        startsAt: string;
      }[];
      expect(body).toHaveLength(2);
      expect(body[1]).toEqual({
        labels: {
          alertname: 'privileged-pod',
          severity: 'critical',
          cluster: 'prod',
          source: 'kubetrail',
          alert_id: 'alert-5',
        },
        annotations: {
          summary: 'Privileged container created',
          description: 'bob created a privileged pod #5',
          audit_ids: 'audit-5',
          references: 'T1611,falco:Create Privileged Pod',
        },
        startsAt: '2025-01-06T09:00:05.000000Z',
      });
    } finally {
      await r.close();
    }
  });

  it('file and stdout: JSON lines', async () => {
    const file = path.join(dir, 'alerts.jsonl');
    await createOutput(`file:${file}`).send([alert(6)]);
    await createOutput(`file:${file}`).send([alert(7)]);
    expect(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['alert-6', 'alert-7']);
    let out = '';
    await createOutput('stdout', { write: (t) => (out += t) }).send([alert(8)]);
    expect(JSON.parse(out)).toMatchObject({
      id: 'alert-8',
      rule: 'privileged-pod',
      time: '2025-01-06T09:00:08.000000Z',
    });
  });

  it('refuses unknown outputs and missing URLs', () => {
    expect(() => createOutput('pagerduty:x')).toThrow(/unknown alert output/);
    expect(() => createOutput('slack:not-a-url')).toThrow(/needs an http\(s\) URL/);
  });
});

describe('outbox', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-outbox-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('backs off exponentially with jitter, up to a cap', () => {
    const o = { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 };
    expect(backoffDelay(1, o, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, o, () => 0.5)).toBe(4000);
    expect(backoffDelay(20, o, () => 0.5)).toBe(60_000);
    expect(backoffDelay(3, o, () => 0)).toBe(3200);
  });

  it('retries a failing receiver until it accepts, without duplicates', async () => {
    const r = await receiver();
    const store = await openStore(path.join(dir, 'retry.duckdb'));
    try {
      const { state: alerts } = await store.detection();
      const out = createOutput(`webhook:${r.url}/retry`);
      await alerts.save([alert(1), alert(2, 'info')], [out]);
      // The informational alert is stored but not sent (outputs take low and above by default).
      expect((await alerts.list()).map((a) => a.id)).toEqual(['alert-1', 'alert-2']);
      r.state.fail = 2;
      const d = new Dispatcher(alerts, [out], { baseMs: 20, maxMs: 100, maxAttempts: 10 });
      expect(await d.drain(5000)).toBe(0);
      expect(r.got.map((g) => (g.body as Alert).id)).toEqual(['alert-1']);
      expect(d.totals).toEqual({ sent: 1, failed: 2 });
      // Saving the same alert again queues nothing.
      expect(await alerts.save([alert(1)], [out])).toEqual([]);
      expect(await alerts.outboxCounts()).toEqual({ pending: 0, failed: 0 });
    } finally {
      await store.close();
      await r.close();
    }
  });

  it('gives up after the last attempt and keeps the delivery as failed', async () => {
    const r = await receiver();
    const store = await openStore(path.join(dir, 'giveup.duckdb'));
    try {
      const { state: alerts } = await store.detection();
      const out = createOutput(`slack:${r.url}/s`);
      await alerts.save([alert(1)], [out]);
      r.state.fail = 100;
      const d = new Dispatcher(alerts, [out], { baseMs: 5, maxMs: 10, maxAttempts: 3 });
      await d.drain(2000);
      expect(await alerts.outboxCounts()).toEqual({ pending: 0, failed: 1 });
      expect(d.lastError).toMatch(/answered 500/);
    } finally {
      await store.close();
      await r.close();
    }
  });

  it('delivers after a restart what was queued before it', async () => {
    const file = path.join(dir, 'restart.duckdb');
    const r = await receiver();
    const url = `${r.url}/after-restart`;
    await r.close(); // the receiver is down when the alert is raised
    {
      const store = await openStore(file);
      const { state: alerts } = await store.detection();
      const out = createOutput(`webhook:${url}`);
      await alerts.save([alert(9, 'critical')], [out]);
      const d = new Dispatcher(alerts, [out], { baseMs: 10, maxMs: 20, maxAttempts: 50 });
      expect(await d.runOnce()).toEqual({ sent: 0, failed: 1 });
      await store.close(); // the process goes away
    }
    // A receiver comes back on the same address.
    const port = Number(new URL(url).port);
    const got: unknown[] = [];
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        got.push({ url: req.url, body: JSON.parse(data) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((ok) => server.listen(port, '127.0.0.1', () => ok()));
    try {
      const store = await openStore(file);
      try {
        const { state: alerts } = await store.detection();
        const d = new Dispatcher(alerts, [createOutput(`webhook:${url}`)], {
          baseMs: 10,
          maxMs: 20,
          maxAttempts: 50,
        });
        expect(await d.drain(5000)).toBe(0);
        expect(got).toEqual([
          { url: '/after-restart', body: expect.objectContaining({ id: 'alert-9', severity: 'critical' }) },
        ]);
      } finally {
        await store.close();
      }
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});
