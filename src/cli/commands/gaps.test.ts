// `kubetrail gaps` in process on a DuckDB file holding two hours of lease renewals with a 20-minute
// hole: the hole is listed (exit 1), a range without it has none (exit 0), bad options are usage errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/event.js';
import { openDuckDBStore } from '../../store/duckdb/store.js';
import { makeEvent } from '../../test-support/events.js';
import { runCli } from '../../test-support/cli.js';

const START = Date.UTC(2026, 2, 10, 8);
const HOLE = [START + 40 * 60_000, START + 60 * 60_000];
const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-gaps-'));
const db = path.join(dir, 'trail.duckdb');

function lease(ms: number, ns: string, name: string): EventRecord {
  const t = new Date(ms).toISOString().replace('Z', '000Z');
  return {
    cluster: 'prod',
    event: makeEvent({
      verb: 'update',
      objectRef: {
        resource: 'leases',
        namespace: ns,
        name,
        apiGroup: 'coordination.k8s.io',
        apiVersion: 'v1',
      },
      requestReceivedTimestamp: t,
      stageTimestamp: t,
    }),
  };
}

beforeAll(async () => {
  const records: EventRecord[] = [];
  for (let t = START; t < START + 2 * 3_600_000; t += 2000) {
    if (t >= HOLE[0]! && t < HOLE[1]!) continue;
    records.push(lease(t, 'kube-system', 'kube-controller-manager'));
    if (t % 10_000 === 0) records.push(lease(t + 500, 'kube-node-lease', 'node-1'));
  }
  const store = await openDuckDBStore(db);
  await store.write(records);
  await store.close();
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubetrail gaps', () => {
  it('lists the hole with its bounds and exits 1', async () => {
    const r = await runCli(['gaps', '--db', db]);
    expect(r.code, r.err).toBe(1);
    const [header, row] = r.out.trim().split('\n');
    expect(header).toMatch(/^CLUSTER +START +END +LENGTH +CONFIDENCE +SILENT/);
    expect(row).toMatch(
      /^prod +2026-03-10 08:39:58 +2026-03-10 09:00:00 +20m02s +high 0\.95 +node-leases,leader-election,all-events/,
    );
    expect(r.err).toMatch(
      /prod: [\d,]+ events; node-leases 6\/min, leader-election 30\/min, all-events 36\/min/,
    );
    expect(r.err).toMatch(/1 gap from/);
    const json = JSON.parse((await runCli(['gaps', '--db', db, '-o', 'json'])).out) as {
      gaps: { start: string; end: string }[];
    };
    expect(json.gaps.map((g) => [g.start, g.end])).toEqual([
      ['2026-03-10T08:39:58.000000Z', '2026-03-10T09:00:00.000000Z'],
    ]);
  });

  it('finds nothing where the trail is whole, and exits 0', async () => {
    const r = await runCli([
      'gaps',
      '--db',
      db,
      '--since',
      '2026-03-10T09:05:00Z',
      '--until',
      '2026-03-10T10:00:00Z',
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/no gap from 2026-03-10 09:05:00 to 2026-03-10 10:00:00/);
    expect((await runCli(['gaps', '--db', db, '--cluster', 'staging'])).err).toMatch(
      /no stored events in the range/,
    );
  });

  it('refuses bad options with exit 2', async () => {
    expect((await runCli(['gaps', '--db', db, '--bucket', '500ms'])).code).toBe(2);
    expect((await runCli(['gaps', '--db', db, '--min-confidence', 'sure'])).code).toBe(2);
    expect((await runCli(['gaps', '--db', db, '-o', 'yaml'])).code).toBe(2);
  });
});
