// Gap detection on a generated day of a cluster's trail (kubelets renewing node leases every 10 s, the
// control plane's leader election every 2 s, an operator's lease every 5 s, people working by day and
// almost nobody at night), stored in a real DuckDB file: no gap over the normal day, and every hole cut
// out of it found with its bounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { openDuckDBStore, type DuckDBStore } from '../store/duckdb/store.js';
import { findGaps } from './find.js';

const DAY = Date.UTC(2026, 2, 10); // a Tuesday, 00:00 UTC
const S = 1000;
const H = 3600 * S;

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seq = 0;
function ev(ms: number, user: string, verb: string, resource: string, ns: string, name: string): AuditEvent {
  const t = new Date(ms).toISOString().replace('Z', '000Z');
  seq++;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `00000000-0000-4000-8000-${seq.toString(16).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: `/apis/coordination.k8s.io/v1/namespaces/${ns}/${resource}/${name}`,
    verb,
    user: { username: user, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.11'],
    userAgent: 'kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46',
    objectRef: { resource, namespace: ns, name, apiGroup: 'coordination.k8s.io', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
  };
}

/** `hours` of one cluster's trail from midnight, oldest first; `hole(ms)` drops what falls in a hole. */
function trail(
  cluster: string,
  seed: number,
  hole: (ms: number) => boolean = () => false,
  hours = 24,
): EventRecord[] {
  const rnd = random(seed);
  const out: { ms: number; e: () => AuditEvent }[] = [];
  const periodic = (every: number, user: string, ns: string, name: string) => {
    for (let t = DAY + rnd() * every; t < DAY + hours * H; t += every + (rnd() - 0.5) * 400)
      out.push({
        ms: t,
        e: (
          (ms) => () =>
            ev(ms, user, 'update', 'leases', ns, name)
        )(t),
      });
  };
  for (const node of ['node-1', 'node-2', 'node-3'])
    periodic(10 * S, `system:node:${node}`, 'kube-node-lease', node);
  // One leader-election lease renewed every 2 s (kube-scheduler's would double the events, not the test).
  periodic(2 * S, 'system:kube-controller-manager', 'kube-system', 'kube-controller-manager');
  periodic(5 * S, 'system:serviceaccount:monitoring:operator', 'monitoring', 'prometheus-operator');
  // People: about 3 requests a minute from 08:00 to 18:00, one an hour at night, in bursts.
  for (let t = DAY; t < DAY + hours * H;) {
    const hour = new Date(t).getUTCHours();
    const perMs = hour >= 8 && hour < 18 ? 3 / 60_000 : 1 / H;
    t += -Math.log(1 - rnd()) / perMs;
    const burst = 1 + Math.floor(rnd() * 4);
    for (let b = 0; b < burst; b++)
      out.push({
        ms: t + b * 300,
        e: (
          (ms) => () =>
            ev(ms, 'alice@example.com', 'get', 'pods', 'team-a', 'web-1')
        )(t + b * 300),
      });
  }
  out.sort((a, b) => a.ms - b.ms);
  return out.filter((x) => x.ms < DAY + hours * H && !hole(x.ms)).map((x) => ({ cluster, event: x.e() }));
}

async function storeOf(dir: string, name: string, records: EventRecord[]): Promise<DuckDBStore> {
  const store = await openDuckDBStore(path.join(dir, `${name}.duckdb`));
  for (let i = 0; i < records.length; i += 20_000) await store.write(records.slice(i, i + 20_000));
  return store;
}

const at = (h: number, m: number, s = 0) => DAY + h * H + m * 60 * S + s * S;
const within = (ms: number, a: number, b: number) => ms >= a && ms < b;

describe('gaps in a stored day of trail', () => {
  let dir: string;
  let store: DuckDBStore;
  // steady has no hole. prod loses 4 min 20 s before noon (a webhook batch given up) and 2 min 40 s in
  // the afternoon; staging loses half an hour at night (its collector stopped), the same afternoon minutes,
  // and ends at 20:00 while the others go on.
  const holes = {
    prod: [
      [at(10, 3, 20), at(10, 7, 40)],
      [at(15, 0, 10), at(15, 2, 50)],
    ],
    staging: [
      [at(3, 0), at(3, 30)],
      [at(15, 0, 10), at(15, 2, 50)],
      [at(20, 0), at(24, 0)],
    ],
  } as const;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kt-gaps-'));
    store = await storeOf(dir, 'day', [
      ...trail('steady', 1),
      ...trail('prod', 2, (ms) => holes.prod.some(([a, b]) => within(ms, a, b))),
      ...trail('staging', 3, (ms) => holes.staging.some(([a, b]) => within(ms, a, b))),
    ]);
  }, 180_000);

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds no gap over a normal day, quiet night included, at any confidence', async () => {
    const report = await findGaps(store, { cluster: 'steady', minConfidence: 0 });
    expect(report.gaps).toEqual([]);
    expect(report.clusters.map((c) => c.cluster)).toEqual(['steady']);
    const streams = report.clusters[0]!.streams;
    expect(streams.find((s) => s.name === 'node-leases')!.perMinute).toBeGreaterThan(17);
    expect(streams.find((s) => s.name === 'leader-election')!.perMinute).toBeGreaterThan(29);
    expect(streams.find((s) => s.name === 'controller-heartbeats')!.perMinute).toBeGreaterThan(11);
  });

  it('finds every hole, with bounds within a bucket and the right confidence', async () => {
    const report = await findGaps(store, {});
    const got = report.gaps.map((g) => ({
      cluster: g.cluster,
      start: Date.parse(g.start),
      end: g.end ? Date.parse(g.end) : undefined,
      g,
    }));
    const expected = [
      ['prod', ...holes.prod[0]],
      ['prod', ...holes.prod[1]],
      ['staging', ...holes.staging[0]],
      ['staging', ...holes.staging[1]],
      ['staging', holes.staging[2][0], undefined],
    ] as const;
    expect(got.map((x) => [x.cluster, x.g.start.slice(11, 19)])).toHaveLength(expected.length);
    for (const [cluster, a, b] of expected) {
      const g = got.find((x) => x.cluster === cluster && Math.abs(x.start - a) < 60 * S);
      expect(g, `${cluster} ${new Date(a).toISOString()}`).toBeDefined();
      // The bounds are the events around the hole: the start at most one renewal before it.
      expect(g!.start).toBeLessThanOrEqual(a);
      expect(a - g!.start).toBeLessThan(3 * S);
      expect(g!.g.silent).toEqual(expect.arrayContaining(['leader-election', 'all-events']));
      expect(g!.g.goingOn).toEqual([]);
      expect(g!.g.allClusters).toBe(false); // steady went on
      if (b === undefined) {
        expect(g!.g.open).toBe(true);
        expect(g!.end).toBeUndefined();
        expect(g!.g.level).toBe('high');
      } else {
        expect(g!.end).toBeGreaterThanOrEqual(b);
        expect(g!.end! - b).toBeLessThan(3 * S);
        expect(g!.g.exact).toBe(true);
        expect(g!.g.level).toBe('high');
      }
    }
    // Long enough for every heartbeat to have been due.
    expect(got[0]!.g.silent).toEqual([
      'node-leases',
      'leader-election',
      'controller-heartbeats',
      'all-events',
    ]);
  });

  it('keeps to the cluster and range asked for', async () => {
    const report = await findGaps(store, {
      cluster: 'staging',
      since: at(2, 0) * 1000,
      until: at(12, 0) * 1000,
    });
    expect(report.gaps.map((g) => [g.cluster, g.start.slice(11, 16)])).toEqual([['staging', '02:59']]);
  });
});

describe('gaps', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kt-gaps-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says when every cluster fell silent together', async () => {
    const hole = (ms: number) => within(ms, at(1, 0), at(1, 10));
    const store = await storeOf(dir, 'two', [...trail('a', 4, hole, 2), ...trail('b', 5, hole, 2)]);
    try {
      const report = await findGaps(store);
      const gaps = report.gaps.map((g) => [g.cluster, g.allClusters, g.level]).sort();
      expect(gaps).toEqual([
        ['a', true, 'high'],
        ['b', true, 'high'],
      ]);
    } finally {
      await store.close();
    }
  });

  it('finds a hole in a cluster whose policy drops leases from the overall rate alone, not the night', async () => {
    const people = trail('bare', 3).filter((r) => r.event.objectRef?.resource !== 'leases');
    // People only, about 7 a minute by day and a few an hour at night: a 40-minute hole at 11:00 stands
    // out, the night does not.
    const store = await storeOf(
      dir,
      'bare',
      people.filter((r) => !within(Date.parse(r.event.stageTimestamp), at(11, 0), at(11, 40))),
    );
    try {
      const report = await findGaps(store, { minConfidence: 0 });
      expect(report.gaps.map((g) => [g.start.slice(11, 13), g.silent, g.level])).toEqual([
        ['10', ['all-events'], 'medium'],
      ]);
    } finally {
      await store.close();
    }
  });
});
