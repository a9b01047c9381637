// Tests of the leak scanner: leaks per event and path, policy attribution and suggested fixes, bounded
// reports; and what it finds in real and generated data (the shared corpus, the demo data set).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { DEMO_START, generateEvents } from '../generate/index.js';
import { createMemoryQuarantine, normalizeEvent, readEvents } from '../ingest/index.js';
import { makeEvent, rec } from '../test-support/events.js';
import { CORPUS, available } from '../test-support/requirements.js';
import { compileRedactConfig } from './config.js';
import { Redactor } from './redactor.js';
import { LeakScanner } from './scan.js';

const redactor = new Redactor(compileRedactConfig());
const secret = (over = {}) =>
  rec(
    makeEvent({
      verb: 'update',
      level: 'RequestResponse',
      objectRef: { resource: 'secrets', namespace: 'a', name: 'db', apiVersion: 'v1' },
      requestObject: { kind: 'Secret', data: { password: 'cGFzcw==' } },
      ...over,
    }),
  );

describe('LeakScanner', () => {
  it('reports each leak with event, path, kind and a policy fix, never the value', () => {
    const s = new LeakScanner(redactor);
    const leaks = s.scan(secret());
    expect(leaks).toEqual([
      expect.objectContaining({
        verb: 'update',
        resource: 'secrets',
        namespace: 'a',
        name: 'db',
        path: 'requestObject.data.password',
        rule: 'secret-data',
      }),
    ]);
    expect(JSON.stringify(leaks)).not.toContain('cGFzcw==');
    const r = s.report();
    expect(r).toMatchObject({ events: 1, eventsWithLeaks: 1, totalLeaks: 1, policy: false });
    expect(r.fixes[0]!.advice).toMatch(/^log secrets at Metadata level/);
    expect(r.fixes[0]!.policyRule).toContain('resources: ["secrets"]');
  });

  it('names the policy rule when given an attribution, and groups fixes by resource and rule', () => {
    const s = new LeakScanner(redactor, {
      attribute: () => ({ rule: 3, level: 'RequestResponse', line: 17 }),
    });
    s.add([secret(), secret()]);
    s.add([
      rec(
        makeEvent({
          level: 'Request',
          objectRef: { resource: 'deployments', apiGroup: 'apps', namespace: 'a', apiVersion: 'v1' },
          requestObject: {
            spec: {
              template: { spec: { containers: [{ env: [{ name: 'DB_PASSWORD', value: 'x1y2z3' }] }] } },
            },
          },
        }),
      ),
    ]);
    const r = s.report();
    expect(r.leaks[0]!.policy).toEqual({ rule: 3, level: 'RequestResponse', line: 17 });
    expect(r.fixes).toHaveLength(2);
    expect(r.fixes[0]).toMatchObject({ leaks: 2, beforeRule: 3, beforeLine: 17 });
    expect(r.fixes[0]!.advice).toContain('before rules[3] (line 17), which logs it at RequestResponse');
    expect(r.fixes[1]!.advice).toMatch(/keep credentials out of apps\/deployments/);
    expect(r.fixes[1]!.policyRule).toContain('group: "apps"');
  });

  it('explains leaks no policy level removes (request URIs, audit annotations, clients)', () => {
    const s = new LeakScanner(redactor);
    s.scan(rec(makeEvent({ requestURI: '/api/v1/namespaces/a/pods?token=abc123def' })));
    s.scan(rec(makeEvent({ annotations: { 'x.io/debug': 'password=abc123def' } })));
    s.scan(rec(makeEvent({ userAgent: 'bot (password=abc123def)' })));
    const fixes = s.report().fixes.map((f) => f.key);
    expect(fixes).toEqual(['uri', 'annotations', 'client:userAgent']);
    expect(s.report().fixes.every((f) => f.policyRule === undefined)).toBe(true);
  });

  it('keeps at most maxLeaks in the report, and counts them all', () => {
    const s = new LeakScanner(redactor, { maxLeaks: 2 });
    for (let i = 0; i < 5; i++) s.scan(secret());
    expect(s.report()).toMatchObject({ totalLeaks: 5, eventsWithLeaks: 5 });
    expect(s.report().leaks).toHaveLength(2);
  });
});

const corpus = CORPUS.path;

describe.skipIf(!available(CORPUS))('leaks in the shared corpus (skipped without ../shared/corpus)', () => {
  it('finds the planted ConfigMap credentials of the Falco data and nothing else', async () => {
    const falco = path.join(corpus, 'falco-k8s-audit');
    const files = readdirSync(falco)
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(falco, f));
    const s = new LeakScanner(redactor);
    for await (const b of readEvents([...files, path.join(corpus, 'audit2rbac/demo.log')], {
      quarantine: createMemoryQuarantine(),
    }))
      s.add(b);
    const r = s.report();
    expect(r.events).toBe(88);
    expect(r.eventsWithLeaks).toBe(6);
    expect(new Set(r.leaks.map((l) => `${l.resource} ${l.name} ${l.path} ${l.rule}`))).toEqual(
      new Set([
        'configmaps my-config requestObject.data["access.properties"] sensitive-assignment',
        'configmaps my-config responseObject.data["access.properties"] sensitive-assignment',
      ]),
    );
  });

  it('finds nothing in the Panther test events (EKS, GKE, AKS shapes)', () => {
    const s = new LeakScanner(redactor);
    for (const f of ['tests.jsonl', 'tests-eks-legacy-and-azure-activity.jsonl']) {
      for (const line of readFileSync(path.join(corpus, 'panther-k8s', f), 'utf8').split('\n')) {
        if (!line) continue;
        const n = normalizeEvent((JSON.parse(line) as { log: unknown }).log, {
          defaultTime: '2024-01-01T00:00:00Z',
        });
        if ('event' in n) s.scan({ cluster: 'c', event: n.event });
      }
    }
    const r = s.report();
    expect(r.events).toBeGreaterThan(250);
    expect(r.totalLeaks).toBe(0);
  });
});

describe('leaks in the generated demo data', () => {
  it('are exactly the application Secrets the CI deployer writes at RequestResponse', () => {
    const s = new LeakScanner(redactor);
    const batch: EventRecord[] = [];
    for (const e of generateEvents({
      seed: 3,
      start: DEMO_START,
      durationMs: 86_400_000,
      count: 20_000,
      incidents: true,
    }))
      batch.push({ cluster: 'demo', event: e });
    s.add(batch);
    const r = s.report();
    expect(r.eventsWithLeaks).toBeGreaterThan(0);
    expect(new Set(r.leaks.map((l) => `${l.resource} ${l.verb} ${l.rule}`))).toEqual(
      new Set(['secrets update secret-data']),
    );
  });
});
