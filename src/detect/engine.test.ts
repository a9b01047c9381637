// The engine: aggregation windows, first-seen learning, suppression, state that survives a restart, and
// batch hunting (over files and over the store) giving exactly the alerts streaming gave.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { demoEvents } from '../generate/index.js';
import { runImport } from '../pipeline/import.js';
import { openStore } from '../store/open.js';
import { allEvents } from '../store/paging.js';
import { makeEvent, rec } from '../test-support/events.js';
import { DetectionEngine, type EngineSnapshot } from './engine.js';
import { hunt } from './hunt.js';
import { mergeRuleFiles, parseRuleFile, type Problem } from './load.js';
import { compileRuleSet } from './compile.js';
import { loadRules } from './rules.js';
import { openDetection } from './session.js';
import type { Alert, CompiledRule } from './types.js';

function rulesFrom(yaml: string): CompiledRule[] {
  const problems: Problem[] = [];
  const pf = parseRuleFile('test.yaml', yaml, problems);
  const rules = compileRuleSet(mergeRuleFiles(pf ? [pf] : [], problems), problems);
  expect(problems).toEqual([]);
  return rules;
}

const at = (minutes: number) =>
  new Date(Date.UTC(2025, 0, 1) + minutes * 60_000).toISOString().replace('Z', '000Z');

function ev(minutes: number, over: Parameters<typeof makeEvent>[0] = {}): EventRecord {
  const t = at(minutes);
  return rec(makeEvent({ stageTimestamp: t, requestReceivedTimestamp: t, ...over }));
}

const key = (a: Alert) => `${a.rule}|${a.time}|${[...a.auditIDs].sort().join(',')}|${a.message}`;

describe('aggregation', () => {
  const rules = rulesFrom(`
rules:
  - id: burst
    title: burst
    severity: medium
    mitre: [T1110]
    condition: 'code:403'
    aggregate: { function: count, window: 5m, by: [user], threshold: 3 }
    output: '{user} {count} in {window}'
  - id: spread
    title: spread
    severity: high
    mitre: [T1552.007]
    condition: 'resource:secrets'
    aggregate: { function: distinct, field: ns, window: 10m, by: [user], threshold: 3 }
    output: '{user} {count} namespaces'
`);
  const denied = (m: number, user = 'eve') =>
    ev(m, { user: { username: user }, responseStatus: { code: 403 } });

  it('fires when the count within the window reaches the threshold, per key', () => {
    const e = new DetectionEngine(rules);
    const alerts = e.processBatch([denied(0), denied(1), denied(2, 'bob'), denied(3)]);
    expect(alerts.map((a) => [a.rule, a.message, a.auditIDs.length])).toEqual([['burst', 'eve 3 in 5m', 3]]);
  });

  it('forgets events older than the window', () => {
    const e = new DetectionEngine(rules);
    expect(e.processBatch([denied(0), denied(1), denied(7), denied(8)])).toEqual([]);
  });

  it('counts distinct values', () => {
    const e = new DetectionEngine(rules);
    const s = (m: number, ns: string) =>
      ev(m, { objectRef: { resource: 'secrets', namespace: ns, name: 'x' } });
    expect(e.processBatch([s(0, 'a'), s(1, 'a'), s(2, 'b')])).toEqual([]);
    expect(e.processBatch([s(3, 'c')]).map((a) => a.message)).toEqual(['alice@example.com 3 namespaces']);
  });
});

