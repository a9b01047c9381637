import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LEVELS, STAGES, type AuditEvent } from '../core/event.js';
import { normalizeEvent } from '../ingest/normalize.js';
import { compileJs, parseQuery } from '../query/index.js';
import {
  DEMO_INCIDENTS,
  DEMO_SEED,
  demoEvents,
  demoStart,
  generateEvents,
  incidentAuditID,
} from './index.js';

const now = Date.now();
const demo: AuditEvent[] = [...demoEvents({ now })];
const sample = () => [
  ...generateEvents({ seed: 7, start: Date.UTC(2026, 0, 1), durationMs: 3_600_000, count: 5000 }),
];

describe('generator', () => {
  it('is deterministic for a seed', () => {
    expect(JSON.stringify(sample())).toBe(JSON.stringify(sample()));
    const other = [
      ...generateEvents({ seed: 8, start: Date.UTC(2026, 0, 1), durationMs: 3_600_000, count: 5000 }),
    ];
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(sample()));
  });

  it('emits valid events in time order, about 1 KB each', () => {
    const events = sample();
    expect(events).toHaveLength(5000);
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      expect('event' in normalizeEvent(e)).toBe(true);
      expect(STAGES).toContain(e.stage);
      expect(LEVELS).toContain(e.level);
      if (i > 0) expect(e.stageTimestamp >= events[i - 1]!.stageTimestamp).toBe(true);
      bytes += JSON.stringify(e).length;
    }
    const avg = bytes / events.length;
    expect(avg).toBeGreaterThan(750);
    expect(avg).toBeLessThan(1250);
  });
});

