// Detection on a real ClickHouse server: a local state file is needed and a read-only store refused,
// detection sessions deliver their alerts to ClickHouse through the local outbox (also when ClickHouse
// refuses them for a while, across a restart), and the CLI (`import --detect`, `detect --save`, `alerts`)
// works against a ClickHouse store.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/alert.js';
import type { AuditEvent } from '../../core/event.js';
import { openDetection } from '../../detect/session.js';
import { runCli } from '../../test-support/cli.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { makeEvent, rec } from '../../test-support/events.js';
import { createAlertTablesSql, ClickHouseAlertLog } from './alerts.js';
import { openClickHouseStore } from './store.js';

let ch: TestClickHouse;
let dir: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  dir = mkdtempSync(path.join(tmpdir(), 'kt-ch-detection-'));
});
afterAll(async () => {
  await ch?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An exec into a pod: the built-in rule pod-exec raises an alert for it. */
function execEvent(auditID: string, user = 'mallory'): AuditEvent {
  return makeEvent({
    auditID,
    verb: 'create',
    user: { username: user, groups: ['system:authenticated'] },
    objectRef: { resource: 'pods', subresource: 'exec', namespace: 'prod', name: 'web-1', apiVersion: 'v1' },
    requestURI: '/api/v1/namespaces/prod/pods/web-1/exec?command=sh&container=web&stdin=true&tty=true',
    responseStatus: { code: 101 },
  });
}

describe('detection on a ClickHouse store', () => {
  it('needs a local state file, and refuses a read-only store', async () => {
    const loc = ch.location();
    const store = await openClickHouseStore(loc);
    const ro = await openClickHouseStore(loc, { readOnly: true });
    try {
      await expect(openDetection(store)).rejects.toMatchObject({ code: 'KT_STORE_OPEN' });
      await expect(
        openDetection(ro, { stateFile: path.join(dir, 'ro', 'detect.duckdb') }),
      ).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
    } finally {
      await Promise.all([store.close(), ro.close()]);
    }
  });

  it('delivers alerts to ClickHouse through the local outbox, retrying across a restart', async () => {
    const loc = ch.location('kt_detect');
    const stateFile = path.join(dir, 'restart', 'detect.duckdb');
    const backoff = { baseMs: 20, maxMs: 50, maxAttempts: 2 };
    const store = await openClickHouseStore(loc);
    const log = ClickHouseAlertLog.forStore(store);
    const table = `${store.location.database}.kt_alerts`;
    try {
      // 1. ClickHouse accepts: the alert is there once the session finishes.
      let raised: number;
      {
        const s = await openDetection(store, { stateFile, backoff });
        await s.transform.apply([rec(execEvent('exec-1'), 'east')]);
        expect(await s.finish(5000)).toBe(0);
        raised = s.stored;
      }
      expect(raised).toBeGreaterThanOrEqual(1);
      expect(await log.list()).toHaveLength(raised);
      const first = await log.list({ rules: ['pod-exec'] });
      expect(first.map((a) => [a.rule, a.cluster, a.auditIDs])).toEqual([['pod-exec', 'east', ['exec-1']]]);

      // 2. ClickHouse refuses (the table is gone): the alert stays queued in the local outbox, past the
      // outputs' last attempt (the store target never gives up), and the process goes away.
      await store.command(`DROP TABLE ${table}`);
      {
        const s = await openDetection(store, { stateFile, backoff });
        await s.transform.apply([rec(execEvent('exec-2'), 'east')]);
        raised = s.stored;
        expect(raised).toBeGreaterThanOrEqual(1);
        // Waited for, not slept on: a loaded machine makes the attempts slower, never fewer.
        const deadline = Date.now() + 20_000;
        while (s.dispatcher.totals.failed <= backoff.maxAttempts * raised && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(s.dispatcher.totals.failed).toBeGreaterThan(backoff.maxAttempts * raised);
        expect(await s.alerts.outboxCounts()).toEqual({ pending: raised, failed: 0 });
        expect(await s.finish(100)).toBe(raised);
      }

      // 3. ClickHouse is back; the next run (nothing new raised) delivers what was owed.
      for (const sql of createAlertTablesSql(store.location.database)) await store.command(sql);
      expect(await log.list()).toEqual([]);
      {
        const s = await openDetection(store, { stateFile, backoff });
        expect(await s.finish(5000)).toBe(0);
        expect(s.stored).toBe(0);
      }
      const after = await log.list();
      expect(after).toHaveLength(raised);
      expect(after.every((a) => a.auditIDs.join() === 'exec-2')).toBe(true);
      expect(after.map((a) => a.rule)).toContain('pod-exec');
    } finally {
      await store.close();
    }
  });

  it('works from the CLI: import --detect, detect --save, alerts', async () => {
    const loc = ch.location('kt_cli');
    const work = mkdtempSync(path.join(dir, 'cli-'));
    const file = path.join(work, 'audit.jsonl');
    const events = [execEvent('cli-exec-1', 'eve'), makeEvent(), execEvent('cli-exec-2', "o'brien\\")];
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n'));
    const run = (args: string[]) => runCli(args, 160);
    const state = path.join(work, 'state', 'detect.duckdb');
    // The integrity files of a ClickHouse store default to ./data: kept in the test's own directory.
    const common = ['--db', loc];
    const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(path.join(work, 'signing.key'), signingKey, { mode: 0o600 });
    const integrityFiles = [
      '--signing-key',
      path.join(work, 'signing.key'),
      '--digests',
      path.join(work, 'digests.ndjson'),
    ];
    const imp = await run([
      'import',
      file,
      ...common,
      '--detect',
      '--state',
      state,
      '--quarantine',
      path.join(work, 'q.jsonl'),
      ...integrityFiles,
      '-o',
      'json',
    ]);
    expect(imp.err).toBe('');
    expect(imp.code).toBe(0);
    const detection = JSON.parse(imp.out).detection as { alerts: number; stored: number; pending: number };
    expect(detection.alerts).toBeGreaterThanOrEqual(2);
    expect(detection).toEqual({ alerts: detection.alerts, stored: detection.alerts, pending: 0 });

    const listed = await run(['alerts', ...common, '--since', '3000d', '-o', 'ndjson']);
    expect(listed.code).toBe(0);
    const alerts = listed.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Alert);
    expect(alerts).toHaveLength(detection.alerts);
    const execs = await run(['alerts', ...common, '--since', '3000d', '--rule', 'pod-exec', '-o', 'json']);
    const execAlerts = JSON.parse(execs.out) as Alert[];
    expect(execAlerts.map((a) => a.auditIDs)).toEqual([['cli-exec-1'], ['cli-exec-2']]);
    expect(execAlerts[1]!.message).toContain("o'brien\\");

    // Hunting over the stored events with another state file raises the same alerts: stored once.
    const saved = await run(['detect', ...common, '--save', '--state', path.join(work, 'other.duckdb')]);
    expect(saved.code).toBe(0);
    expect(saved.err).toContain(`saved ${detection.alerts} new alerts`);
    const again = await run(['alerts', ...common, '--since', '3000d', '-o', 'json']);
    expect((JSON.parse(again.out) as Alert[]).map((a) => a.id)).toEqual(alerts.map((a) => a.id));

    // Nothing is owed: --deliver has nothing to do.
    const deliver = await run(['alerts', ...common, '--deliver', '--state', state, '--timeout', '1s']);
    expect(deliver.code).toBe(0);
    expect(deliver.err).toBe('delivered 0; 0 still queued\n');
  });
});
