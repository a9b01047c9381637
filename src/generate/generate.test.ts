import { describe, expect, it } from 'vitest';
import { LEVELS, STAGES, type AuditEvent } from '../core/event.js';
import { normalizeEvent } from '../ingest/normalize.js';
import { compileJs, parseQuery } from '../query/index.js';
import { DEMO_INCIDENTS, demoEvents, generateEvents } from './index.js';

const demo: AuditEvent[] = [...demoEvents()];
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

  it('spans one day with about 100k events', () => {
    expect(demo.length).toBeGreaterThan(80_000);
    expect(demo.length).toBeLessThan(150_000);
    expect(demo[0]!.stageTimestamp.startsWith('2026-11-24')).toBe(true);
  });

  it.each(DEMO_INCIDENTS.map((i) => [i.id, i]))(
    'incident %s is present and its filter finds only it',
    (_id, inc) => {
      const found = matches(inc.filter);
      expect(found.length).toBeGreaterThan(0);
      const start = Date.UTC(2026, 10, 24) + inc.atMs;
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
