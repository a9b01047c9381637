// The tamper-evidence suite every store back end passes: over random trials, batches are written (with
// duplicates, batches sent again, restarts that close and reopen the store, a retention prune and events
// that arrive late, before the prune's cutoff), the store verifies clean; then it is changed behind
// kubetrail's back (one field of one event updated, events deleted, a forged event inserted, a whole day
// dropped, two digest records swapped, the digest file cut short) and verification must name every
// change and nothing else. Each back end gives a way to open its store and to tamper with it.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord, Stage } from '../core/event.js';
import { timeToMicros } from '../core/time.js';
import { IntegrityKeeper } from '../integrity/keeper.js';
import { keyFileSigner } from '../integrity/signer.js';
import type { IntegrityFinding } from '../integrity/types.js';
import { verifyStore } from '../integrity/verify.js';
import type { Store } from '../store/store.js';
import { rec } from './events.js';

/** One stored event, by what identifies it in these trials. */
export interface EventKey {
  cluster: string;
  auditID: string;
  stage: string;
}

export type EventChange =
  { column: 'verb' | 'username' | 'event'; value: string } | { column: 'code'; value: number };

/** One change made behind kubetrail's back. */
export type TamperOp =
  | { op: 'update'; key: EventKey; change: EventChange }
  | { op: 'delete'; key: EventKey }
  /** Stores a copy of an event under another auditID, as if it had been received. */
  | { op: 'insertCopy'; of: EventKey; auditID: string }
  /** Deletes every event with since <= time < until (epoch µs). */
  | { op: 'deleteRange'; since: number; until: number }
  /** Swaps the stored contents of two digest records of a chain. */
  | { op: 'swapRecords'; writer: string; a: number; b: number };

/**
 * Changes a closed store with the back end's own SQL, as someone with write access to it could: the
 * operations in order, in one session.
 */
export type Tamper = (ops: readonly TamperOp[]) => Promise<void>;

/** One empty store for one trial. */
export interface IntegrityTarget {
  open(opts?: { readOnly?: boolean }): Promise<Store>;
  tamper: Tamper;
  dispose(): Promise<void>;
}

const DAY_US = 86_400_000_000;
const T0 = Date.UTC(2024, 4, 1) * 1000;
const STAGES = ['RequestReceived', 'ResponseComplete'] as const;