describe('first seen', () => {
  const rules = rulesFrom(`
rules:
  - id: new-ip
    title: new ip
    severity: medium
    mitre: [T1078]
    condition: 'user:*'
    firstSeen: { key: [user], value: [ip], learn: 1d }
    output: '{user} from {value}'
`);
  const from = (m: number, ip: string) => ev(m, { sourceIPs: [ip] });

  it('learns silently, then alerts on a value never seen for the key', () => {
    const e = new DetectionEngine(rules);
    expect(e.processBatch([from(0, '10.0.0.1'), from(60, '10.0.0.2')])).toEqual([]);
    expect(e.processBatch([from(2000, '10.0.0.1')])).toEqual([]);
    expect(e.processBatch([from(2001, '203.0.113.9')]).map((a) => a.message)).toEqual([
      'alice@example.com from 203.0.113.9',
    ]);
    expect(e.processBatch([from(2002, '203.0.113.9')])).toEqual([]);
  });

  it('keeps what it learned across a restart (snapshot through JSON)', () => {
    const a = new DetectionEngine(rules);
    a.processBatch([from(0, '10.0.0.1')]);
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as EngineSnapshot;
    const b = new DetectionEngine(rules);
    b.restore(snap);
    expect(b.processBatch([from(2000, '10.0.0.1')])).toEqual([]);
    expect(b.processBatch([from(2001, '10.9.9.9')])).toHaveLength(1);
  });

  it('drops saved state when the rule changed', () => {
    const a = new DetectionEngine(rules);
    a.processBatch([from(0, '10.0.0.1')]);
    const changed = rulesFrom(`
rules:
  - id: new-ip
    title: new ip
    severity: medium
    mitre: [T1078]
    condition: 'user:* verb:get'
    firstSeen: { key: [user], value: [ip], learn: 1d }
    output: '{user} from {value}'
`);
    const b = new DetectionEngine(changed);
    b.restore(a.snapshot());
    expect(b.snapshot().rules['new-ip']!.seen).toBeUndefined();
  });
});

describe('suppression', () => {
  it('raises one alert per key within the window', () => {
    const rules = rulesFrom(`
rules:
  - id: exec
    title: exec
    severity: medium
    mitre: [T1609]
    condition: 'subresource:exec'
    suppress: { window: 10m, by: [user] }
    output: '{user} exec'
`);
    const e = new DetectionEngine(rules);
    const x = (m: number) => ev(m, { objectRef: { resource: 'pods', subresource: 'exec', name: 'p' } });
    expect(e.processBatch([x(0), x(5), x(11)])).toHaveLength(2);
    expect(e.stats.suppressed).toEqual({ exec: 1 });
  });
});

describe('batch hunting gives the alerts streaming gave', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-detect-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rules = loadRules();
  const events: EventRecord[] = [...demoEvents()].map((event) => ({ cluster: 'demo', event }));

  it('in one pass, in batches of any size, and across a restart', () => {
    const whole = new DetectionEngine(rules).processBatch(events).map(key);
    expect(whole.length).toBeGreaterThan(20);
    // Streaming in uneven batches with a restart (state saved, engine rebuilt) half way.
    let engine = new DetectionEngine(rules);
    const streamed: string[] = [];
    let i = 0;
    let size = 1;
    while (i < events.length) {
      const batch = events.slice(i, i + size);
      streamed.push(...engine.processBatch(batch).map(key));
      i += size;
      size = (size * 7) % 3001 || 1;
      if (i > events.length / 2 && i - size <= events.length / 2) {
        const snap = JSON.parse(JSON.stringify(engine.snapshot())) as EngineSnapshot;
        engine = new DetectionEngine(rules);
        engine.restore(snap);
      }
    }
    expect(streamed).toEqual(whole);
  });

  it('over the store, as import --detect raised them', async () => {
    const store = await openStore(path.join(dir, 'store.duckdb'));
    try {
      const session = await openDetection(store, { resume: false });
      // The first sixteen hours of the demo day hold four of its incidents.
      const part = events.slice(0, Math.floor(events.length * 0.7));
      async function* source() {
        for (let k = 0; k < part.length; k += 2000) yield part.slice(k, k + 2000);
      }
      await runImport({ source: source(), store, transforms: [session.transform] });
      await session.finish();
      const { state: alerts } = await store.detection();
      const stored = (await alerts.list({ limit: 100_000 })).map(key).sort();
      const hunted: Alert[] = [];
      await hunt(allEvents(store), new DetectionEngine(rules), (a) => void hunted.push(...a));
      expect(hunted.map(key).sort()).toEqual(stored);
      expect(stored.length).toBe(session.stored);
      expect(stored.length).toBeGreaterThan(10);
      // State was checkpointed: a new session resumes it.
      expect(await alerts.loadState()).toBeDefined();
    } finally {
      await store.close();
    }
  });
});
