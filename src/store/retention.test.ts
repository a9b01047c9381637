import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQuery } from '../query/index.js';
import { makeEvent, rec } from '../test-support/events.js';
import { openDuckDBStore } from './duckdb/store.js';
import { DAY_MS, retentionCutoff, RetentionTask } from './retention.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D0 = Date.UTC(2024, 0, 10);
const at = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

describe('retentionCutoff', () => {
  it('is the start of the UTC day that holds now - keep', () => {
    expect(retentionCutoff(D0 + 5 * DAY_MS + 3_600_000, 2 * DAY_MS)).toBe((D0 + 3 * DAY_MS) * 1000);
    expect(retentionCutoff(D0 + 5 * DAY_MS, 2 * DAY_MS)).toBe((D0 + 3 * DAY_MS) * 1000);
    expect(retentionCutoff(D0 + 5 * DAY_MS - 1, 2 * DAY_MS)).toBe((D0 + 2 * DAY_MS) * 1000);
  });
});

describe('RetentionTask', () => {
  it('removes whole days older than the retention, once at a time, and stops cleanly', async () => {
    const store = await openDuckDBStore(path.join(dir, 'r.duckdb'));
    // Six events a day for five days, the last one at 23:00.
    const records = [];
    for (let d = 0; d < 5; d++)
      for (let h = 0; h < 24; h += 4) {
        const t = at(D0 + d * DAY_MS + (h + 3) * 3_600_000);
        records.push(
          rec(makeEvent({ auditID: `d${d}h${h}`, requestReceivedTimestamp: t, stageTimestamp: t })),
        );
      }
    await store.write(records);
    const results: { cutoff: number; removed: number }[] = [];
    // Now: day 4 at 12:00; keep 2.5 days → the cutoff is the start of day 2 (now - keep is day 2, 00:00).
    const task = new RetentionTask(store, {
      keepMs: 2.5 * DAY_MS,
      now: () => D0 + 4 * DAY_MS + 12 * 3_600_000,
      onResult: (r) => results.push(r),
      intervalMs: 3_600_000,
    });
    const first = task.runOnce();
    expect(await task.runOnce()).toBeUndefined(); // one run at a time
    expect(await first).toEqual({ cutoff: (D0 + 2 * DAY_MS) * 1000, removed: 12 });
    expect(await store.count(parseQuery('*'))).toBe(18);
    expect(await task.runOnce()).toEqual({ cutoff: (D0 + 2 * DAY_MS) * 1000, removed: 0 });
    expect(results).toHaveLength(2);
    task.start();
    await task.stop();
    expect(await task.runOnce()).toBeUndefined();
    await store.close();
  });

  it('reports a failed run and goes on', async () => {
    const store = await openDuckDBStore(path.join(dir, 'closed.duckdb'));
    await store.close();
    const errors: unknown[] = [];
    const task = new RetentionTask(store, { keepMs: DAY_MS, onError: (e) => errors.push(e) });
    expect(await task.runOnce()).toBeUndefined();
    expect(errors).toHaveLength(1);
    await task.stop();
  });
});
