// Verification of a store against its digests. The chain of each writer is recomputed record by record
// (a record missing, out of place or altered breaks it), every signature is checked with the public key,
// and the digest file, when given, must hold the same records. Then the stored rows of the range, hashed
// as their back end hashes them, are compared as a multiset with the entries the signed batch records
// name, one time window at a time (timeWindows, so that memory does not grow with the store): exact
// matches are fine; what is left is paired by (cluster, auditID, stage) into `modified`, and the rest is
// `deleted` (signed, gone) or `inserted` (stored, never signed). Entries of events a later prune record
// removed (before its cutoff), and of records a later rekey record replaced (made before the key
// rotation began), are not expected.
import type { KeyObject } from 'node:crypto';
import { microsToTime } from '../core/time.js';
import {
  chainOf,
  entriesHash,
  GENESIS,
  signMessage,
  type DigestEntry,
  type DigestRecord,
  type PruneBody,
  type RekeyBody,
  type RecordPlace,
} from '../store/integrity.js';
import type { Store } from '../store/store.js';
import { fingerprint } from '../bundle/keys.js';
import { entriesKey, readDigestFile, type DigestFileContents } from './digest-file.js';
import { verifySignature } from './signer.js';
import type { IntegrityFinding, VerifyReport } from './types.js';

export interface VerifyOptions {
  /** Epoch µs; `until` exclusive. */
  since?: number;
  until?: number;
  /** Checks every signature with this key; without it signatures are not checked. */
  publicKey?: KeyObject;
  /** A copy of the digest file, the reference for the records it holds. */
  digestsFile?: string;
  /** About how many signed events are held in memory at once (WINDOW_EVENTS). */
  windowEvents?: number;
  /**
   * For a store in use: the last record its writer had committed when it signed for this verification
   * (IntegrityKeeper.signNow). That writer's later records are newer than the verification and are not
   * reported unsigned, whenever their write began: the writer signs them with its next signature, and
   * the next verification checks that.
   */
  signedThrough?: SignedThrough;
}

/** A writer's chain, signed up to and including `seq`. */
export interface SignedThrough {
  writer: string;
  seq: number;
}

/**
 * Signed events compared per time window: a window's entries are held in memory (a few hundred bytes
 * each), so this bounds a verification's memory whatever the size of the store.
 */
export const WINDOW_EVENTS = 100_000;

type Prune = PruneBody & RecordPlace;
type Rekey = RekeyBody & RecordPlace;

const chainFinding = (detail: string): IntegrityFinding => ({ kind: 'chain', detail });

function span(a: number, b: number): string {
  return a === b ? `record ${a}` : `records ${a}-${b}`;
}

/** Groups records by writer, keeping their order. */
function byWriter(records: Iterable<DigestRecord>): Map<string, DigestRecord[]> {
  const out = new Map<string, DigestRecord[]>();
  for (const r of records) {
    const list = out.get(r.writer);
    if (list) list.push(r);
    else out.set(r.writer, [r]);
  }
  return out;
}

/** Recomputes one writer's chain in the order given; each break is a finding. */
function checkChain(writer: string, records: readonly DigestRecord[], where: string): IntegrityFinding[] {
  const findings: IntegrityFinding[] = [];
  let expect = 1;
  let prev = GENESIS;
  for (const r of records) {
    if (r.seq > expect)
      findings.push(chainFinding(`${where}: chain ${writer}: ${span(expect, r.seq - 1)} missing`));
    else if (r.seq < expect)
      findings.push(
        chainFinding(`${where}: chain ${writer}: record ${r.seq} out of place (after record ${expect - 1})`),
      );
    if (chainOf(prev, r) !== r.chain)
      findings.push(
        chainFinding(
          `${where}: chain ${writer}: record ${r.seq} does not follow from the record before it (altered, or moved)`,
        ),
      );
    prev = r.chain;
    expect = r.seq + 1;
  }
  return findings;
}

/**
 * Checks the sign records of one writer's chain; returns the highest seq a valid signature covers and
 * the findings.
 */