const iso = (us: number) =>
  `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;

function event(i: number, stage: Stage, ts: number, trial: number): EventRecord {
  const e: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `t${trial}-a${i}`,
    stage,
    requestURI: `/api/v1/namespaces/ns-${i % 3}/pods/p-${i}`,
    verb: ['get', 'list', 'create', 'delete'][i % 4]!,
    user: { username: `user-${i % 5}`, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.1'],
    objectRef: { resource: 'pods', namespace: `ns-${i % 3}`, name: `p-${i}`, apiVersion: 'v1' },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: iso(ts),
    stageTimestamp: iso(ts),
  };
  return rec(e, i % 2 ? 'east' : 'west');
}

const keyOf = (r: EventRecord): EventKey => ({
  cluster: r.cluster,
  auditID: r.event.auditID,
  stage: r.event.stage,
});
const tsOf = (r: EventRecord): number => timeToMicros(r.event.stageTimestamp)!;

/** What one trial does, drawn by fast-check. */
interface Plan {
  events: number;
  batch: number;
  resend: boolean[];
  restartAfter: number[];
  prune: boolean;
  late: number;
  tamper: {
    update: boolean;
    column: EventChange['column'];
    delete: number;
    insert: boolean;
    dropDay: boolean;
    swap: boolean;
    truncate: boolean;
    cutLines: boolean;
  };
  pick: number[];
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  events: fc.integer({ min: 12, max: 32 }),
  batch: fc.integer({ min: 8, max: 24 }),
  resend: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  restartAfter: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 1 }),
  prune: fc.boolean(),
  late: fc.integer({ min: 0, max: 3 }),
  tamper: fc.record({
    update: fc.boolean(),
    column: fc.constantFrom('verb', 'username', 'event', 'code'),
    delete: fc.integer({ min: 0, max: 3 }),
    insert: fc.boolean(),
    dropDay: fc.boolean(),
    swap: fc.boolean(),
    truncate: fc.boolean(),
    cutLines: fc.boolean(),
  }),
  pick: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
});

function newKey(dir: string): { file: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const file = path.join(dir, 'signing.key');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { file, publicKey };
}

const summary = (fs: readonly IntegrityFinding[]) =>
  fs
    .filter((f) => f.kind !== 'chain')
    .map((f) => `${f.kind} ${f.auditID}`)
    .sort();

let trialNo = 0;

async function trial(makeTarget: () => Promise<IntegrityTarget>, plan: Plan): Promise<void> {
  const n = ++trialNo;
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-integrity-'));
  const target = await makeTarget();
  try {
    const key = newKey(dir);
    const digestsFile = path.join(dir, 'digests.ndjson');
    const keeperOpts = { signer: keyFileSigner(key.file), digestsFile };
    // Events over three days; every second one with both stages.
    const records: EventRecord[] = [];
    for (let i = 0; i < plan.events; i++) {
      const ts = T0 + Math.floor((i / plan.events) * 3 * DAY_US) + i;
      records.push(event(i, STAGES[1], ts, n));
      if (i % 2 === 0) records.push(event(i, STAGES[0], ts - 1000, n));
    }
    let store = await target.open();
    let keeper = await IntegrityKeeper.open(store, keeperOpts);
    const restart = async () => {
      await keeper.close();
      await store.close();
      store = await target.open();
      keeper = await IntegrityKeeper.open(store, keeperOpts);
    };
    let b = 0;
    for (let i = 0; i < records.length; i += plan.batch, b++) {
      const batch = records.slice(i, i + plan.batch);
      // A duplicate inside the batch, and sometimes the whole batch sent again.
      await store.write([...batch, batch[0]!]);
      if (plan.resend[b % 8]) await store.write(batch);
      if (plan.restartAfter.includes(b % 8)) await restart();
    }
    const stored = new Map(records.map((r) => [`${r.cluster}\0${r.event.auditID}\0${r.event.stage}`, r]));
    if (plan.prune) {
      // Retention removes the first day; events of that day that arrive afterwards are kept.
      const cutoff = T0 + DAY_US;
      await store.deleteBefore(cutoff);
      for (const [k, r] of stored) if (tsOf(r) < cutoff) stored.delete(k);
      const late = Array.from({ length: plan.late }, (_, j) => event(1000 + j, STAGES[1], T0 + 5000 + j, n));
      await store.write(late);
      for (const r of late) stored.set(`${r.cluster}\0${r.event.auditID}\0${r.event.stage}`, r);
    }
    const writer = (await store.integrity()).writer;
    const head = await (await store.integrity()).head();
    await keeper.close();
    await store.close();

    const verify = async () => {
      const s = await target.open({ readOnly: true });
      try {
        const report = await verifyStore(s, { publicKey: key.publicKey, digestsFile });
        // In windows of a few events each, a verification finds exactly the same.
        const windowed = await verifyStore(s, {
          publicKey: key.publicKey,
          digestsFile,
          windowEvents: 1 + (n % 5),
        });
        expect(windowed).toEqual(report);
        return report;
      } finally {
        await s.close();
      }
    };
    const clean = await verify();
    expect(clean.findings).toEqual([]);
    expect(clean.verified.events).toBe(stored.size);

    // Tampering, each on events of its own.
    const live = [...stored.values()].sort((a, b2) => tsOf(a) - tsOf(b2));
    const used = new Set<string>();
    const take = (k: number): EventRecord | undefined => {
      const free = live.filter((r) => !used.has(`${r.cluster}\0${r.event.auditID}\0${r.event.stage}`));
      const r = free[k % Math.max(1, free.length)];
      if (r) used.add(`${r.cluster}\0${r.event.auditID}\0${r.event.stage}`);
      return r;
    };
    const want: string[] = [];
    const ops: TamperOp[] = [];
    let chain = false;
    const t = plan.tamper;
    if (t.dropDay) {
      // The last day: every event of it is deleted.
      const since = T0 + 2 * DAY_US;
      for (const r of live) {
        if (tsOf(r) >= since) {
          used.add(`${r.cluster}\0${r.event.auditID}\0${r.event.stage}`);
          want.push(`deleted ${r.event.auditID}`);
        }
      }
      ops.push({ op: 'deleteRange', since, until: T0 + 3 * DAY_US });
    }
    if (t.update) {
      const r = take(plan.pick[0]!);
      if (r) {
        const change: EventChange =
          t.column === 'code'
            ? { column: 'code', value: 599 }
            : t.column === 'event'
              ? { column: 'event', value: JSON.stringify({ ...r.event, verb: 'tampered' }) }
              : { column: t.column, value: 'tampered' };
        ops.push({ op: 'update', key: keyOf(r), change });
        want.push(`modified ${r.event.auditID}`);
      }
    }
    for (let j = 0; j < t.delete; j++) {
      const r = take(plan.pick[1 + j]!);
      if (r) {
        ops.push({ op: 'delete', key: keyOf(r) });
        want.push(`deleted ${r.event.auditID}`);
      }
    }
    if (t.insert) {
      const r = take(plan.pick[5]!);
      if (r) {
        used.delete(`${r.cluster}\0${r.event.auditID}\0${r.event.stage}`);
        ops.push({ op: 'insertCopy', of: keyOf(r), auditID: `forged-${n}` });
        want.push(`inserted forged-${n}`);
      }
    }
    if (t.swap && head && head.seq >= 2) {
      const a = 1 + (plan.pick[6]! % head.seq);
      const c = 1 + ((a + (plan.pick[7]! % (head.seq - 1))) % head.seq);
      ops.push({ op: 'swapRecords', writer, a, b: c });
      chain = true;
    }
    if (ops.length > 0) await target.tamper(ops);
    if (t.truncate) {
      // Whole lines dropped from the end, or a cut in the middle of one.
      const text = readFileSync(digestsFile);
      const ends = [...text.entries()].filter(([, c]) => c === 0x0a).map(([i]) => i + 1);
      truncateSync(
        digestsFile,
        t.cutLines ? [0, ...ends][plan.pick[7]! % ends.length]! : (plan.pick[7]! * 7919) % text.length,
      );
      chain = true;
    }
    const after = await verify();
    expect(summary(after.findings)).toEqual(want.sort());
    expect(after.findings.some((f) => f.kind === 'chain')).toBe(chain);
    for (const f of after.findings) {
      if (f.kind === 'chain') expect(f.auditID).toBeUndefined();
      else expect(f.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
  } finally {
    await target.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the suite against one back end. `makeTarget` gives an empty store for each trial; `runs` is the
 * number of random trials.
 */
export function runIntegrityConformance(
  name: string,
  makeTarget: () => Promise<IntegrityTarget>,
  opts: { runs?: number; timeoutMs?: number } = {},
): void {
  describe(`Tamper evidence: ${name}`, () => {
    it(
      'verifies an untouched store clean, and names every change made behind its back and nothing else',
      async () => {
        await fc.assert(
          fc.asyncProperty(planArb, (plan) => trial(makeTarget, plan)),
          { numRuns: opts.runs ?? 12, endOnFailure: true },
        );
      },
      opts.timeoutMs ?? 60_000,
    );
  });
}
