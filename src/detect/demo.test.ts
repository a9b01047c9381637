// The demo data set: each woven-in incident raises at least one alert above informational, and no rule
// above informational fires anywhere else in the day. Loading it (what `npm start` does) stores those
// alerts next to the events, and the day ends at the time it is loaded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemoIfEmpty } from '../cli/commands/start.js';
import type { Io } from '../cli/common.js';
import type { EventRecord } from '../core/event.js';
import { DEMO_INCIDENTS, demoEvents } from '../generate/index.js';
import { compileJs, parseQuery } from '../query/index.js';
import { openStore } from '../store/open.js';
import { DetectionEngine } from './engine.js';
import { loadRules } from './rules.js';
import { severityRank, type Alert } from './types.js';

const incidents = DEMO_INCIDENTS.map((i) => ({ id: i.id, match: compileJs(parseQuery(i.filter)) }));

describe('built-in rules on the demo day', () => {
  const owner = new Map<string, string>();
  const engine = new DetectionEngine(loadRules());
  const alerts: Alert[] = [];
  for (const event of demoEvents()) {
    const r: EventRecord = { cluster: 'demo', event };
    const inc = incidents.find((i) => i.match(r));
    if (inc) owner.set(event.auditID, inc.id);
    alerts.push(...engine.process(r));
  }
  const serious = alerts.filter((a) => severityRank(a.severity) > 0);

  it('raises an alert above informational for every incident', () => {
    const hit = new Set(serious.flatMap((a) => a.auditIDs.map((id) => owner.get(id))).filter(Boolean));
    expect(DEMO_INCIDENTS.map((i) => i.id).filter((id) => !hit.has(id))).toEqual([]);
  });

  it('raises nothing above informational outside the incidents', () => {
    const stray = serious
      .filter((a) => a.auditIDs.some((id) => !owner.has(id)))
      .map((a) => `${a.rule} (${a.severity}): ${a.message}`);
    expect(stray.slice(0, 20)).toEqual([]);
  });
});

describe('loading the demo into an empty store', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const io: Io = { out: () => undefined, err: () => undefined, width: 120, interactive: false };

  it('stores the day ending now and the alerts of every incident', async () => {
    const store = await openStore(path.join(dir, 'demo.duckdb'));
    try {
      const before = Date.now();
      // A smaller day than npm start loads (same incidents), to keep the test fast.
      const stored = await loadDemoIfEmpty(store, io, { events: 4000 });
      expect(stored).toBeGreaterThan(3000);
      const span = await store.span();
      const lastMs = Number(span!.last) / 1000;
      expect(lastMs).toBeLessThanOrEqual(Date.now());
      expect(lastMs).toBeGreaterThan(before - 5 * 60_000);

      const alerts = await (await store.alertLog())!.list({ limit: 10_000 });
      const ids = new Map<string, string>();
      for (const event of demoEvents({ events: 4000 })) {
        const inc = incidents.find((i) => i.match({ cluster: 'demo', event }));
        if (inc) ids.set(event.auditID, inc.id);
      }
      const hit = new Set(
        alerts
          .filter((a) => severityRank(a.severity) > 0)
          .flatMap((a) => a.auditIDs.map((id) => ids.get(id)))
          .filter(Boolean),
      );
      expect(DEMO_INCIDENTS.map((i) => i.id).filter((id) => !hit.has(id))).toEqual([]);
      // A store that holds events is left alone.
      expect(await loadDemoIfEmpty(store, io, { events: 4000 })).toBe(0);
    } finally {
      await store.close();
    }
  }, 60_000);
});