function checkSignatures(
  writer: string,
  records: readonly DigestRecord[],
  key: KeyObject | undefined,
  /** Records too recent to be signed yet (VerifyOptions.signedThrough). */
  recent?: (r: DigestRecord) => boolean,
): { covered: number; findings: IntegrityFinding[] } {
  const findings: IntegrityFinding[] = [];
  const chainAt = new Map(records.map((r) => [r.seq, r.chain]));
  const keyId = key ? fingerprint(key) : undefined;
  let covered = 0;
  for (const r of records) {
    if (r.kind !== 'sign') continue;
    const what = `chain ${writer}: signature record ${r.seq}`;
    if (chainAt.get(r.signedSeq) !== r.signedChain) {
      findings.push(chainFinding(`${what} signs record ${r.signedSeq} as it no longer is`));
      continue;
    }
    if (key) {
      if (r.keyId !== keyId) {
        findings.push(
          chainFinding(`${what} is made with key ${r.keyId}, not the public key given (${keyId})`),
        );
        continue;
      }
      const message = Buffer.from(signMessage(writer, r.signedSeq, r.signedChain, r.signedAt));
      if (!verifySignature(message, Buffer.from(r.signature, 'base64'), key)) {
        findings.push(chainFinding(`${what}: the signature does not verify`));
        continue;
      }
    }
    covered = Math.max(covered, r.signedSeq);
  }
  const unsigned = records.filter((r) => r.seq > covered && r.kind !== 'sign' && !recent?.(r));
  if (unsigned.length > 0)
    findings.push(
      chainFinding(
        `chain ${writer}: ${span(unsigned[0]!.seq, unsigned[unsigned.length - 1]!.seq)} not signed (the writer stopped without closing, or they were added behind its back)`,
      ),
    );
  return { covered, findings };
}

/**
 * Compares the store's records of a writer with the digest file's. A record too recent for the
 * verification (`recent`) may be in one and not yet in the other: the file is read after the store.
 */
function compareWithFile(
  writer: string,
  stored: readonly DigestRecord[],
  filed: readonly DigestRecord[],
  file: string,
  recent?: (r: DigestRecord) => boolean,
): IntegrityFinding[] {
  const findings: IntegrityFinding[] = [];
  const inStore = new Map(stored.map((r) => [r.seq, r]));
  const inFile = new Map(filed.map((r) => [r.seq, r]));
  const differ: number[] = [];
  const storeLacks: number[] = [];
  for (const r of filed) {
    const s = inStore.get(r.seq);
    if (!s) {
      if (!recent?.(r)) storeLacks.push(r.seq);
    } else if (s.chain !== r.chain) differ.push(r.seq);
  }
  const fileLacks = stored.filter((r) => !inFile.has(r.seq) && !recent?.(r)).map((r) => r.seq);
  const runs = (seqs: number[]) => {
    const out: string[] = [];
    for (let i = 0; i < seqs.length;) {
      let j = i;
      while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
      out.push(span(seqs[i]!, seqs[j]!));
      i = j + 1;
    }
    return out.join(', ');
  };
  if (differ.length > 0)
    findings.push(chainFinding(`chain ${writer}: ${runs(differ)} differ between the store and ${file}`));
  if (storeLacks.length > 0)
    findings.push(chainFinding(`chain ${writer}: ${runs(storeLacks)} of ${file} missing from the store`));
  if (fileLacks.length > 0)
    findings.push(
      chainFinding(`chain ${writer}: ${runs(fileLacks)} missing from ${file} (cut short, or not copied yet)`),
    );
  return findings;
}

/** Whether a prune record removes this entry of this record (before its cutoff, made after the record). */
function pruned(prunes: readonly Prune[], r: RecordPlace, ts: number): boolean {
  return prunes.some((p) => p.before > ts && (p.writer === r.writer ? p.seq > r.seq : p.at >= r.at));
}

/** Whether a key rotation replaced the rows of this record: made before the rotation began, and before its rekey record. */
function replaced(rekeys: readonly Rekey[], r: RecordPlace): boolean {
  return rekeys.some((k) => r.at < k.startedAt && (k.writer === r.writer ? k.seq > r.seq : k.at >= r.at));
}

const identity = (e: DigestEntry): string => `${e.cluster}\0${e.auditID}\0${e.stage}`;

const inRange = (ts: number, since?: number, until?: number): boolean =>
  (since === undefined || ts >= since) && (until === undefined || ts < until);

function eventFinding(
  kind: 'modified' | 'deleted' | 'inserted',
  e: DigestEntry,
  detail: string,
): IntegrityFinding {
  return { kind, auditID: e.auditID, time: microsToTime(e.ts), detail };
}

/**
 * Verifies the store's events of a time range (epoch µs, `until` exclusive) against its digests. The
 * chain's last records are unsigned while a writer runs: sign them first (IntegrityKeeper.signNow) when
 * verifying a store in use.
 */
