// The part of the store conformance suite (store-conformance.ts) about what a store keeps for detection,
// through the Store interface only: alerts saved once whatever is saved again, delivered to the store's
// alert log through its internal targets, listed, filtered and limited as a reference model says, read
// one by one, acknowledged (the first acknowledgement wins), hostile strings kept exactly; the outbox's
// due times, retries and failures; the engine's saved state, across a reopen.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVERITIES, severityRank, type Alert, type AlertQuery } from '../core/alert.js';
import { Dispatcher } from '../detect/outbox.js';
import { microsToTime, timeToMicros } from '../core/time.js';
import type { DetectionStorage } from '../store/detection.js';
import type { Store } from '../store/store.js';

const BASE_US = Date.UTC(2024, 2, 1) * 1000;
const RULES = ['pod-exec', "o'brien\\rule", 'rbac-change'];

/** Thirty alerts over two months, two at each time (ties are ordered by id), some with hostile text. */
function alerts(): Alert[] {
  return Array.from({ length: 30 }, (_, i) => ({
    id: `alert-${String(i).padStart(2, '0')}${i % 7 === 3 ? '-\'"\\%_' : ''}`,
    rule: RULES[i % RULES.length]!,
    title: `title ${i}`,
    severity: SEVERITIES[i % SEVERITIES.length]!,
    time: microsToTime(BASE_US + Math.floor(i / 2) * 4 * 86_400_000_000 + 13 * i),
    cluster: i % 2 ? 'east' : 'west',
    auditIDs: [`audit-${i}`, `audit-${i}-b`],
    message: i % 5 === 0 ? `line one\nline "two" 'three' \\ ✓ ${i}` : `message ${i}`,
    references: ['T1609', `falco:rule ${i}`],
    key: `key-${i}`,
    count: i + 1,
  }));
}

