// Alerts on a real ClickHouse server: the ClickHouse alert log (listed exactly as the DuckDB detection state
// lists the same alerts, read once whatever was saved twice, the first acknowledgement winning, hostile
// strings kept byte for byte) and migration 2 on a database of schema 1. Detection writing to ClickHouse
// is tested in detection.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertQuery } from '../../core/alert.js';
import { SEVERITIES, type Alert } from '../../detect/types.js';
import { microsToTime, timeToMicros } from '../../core/time.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { DuckDBDetectionState } from '../duckdb/detection-state.js';
import { createAlertTablesSql, ClickHouseAlertLog } from './alerts.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { openClickHouseStore, type ClickHouseStore } from './store.js';

let ch: TestClickHouse;
let dir: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  dir = mkdtempSync(path.join(tmpdir(), 'kt-ch-alerts-'));
});
afterAll(async () => {
  await ch?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const RULES = ['pod-exec', 'secret-read', 'rbac-change'];
const BASE_US = Date.UTC(2024, 0, 1) * 1000;

/** Alerts spread over several months, two at each time (ties are ordered by id). */
function alert(i: number, over: Partial<Alert> = {}): Alert {
  return {
    id: `alert-${String(i).padStart(3, '0')}`,
    rule: RULES[i % RULES.length]!,
    title: `title ${i}`,
    severity: SEVERITIES[i % SEVERITIES.length]!,
    time: microsToTime(BASE_US + Math.floor(i / 2) * 9 * 86_400_000_000 + 7 * Math.floor(i / 2)),
    cluster: i % 2 ? 'east' : 'west',
    auditIDs: [`audit-${i}`, `audit-${i}-b`],
    message: `message ${i}`,
    references: ['T1609', `falco:rule ${i}`],
    key: `key-${i}`,
    count: i + 1,
    ...over,
  };
}

async function openLog(): Promise<{ loc: string; store: ClickHouseStore; log: ClickHouseAlertLog }> {
  const loc = ch.location('kt_alerts');
  const store = await openClickHouseStore(loc);
  return { loc, store, log: ClickHouseAlertLog.forStore(store) };
}

async function memoryAlertStore(): Promise<{ alerts: DuckDBDetectionState; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const alerts = await DuckDBDetectionState.open(conn);
  return {
    alerts,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

describe('ClickHouse alert log', () => {
  it('lists, filters and limits exactly as the DuckDB alert store does', async () => {
    const { store, log } = await openLog();
    const duck = await memoryAlertStore();
    try {
      const all = Array.from({ length: 40 }, (_, i) => alert(i));
      // Saved in two inserts, out of order.
      expect(await log.save(all.slice(20).reverse())).toBe(20);
      expect(await log.save(all.slice(0, 20))).toBe(20);
      await duck.alerts.save(all);
      // Several monthly partitions.
      const parts = await store.select<{ partition: string }>(
        `SELECT DISTINCT partition FROM system.parts WHERE database = '${store.location.database}' AND table = 'kt_alerts' AND active`,
      );
      expect(parts.length).toBeGreaterThanOrEqual(5);

      const ts = (i: number) => timeToMicros(all[i]!.time)!;
      const queries: AlertQuery[] = [
        {},
        { limit: 5 },
        { limit: 1 },
        { since: ts(10) },
        { until: ts(10) },
        { since: ts(10), until: ts(30) },
        { since: ts(10) + 1, until: ts(30) + 1 },
        { rules: ['pod-exec'] },
        { rules: ['pod-exec', 'rbac-change'], minSeverity: 'medium' },
        { rules: [] },
        { rules: ['no-such-rule'] },
        { minSeverity: 'critical', limit: 3 },
        { minSeverity: 'info', since: ts(5), limit: 7 },
        { since: ts(39) + 1 },
      ];
      for (const q of queries) {
        const expected = await duck.alerts.list(q);
        expect(await log.list(q), JSON.stringify(q)).toEqual(expected);
      }
      // Oldest first; a limit keeps the newest.
      expect((await log.list({ limit: 3 })).map((a) => a.id)).toEqual([
        'alert-036',
        'alert-038',
        'alert-039',
      ]);
      expect((await log.list({ since: ts(10), until: ts(12) })).map((a) => a.id)).toEqual([
        'alert-010',
        'alert-011',
      ]);
      expect(await log.list({ rules: ['pod-exec'], minSeverity: 'critical' })).toEqual(
        all.filter((a) => a.rule === 'pod-exec' && a.severity === 'critical'),
      );
      expect(await log.get('alert-017')).toEqual(all[17]);
      expect(await log.get('nope')).toBeUndefined();
    } finally {
      duck.close();
      await store.close();
    }
  });

  it('shows an alert saved twice once, before and after merges', async () => {
    const { store, log } = await openLog();
    try {
      const a = alert(1);
      const b = alert(2);
      await log.save([a, a, b]);
      await log.save([a]);
      await log.save([a, b]);
      const table = `${store.location.database}.kt_alerts`;
      // The copies are there, not merged yet: reads must skip them.
      const [rows] = await store.select<{ n: string }>(`SELECT count() AS n FROM ${table}`);
      expect(Number(rows!.n)).toBe(5);
      expect(await log.list()).toEqual([a, b]);
      expect(await log.list({ limit: 1 })).toEqual([b]);
      expect(await log.list({ rules: [a.rule] })).toEqual([a]);
      expect(await log.get(a.id)).toEqual(a);
      await store.command(`OPTIMIZE TABLE ${table} FINAL`);
      const [merged] = await store.select<{ n: string }>(`SELECT count() AS n FROM ${table}`);
      expect(Number(merged!.n)).toBe(2);
      expect(await log.list()).toEqual([a, b]);
    } finally {
      await store.close();
    }
  });

  it('keeps the first acknowledgement, and refuses unknown alerts and read-only handles', async () => {
    const { loc, store, log } = await openLog();
    try {
      await log.save([alert(1), alert(2), alert(3)]);
      expect(await log.acknowledge('alert-999', 'alice', 1000)).toBe(false);
      expect(await log.acks(['alert-001', 'alert-002'])).toEqual(new Map());
      expect(await log.acknowledge('alert-001', 'alice', Date.UTC(2024, 5, 1, 12))).toBe(true);
      expect(await log.acknowledge('alert-001', 'bob', Date.UTC(2024, 5, 1, 13))).toBe(true);
      expect(await log.acknowledge('alert-002', 'carol', Date.UTC(2024, 5, 2))).toBe(true);
      expect(await log.acks(['alert-001', 'alert-002', 'alert-003', 'alert-999'])).toEqual(
        new Map([
          ['alert-001', { at: '2024-06-01T12:00:00.000Z', by: 'alice' }],
          ['alert-002', { at: '2024-06-02T00:00:00.000Z', by: 'carol' }],
        ]),
      );
      // Two API servers racing past the check both write: the earliest acknowledgement is the one read.
      await store.command(
        `INSERT INTO ${store.location.database}.kt_alert_acks (alert_id, acked_at, acked_by) VALUES ('alert-002', ${Date.UTC(2024, 5, 1)}, 'dave')`,
      );
      expect((await log.acks(['alert-002'])).get('alert-002')).toEqual({
        at: '2024-06-01T00:00:00.000Z',
        by: 'dave',
      });
      // Many ids at once (several queries).
      const many = Array.from({ length: 1200 }, (_, i) => `x-${i}`);
      expect((await log.acks([...many, 'alert-001'])).size).toBe(1);

      const ro = await openClickHouseStore(loc, { readOnly: true });
      try {
        const roLog = ClickHouseAlertLog.forStore(ro);
        expect((await roLog.list()).length).toBe(3);
        await expect(roLog.acknowledge('alert-003', 'eve')).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
        await expect(roLog.save([alert(4)])).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
      } finally {
        await ro.close();
      }
    } finally {
      await store.close();
    }
  });

  it('keeps hostile strings exactly, in values and in filters', async () => {
    const { store, log } = await openLog();
    try {
      const hostile = [
        "'); DROP TABLE kt_alerts; --",
        "\\'",
        'back\\slash \\\\ \\n',
        'quote " and \' and `',
        'line\nbreak\r\ttab',
        'nul\u0000byte \u0001\u001f\u007f',
        'ünïcødé ✓ 😀 \u2028\u2029',
        '{"json": [1, 2]}',
        '%s %d $1 ?',
        '',
      ];
      const alerts = hostile.map((s, i) =>
        alert(i, {
          id: `h-${i}-${s}`,
          rule: `rule ${s}`,
          title: s,
          message: `msg ${s}`,
          cluster: s,
          auditIDs: [s, `${s}2`],
          references: [s],
          key: s,
        }),
      );
      await log.save(alerts);
      expect(await log.list()).toEqual(alerts);
      for (const a of alerts) {
        expect(await log.get(a.id)).toEqual(a);
        expect(await log.list({ rules: [a.rule] })).toEqual([a]);
        expect(await log.acknowledge(a.id, `user ${a.title}`, 1_700_000_000_000)).toBe(true);
      }
      const acks = await log.acks(alerts.map((a) => a.id));
      expect(alerts.map((a) => acks.get(a.id)?.by)).toEqual(alerts.map((a) => `user ${a.title}`));
      // The tables are still there.
      expect(await ClickHouseAlertLog.hasTables(store)).toBe(true);

      // Any well-formed string round-trips.
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'grapheme', maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 40 }),
          async (title, message) => {
            const a = alert(7, { id: `p-${title}-${message}`, title, message });
            await log.save([a]);
            expect(await log.get(a.id)).toEqual(a);
          },
        ),
        { numRuns: 30 },
      );

      // A lone surrogate (no API server emits one) is stored as U+FFFD instead of failing the insert.
      const lone = alert(8, { id: 'lone', title: 'a\uD800b', message: 'c\uDC00' });
      await log.save([lone]);
      expect(await log.get('lone')).toEqual({ ...lone, title: 'a\uFFFDb', message: 'c\uFFFD' });
      expect(await log.get('x\uD800')).toBeUndefined();
      expect(await log.acks(['x\uD800'])).toEqual(new Map());
    } finally {
      await store.close();
    }
  });

  it('is added by migration 2 to a database of schema 1', async () => {
    const loc = ch.location('kt_v1');
    const database = loc.slice(loc.lastIndexOf('/') + 1);
    // A database as kubetrail wrote it before alerts were kept in ClickHouse.
    const first = await openClickHouseStore(ch.location());
    try {
      await first.command(`CREATE DATABASE ${database}`);
      await first.command(
        `CREATE TABLE ${database}.kt_schema_migrations (version UInt32, description String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree() ORDER BY version`,
      );
      for (const s of MIGRATIONS[0]!.statements(database)) await first.command(s);
      await first.command(
        `INSERT INTO ${database}.kt_schema_migrations (version, description) VALUES (1, 'events table')`,
      );
    } finally {
      await first.close();
    }
    const reader = await openClickHouseStore(loc, { readOnly: true });
    try {
      expect(await ClickHouseAlertLog.hasTables(reader)).toBe(false);
      expect(await reader.alertLog({ existing: true })).toBeUndefined();
    } finally {
      await reader.close();
    }
    const writer = await openClickHouseStore(loc);
    try {
      expect(SCHEMA_VERSION).toBe(3);
      const v = await writer.select<{ v: number }>(
        `SELECT max(version) AS v FROM ${database}.kt_schema_migrations`,
      );
      expect(Number(v[0]!.v)).toBe(3);
      expect(await ClickHouseAlertLog.hasTables(writer)).toBe(true);
      // Idempotent: running the statements again changes nothing.
      for (const s of createAlertTablesSql(database)) await writer.command(s);
      const log = await writer.alertLog({ existing: true });
      expect(log).toBeInstanceOf(ClickHouseAlertLog);
      await (log as ClickHouseAlertLog).save([alert(1)]);
      expect(await log!.list()).toEqual([alert(1)]);
    } finally {
      await writer.close();
    }
  });
});