export async function verifyStore(store: Store, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const integrity = await store.integrity();
  const findings: IntegrityFinding[] = [];
  const stored: DigestRecord[] = [];
  for await (const r of integrity.records()) stored.push(r);
  const through = opts.signedThrough;
  const recent = through
    ? (r: DigestRecord) => r.writer === through.writer && r.seq > through.seq
    : undefined;
  const storeChains = byWriter(stored);
  for (const [w, list] of storeChains) {
    findings.push(...checkChain(w, list, 'store'));
    findings.push(...checkSignatures(w, list, opts.publicKey, recent).findings);
  }

  // The digest file, when given, is the reference for the records it holds (and their entries).
  let file: DigestFileContents | undefined;
  const reference = new Map<string, DigestRecord[]>(storeChains);
  if (opts.digestsFile) {
    file = readDigestFile(opts.digestsFile);
    for (const b of file.bad)
      findings.push(chainFinding(`${opts.digestsFile}: line ${b.line} is ${b.reason}`));
    const fileChains = byWriter(file.records);
    // A file holding nothing is compared with every chain of the store.
    const writers = fileChains.size > 0 ? [...fileChains.keys()] : [...storeChains.keys()];
    for (const w of writers) {
      const filed = fileChains.get(w) ?? [];
      findings.push(...checkChain(w, filed, opts.digestsFile));
      findings.push(...compareWithFile(w, storeChains.get(w) ?? [], filed, opts.digestsFile, recent));
      // The file's records, then those of the store after them.
      const last = filed.length > 0 ? filed[filed.length - 1]!.seq : 0;
      reference.set(w, [...filed, ...(storeChains.get(w) ?? []).filter((r) => r.seq > last)]);
    }
  }

  const all = [...reference.values()].flat();
  const check: EventCheck = {
    integrity,
    file,
    stored,
    prunes: all.filter((r): r is DigestRecord & Prune => r.kind === 'prune'),
    rekeys: all.filter((r): r is DigestRecord & Rekey => r.kind === 'rekey'),
    findings,
    entriesChecked: new Set(),
  };
  const batches = all.filter((r) => meets(r, opts.since, opts.until));
  let events = 0;
  let first = Number.POSITIVE_INFINITY;
  let lastTs = Number.NEGATIVE_INFINITY;
  const eventFindings: IntegrityFinding[] = [];
  for (const [since, until] of timeWindows(
    batches,
    opts.since,
    opts.until,
    opts.windowEvents ?? WINDOW_EVENTS,
  )) {
    const part = await checkEvents(
      check,
      batches.filter((r) => meets(r, since, until)),
      since,
      until,
    );
    events += part.events;
    first = Math.min(first, part.first);
    lastTs = Math.max(lastTs, part.last);
    eventFindings.push(...part.findings);
  }
  eventFindings.sort(
    (a, b) =>
      (a.time! < b.time! ? -1 : a.time! > b.time! ? 1 : 0) ||
      (a.auditID! < b.auditID! ? -1 : a.auditID! > b.auditID! ? 1 : 0) ||
      (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0),
  );
  return {
    verified: {
      events,
      ...(events > 0 ? { from: microsToTime(first), to: microsToTime(lastTs) } : {}),
    },
    findings: [...findings, ...eventFindings],
  };
}

/** Whether a record is a batch whose events may lie in the range. */
const meets = (r: DigestRecord, since: number | undefined, until: number | undefined): boolean =>
  r.kind === 'batch' && (until === undefined || r.from < until) && (since === undefined || r.to >= since);

/**
 * Splits the range into consecutive time windows holding about `size` signed events each (by the batch
 * records' counts and ends), so that a verification holds one window's entries at a time, whatever the
 * size of the store. Each event and each stored row lies in exactly one window.
 */
export function timeWindows(
  batches: readonly DigestRecord[],
  since: number | undefined,
  until: number | undefined,
  size: number,
): [number | undefined, number | undefined][] {
  const ends = batches
    .filter((r): r is DigestRecord & { kind: 'batch' } => r.kind === 'batch')
    .map((r) => ({ to: r.to, count: r.count }))
    .sort((a, b) => a.to - b.to);
  const bounds: number[] = [];
  let held = 0;
  for (const [i, e] of ends.entries()) {
    held += e.count;
    if (held < size || i === ends.length - 1) continue;
    const bound = e.to + 1;
    const after = bounds.length > 0 ? bounds[bounds.length - 1]! : since;
    if ((after === undefined || bound > after) && (until === undefined || bound < until)) bounds.push(bound);
    held = 0;
  }
  const starts = [since, ...bounds];
  return starts.map((a, i) => [a, i < bounds.length ? bounds[i] : until]);
}

/** What the event check of every window shares. */
interface EventCheck {
  integrity: Awaited<ReturnType<Store['integrity']>>;
  file: DigestFileContents | undefined;
  /** The store's records as read at the start. */
  stored: readonly DigestRecord[];
  prunes: readonly Prune[];
  rekeys: readonly Rekey[];
  /** Findings about records (their entries), each told once whatever the windows. */
  findings: IntegrityFinding[];
  /** Records whose entries were checked against their digest already. */
  entriesChecked: Set<string>;
}

/**
 * The stored rows of one window (epoch µs, `until` exclusive) against the entries of the batch records
 * that meet it: exact matches are fine; the rest are the window's event findings.
 */