/** What a list query answers, by its definition: the newest `limit` matches, oldest first. */
function expected(all: readonly Alert[], q: AlertQuery): Alert[] {
  const ts = (a: Alert) => timeToMicros(a.time)!;
  const byTime = (a: Alert, b: Alert) => ts(a) - ts(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const matches = all.filter(
    (a) =>
      (q.since === undefined || ts(a) >= q.since) &&
      (q.until === undefined || ts(a) < q.until) &&
      (!q.rules || q.rules.length === 0 || q.rules.includes(a.rule)) &&
      (!q.minSeverity || severityRank(a.severity) >= severityRank(q.minSeverity)),
  );
  const newest = [...matches].sort((a, b) => ts(b) - ts(a) || (a.id < b.id ? -1 : 1));
  return newest.slice(0, q.limit ?? 1000).sort(byTime);
}

export function runDetectionConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}, alerts and detection state`, () => {
    let store: Store;
    let dir: string;
    let stateFile: string;
    let det: DetectionStorage;
    const all = alerts();
    const ts = (i: number) => timeToMicros(all[i]!.time)!;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'kt-detect-conformance-'));
      // Used by a store that keeps detection's state apart from itself; ignored by one that keeps it.
      stateFile = path.join(dir, 'detect.duckdb');
      store = await makeStore();
      det = await store.detection({ stateFile });
    });
    afterAll(async () => {
      await det?.close();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('saves each alert once and brings it to the store alert log', async () => {
      // Saved in two overlapping batches, out of order, one repeated inside a batch; each new alert is
      // queued for the store's own targets, as a detection session does.
      const first = await det.state.save([...all.slice(10).reverse(), all[12]!], det.targets);
      expect(first.map((a) => a.id).sort()).toEqual(
        all
          .slice(10)
          .map((a) => a.id)
          .sort(),
      );
      const second = await det.state.save(all.slice(0, 15), det.targets);
      expect(second.map((a) => a.id)).toEqual(all.slice(0, 10).map((a) => a.id));
      expect(await det.state.save(all, det.targets)).toEqual([]);
      // What the store's own targets are owed reaches the store (nothing, for a store that is its own state).
      const pending = await new Dispatcher(det.state, det.targets, {
        baseMs: 10,
        maxMs: 50,
        maxAttempts: 3,
      }).drain(10_000);
      expect(pending).toBe(0);
      const log = (await store.alertLog())!;
      expect(await log.list()).toEqual(expected(all, {}));
      expect(await det.log.list()).toEqual(expected(all, {}));
    });

    it('lists, filters and limits as the definition says', async () => {
      const log = (await store.alertLog({ existing: true }))!;
      expect(log).toBeDefined();
      const queries: AlertQuery[] = [
        { limit: 5 },
        { limit: 1 },
        { since: ts(10) },
        { until: ts(10) },
        { since: ts(10), until: ts(20) },
        { since: ts(10) + 1, until: ts(20) + 1 },
        { rules: ['pod-exec'] },
        { rules: [RULES[1]!, 'rbac-change'], minSeverity: 'medium' },
        { rules: [] },
        { rules: ['no-such-rule'] },
        { minSeverity: 'critical', limit: 3 },
        { minSeverity: 'info', since: ts(5), limit: 7 },
        { since: ts(29) + 1 },
      ];
      for (const q of queries) expect(await log.list(q), JSON.stringify(q)).toEqual(expected(all, q));
      // Not a vacuous model: the cases above select different, non-empty sets.
      expect(expected(all, { limit: 5 })).toHaveLength(5);
      expect(expected(all, { rules: [RULES[1]!] }).length).toBeGreaterThan(0);
    });

    it('reads one alert by id, hostile ids included', async () => {
      const log = (await store.alertLog())!;
      for (const a of [all[0]!, all[3]!, all[10]!]) expect(await log.get(a.id)).toEqual(a);
      expect(all[3]!.id).toContain("'");
      expect(await log.get('no-such-alert')).toBeUndefined();
      expect(await log.get("alert-00' OR '1'='1")).toBeUndefined();
    });

    it('keeps the first acknowledgement', async () => {
      const log = (await store.alertLog())!;
      const id = all[3]!.id;
      expect(await log.acknowledge('no-such-alert', 'alice', 1_700_000_000_000)).toBe(false);
      expect(await log.acknowledge(id, 'alice', 1_700_000_000_000)).toBe(true);
      expect(await log.acknowledge(id, 'bob', 1_700_000_100_000)).toBe(true);
      const acks = await log.acks([id, all[4]!.id, 'no-such-alert']);
      expect([...acks]).toEqual([[id, { at: new Date(1_700_000_000_000).toISOString(), by: 'alice' }]]);
    });

    it('queues deliveries by severity, and retries, delays and gives them up', async () => {
      const extra = all.map((a, i) => ({ ...a, id: `outbox-${i}` }));
      const fresh = await det.state.save(extra, [
        { name: 'pager', minSeverity: 'high' },
        { name: 'log', minSeverity: 'info' },
      ]);
      expect(fresh).toHaveLength(extra.length);
      // Queued now: due from now on.
      const now = Date.now();
      const due = (await det.state.due(now + 1, 1000)).filter((d) => d.alert.id.startsWith('outbox-'));
      const high = extra.filter((a) => severityRank(a.severity) >= severityRank('high'));
      expect(due.filter((d) => d.output === 'pager').map((d) => d.alert.id)).toEqual(
        expect.arrayContaining(high.map((a) => a.id)),
      );
      expect(due.filter((d) => d.output === 'pager')).toHaveLength(high.length);
      expect(due.filter((d) => d.output === 'log')).toHaveLength(extra.length);
      expect(due.every((d) => d.attempts === 0)).toBe(true);
      const pagerDue = due.find((d) => d.output === 'pager')!;
      expect(pagerDue.alert).toEqual(extra.find((a) => a.id === pagerDue.alert.id));

      const pager = due.filter((d) => d.output === 'pager');
      const later = now + 60_000;
      await det.state.retryLater(
        pager.map((d) => ({ alertId: d.alert.id, output: 'pager', attempts: 1 })),
        later,
        'receiver answered 500',
        false,
      );
      expect((await det.state.due(now + 1, 1000)).some((d) => d.output === 'pager')).toBe(false);
      expect(await det.state.nextDue(['pager'])).toBe(later);
      const retried = (await det.state.due(later, 1000)).filter((d) => d.output === 'pager');
      expect(retried).toHaveLength(pager.length);
      expect(retried.every((d) => d.attempts === 1)).toBe(true);

      await det.state.delivered(
        due.filter((d) => d.output === 'log').map((d) => ({ alertId: d.alert.id, output: 'log' })),
      );
      expect(await det.state.nextDue(['log'])).toBeUndefined();
      await det.state.retryLater(
        pager.map((d) => ({ alertId: d.alert.id, output: 'pager', attempts: 2 })),
        later,
        'gave up',
        true,
      );
      expect(await det.state.nextDue(['pager'])).toBeUndefined();
      expect(await det.state.outboxCounts()).toEqual({ pending: 0, failed: pager.length });
    });

    it("keeps the engine's state, replacing it rule by rule, across a reopen", async () => {
      expect(await det.state.loadState()).toBeUndefined();
      await det.state.saveState({
        rules: { burst: { version: 'v1', start: 5, seen: { k: ['a', 'b'] } }, quiet: { version: 'v2' } },
        lastTime: 1234,
      });
      await det.state.saveState({ rules: { burst: { version: 'v1', start: 9 } }, lastTime: 5678 });
      const want = {
        rules: { burst: { version: 'v1', start: 9 }, quiet: { version: 'v2' } },
        lastTime: 5678,
      };
      expect(await det.state.loadState()).toEqual(want);
      await det.close();
      det = await store.detection({ stateFile });
      expect(await det.state.loadState()).toEqual(want);
      expect(await det.state.outboxCounts()).toEqual({ pending: 0, failed: expect.any(Number) });
    });
  });
}