describe('demo data set', () => {
  const matches = (filter: string) =>
    demo.filter((event) => compileJs(parseQuery(filter))({ cluster: 'demo', event }));

  it('spans the day that ends minutes before it is generated, with about 100k events', () => {
    expect(demo.length).toBeGreaterThan(80_000);
    expect(demo.length).toBeLessThan(150_000);
    const last = Math.max(...demo.map((e) => Date.parse(e.stageTimestamp)));
    expect(last).toBeLessThanOrEqual(now);
    expect(last).toBeGreaterThan(now - 5 * 60_000);
    const first = Date.parse(demo[0]!.stageTimestamp);
    expect(first).toBeGreaterThanOrEqual(now - 24 * 3_600_000 - 5 * 60_000);
    expect(first).toBeLessThan(now - 23 * 3_600_000);
  });

  it('is the same day, shifted, whenever it is generated', () => {
    const later = now + 7 * 86_400_000;
    const shifted: AuditEvent[] = [];
    for (const e of demoEvents({ now: later })) if (shifted.push(e) >= 3000) break;
    expect(shifted.map((e) => e.auditID)).toEqual(demo.slice(0, 3000).map((e) => e.auditID));
    const at = (e: AuditEvent) => Date.parse(e.stageTimestamp) - Date.parse(demo[0]!.stageTimestamp);
    expect(shifted.map((e) => at(e) - 7 * 86_400_000)).toEqual(demo.slice(0, 3000).map(at));
  });

  it('evolves objects as the API server does: uid and creation fixed, generation and resourceVersion up', () => {
    const seen = new Map<string, { uid: unknown; created: unknown; generation: number; rv: number }>();
    let objects = 0;
    let changes = 0;
    for (const e of demo) {
      const m = (e.responseObject as { kind?: string; metadata?: Record<string, unknown> } | undefined)
        ?.metadata;
      if (!m || m.generation === undefined) continue;
      objects++;
      const key = `${String(m.namespace)}/${String(m.name)}`;
      const cur = {
        uid: m.uid,
        created: m.creationTimestamp,
        generation: m.generation as number,
        rv: Number(m.resourceVersion),
      };
      const prev = seen.get(key);
      if (prev) {
        expect(cur.uid, key).toBe(prev.uid);
        expect(cur.created, key).toBe(prev.created);
        expect(cur.generation, key).toBeGreaterThanOrEqual(prev.generation);
        expect(cur.rv, key).toBeGreaterThanOrEqual(prev.rv);
        if (cur.generation > prev.generation) changes++;
      }
      seen.set(key, cur);
    }
    expect(objects).toBeGreaterThan(1000);
    expect(changes).toBeGreaterThan(500);
  });

  it('scales to the number of events asked for, incidents included', () => {
    const small = [...demoEvents({ now, events: 5000 })];
    expect(small.length).toBeGreaterThan(4000);
    expect(small.length).toBeLessThan(6000);
    for (const inc of DEMO_INCIDENTS) {
      const match = compileJs(parseQuery(inc.filter));
      expect(
        small.some((event) => match({ cluster: 'demo', event })),
        inc.id,
      ).toBe(true);
    }
  });

  it('holds the auditID the README shows, on an incident event', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = /kubetrail show ([0-9a-f-]{36})/.exec(readme)?.[1];
    expect(shown).toBe(incidentAuditID(DEMO_SEED, 'privileged-pod', 0));
    const event = demo.find((e) => e.auditID === shown);
    expect(event?.objectRef?.name).toBe('debug-tools');
  });

  it.each(DEMO_INCIDENTS.map((i) => [i.id, i]))(
    'incident %s is present and its filter finds only it',
    (_id, inc) => {
      const found = matches(inc.filter);
      expect(found.length).toBeGreaterThan(0);
      const start = demoStart(now) + inc.atMs;
      for (const e of found) {
        const t = Date.parse(e.stageTimestamp);
        expect(t).toBeGreaterThanOrEqual(start);
        expect(t).toBeLessThan(start + 10 * 60_000 + 120_000);
      }
    },
  );

  it('is clean outside the incidents', () => {
    const privileged = demo.filter((e) =>
      JSON.stringify(e.requestObject ?? {}).match(/"privileged":true|"hostPath"|"hostNetwork":true/),
    );
    expect(privileged.map((e) => `${e.user.username} ${e.verb} ${e.objectRef?.name}`)).toEqual([
      'bob@example.com create debug-tools',
    ]);
    const exec = demo.filter((e) =>
      ['exec', 'attach', 'portforward'].includes(e.objectRef?.subresource ?? ''),
    );
    expect(exec).toHaveLength(1);
    const bindings = demo.filter(
      (e) =>
        e.objectRef?.resource === 'clusterrolebindings' &&
        e.verb === 'create' &&
        e.responseStatus?.code === 201,
    );
    expect(bindings).toHaveLength(1);
    const external = demo.filter((e) => !/^(10\.|198\.51\.100\.)/.test(e.sourceIPs?.[0] ?? ''));
    expect(new Set(external.map((e) => e.sourceIPs?.[0]))).toEqual(new Set(['203.0.113.45']));
    const forbidden = demo.filter((e) => e.responseStatus?.code === 403);
    const byUser = new Map<string, number>();
    for (const e of forbidden)
      byUser.set(e.user.username ?? '', (byUser.get(e.user.username ?? '') ?? 0) + 1);
    expect([...byUser.entries()].filter(([, n]) => n >= 5).map(([u]) => u)).toEqual(['eve@example.com']);
    const humanSecrets = demo.filter(
      (e) => e.objectRef?.resource === 'secrets' && /@example\.com$/.test(e.user.username ?? ''),
    );
    expect(new Set(humanSecrets.map((e) => e.user.username))).toEqual(
      new Set(['bob@example.com', 'eve@example.com']),
    );
    expect(
      humanSecrets
        .filter((e) => e.user.username === 'eve@example.com')
        .every((e) => e.responseStatus?.code === 403),
    ).toBe(true);
    const anonymousResources = demo.filter((e) => e.user.username === 'system:anonymous' && e.objectRef);
    expect(anonymousResources).toHaveLength(0);
  });
});