async function checkEvents(
  check: EventCheck,
  batches: readonly DigestRecord[],
  since: number | undefined,
  until: number | undefined,
): Promise<{ events: number; first: number; last: number; findings: IntegrityFinding[] }> {
  const { integrity, file, stored, prunes, rekeys, findings } = check;
  // Entries of the batch records that meet the range: the file's where it has them, else the store's.
  const storeEntries = new Map<string, DigestEntry[]>();
  const needStore = batches.some((r) => !file?.entries.has(entriesKey(r.writer, r.seq)));
  if (needStore) {
    for await (const g of integrity.entries({
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
    }))
      storeEntries.set(entriesKey(g.writer, g.seq), g.entries);
  }
  /** Expected entries by hash. */
  const expected = new Map<string, { e: DigestEntry; r: DigestRecord }[]>();
  for (const r of batches) {
    if (r.kind !== 'batch') continue;
    // A record whose every event a later prune removed: its entries are gone with them.
    if (pruned(prunes, r, r.to) || replaced(rekeys, r)) continue;
    const key = entriesKey(r.writer, r.seq);
    const entries = file?.entries.get(key) ?? storeEntries.get(key) ?? [];
    // A record that meets several windows is checked against its digest in the first.
    if (!check.entriesChecked.has(key)) {
      check.entriesChecked.add(key);
      if (entriesHash(entries) !== r.entriesHash || entries.length !== r.count)
        findings.push(
          chainFinding(
            `chain ${r.writer}: the entries of record ${r.seq} do not match its digest (entries altered, added or removed)`,
          ),
        );
    }
    for (const e of entries) {
      if (!inRange(e.ts, since, until) || pruned(prunes, r, e.ts)) continue;
      const list = expected.get(e.hash);
      if (list) list.push({ e, r });
      else expected.set(e.hash, [{ e, r }]);
    }
  }

  // The stored rows of the range against the expected entries.
  let events = 0;
  let first = Number.POSITIVE_INFINITY;
  let lastTs = Number.NEGATIVE_INFINITY;
  const extra: DigestEntry[] = [];
  for await (const piece of integrity.scan({
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  })) {
    for (const s of piece) {
      events++;
      if (s.ts < first) first = s.ts;
      if (s.ts > lastTs) lastTs = s.ts;
      const hash = expected.has(s.hash) || s.legacyHash === undefined ? s.hash : s.legacyHash;
      const list = expected.get(hash);
      if (list && list.length > 0) {
        list.pop();
        if (list.length === 0) expected.delete(hash);
      } else extra.push(s);
    }
  }
  // A store in use goes on being written while it is verified: rows stored after the records were read
  // are named by records appended since. Those rows are not findings (the next verification checks them).
  if (extra.length > 0) {
    const seen = new Set(stored.map((r) => entriesKey(r.writer, r.seq)));
    const later = new Set<string>();
    for await (const r of integrity.records())
      if (r.kind === 'batch' && !seen.has(entriesKey(r.writer, r.seq)))
        later.add(entriesKey(r.writer, r.seq));
    if (later.size > 0) {
      const named = new Map<string, number>();
      for await (const g of integrity.entries({
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      }))
        if (later.has(entriesKey(g.writer, g.seq)))
          for (const e of g.entries) named.set(e.hash, (named.get(e.hash) ?? 0) + 1);
      const left = extra.filter((s) => {
        const hash = named.has(s.hash) || s.legacyHash === undefined ? s.hash : s.legacyHash;
        const n = named.get(hash) ?? 0;
        if (n > 0) {
          named.set(hash, n - 1);
          events--;
        }
        return n === 0;
      });
      extra.splice(0, extra.length, ...left);
    }
  }
  const missing = new Map<string, { e: DigestEntry; r: DigestRecord }[]>();
  for (const list of expected.values()) {
    for (const m of list) {
      const k = identity(m.e);
      const l = missing.get(k);
      if (l) l.push(m);
      else missing.set(k, [m]);
    }
  }
  const eventFindings: IntegrityFinding[] = [];
  for (const s of extra) {
    const m = missing.get(identity(s))?.pop();
    if (m)
      eventFindings.push(
        eventFinding(
          'modified',
          s,
          `the ${s.stage} event of cluster ${s.cluster} differs from what chain ${m.r.writer} record ${m.r.seq} signed`,
        ),
      );
    else
      eventFindings.push(
        eventFinding(
          'inserted',
          s,
          `the ${s.stage} event of cluster ${s.cluster} is stored but was never signed`,
        ),
      );
  }
  for (const list of missing.values()) {
    for (const m of list)
      eventFindings.push(
        eventFinding(
          'deleted',
          m.e,
          `the ${m.e.stage} event of cluster ${m.e.cluster} was signed (chain ${m.r.writer} record ${m.r.seq}) and is no longer stored`,
        ),
      );
  }
  return { events, first, last: lastTs, findings: eventFindings };
}
