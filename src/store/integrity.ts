// Tamper evidence as a store keeps it: the digest records (what each committed write added, what a
// retention removed, signatures over the chain), their canonical encoding and chaining (pure functions
// every back end uses in its own write transaction), and the interface a back end implements to keep and
// read them (IntegrityStorage, reached through Store.integrity()).
//
// Each write that adds rows produces one `batch` record naming every row it added by an entry: the
// SHA-256 of the row's canonical encoding (each back end owns that encoding, so that a row hashes the same
// when written and when read back), with its cluster, auditID, stage and time. The record holds the count,
// the time span and one hash over its entries; the entries themselves are kept apart, indexed by time, so
// that verifying a time range reads only the entries of the records that meet it. Records form one chain
// per writer: chain = SHA-256(previous chain ‖ canonical record). Signing, the digest file and verification
// live in src/integrity/.
import { createHash } from 'node:crypto';
import type { VerificationRecord } from '../core/integrity.js';

/** A time range in epoch µs (as Store's TimeRange); `until` is exclusive. */
export interface DigestRange {
  since?: number;
  until?: number;
}

/** One row a batch record names. */
export interface DigestEntry {
  /** SHA-256 (hex) of the row's canonical encoding, as its back end defines it. */
  hash: string;
  cluster: string;
  auditID: string;
  stage: string;
  /** The row's time, epoch µs. */
  ts: number;
  /**
   * A stored row's hash by an earlier version of its back end's encoding, for rows that entries written
   * before the current version name (IntegrityStorage.scan only).
   */
  legacyHash?: string;
}

/** A write added these rows: `count` entries with times `from`..`to` (epoch µs). */
export interface BatchBody {
  kind: 'batch';
  count: number;
  from: number;
  to: number;
  /** entriesHash() of the entries. */
  entriesHash: string;
}

/** Retention removed every event before `before` (epoch µs): `removed` events. */
export interface PruneBody {
  kind: 'prune';
  before: number;
  removed: number;
}

/**
 * `kubetrail key rotate` wrote every event again sealed under key `keyId` (as batch records made since
 * `startedAt`, epoch µs) and removed the `removed` rows sealed before: the entries of records made before
 * `startedAt` name rows that are gone on purpose.
 */
export interface RekeyBody {
  kind: 'rekey';
  keyId: string;
  startedAt: number;
  removed: number;
}

/** An Ed25519 signature over the chain up to record `signedSeq` (signMessage()). */
export interface SignBody {
  kind: 'sign';
  signedSeq: number;
  /** The chain value of record `signedSeq`. */
  signedChain: string;
  /** When the signature was made, epoch µs (part of the signed message). */
  signedAt: number;
  /** Fingerprint of the public key (`sha256:` hex of its SPKI DER). */
  keyId: string;
  /** Base64 Ed25519 signature. */
  signature: string;
}

export type DigestBody = BatchBody | PruneBody | RekeyBody | SignBody;
export type DigestKind = DigestBody['kind'];

/** Where a record sits: its writer's chain, its position, its time. */
export interface RecordPlace {
  /** The chain it belongs to: one per writing process identity (a DuckDB store has one). */
  writer: string;
  /** Position in the writer's chain, from 1. */
  seq: number;
  /** When it was made, epoch µs. */
  at: number;
}

/** A record before its chain value is computed. */
export type UnchainedRecord = DigestBody & RecordPlace;

/** A digest record as stored and as written to the digest file. */
export type DigestRecord = UnchainedRecord & {
  /** SHA-256(previous record's chain ‖ canonicalRecord(this)), hex; the previous of seq 1 is GENESIS. */
  chain: string;
};

/** The chain value before a writer's first record. */
export const GENESIS = '0'.repeat(64);

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * One hash over a batch's entries, whatever order they come in: SHA-256 of the lines `HASH TIME` (the
 * entry's hash, its time in epoch µs as a decimal integer), sorted by hash then time, joined by newlines.
 * It covers what verification relies on (which rows, at which times); cluster, auditID and stage only
 * name them in findings. A back end may compute it in its own SQL, to the same bytes.
 */
export function entriesHash(entries: readonly DigestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.ts - b.ts));
  return sha256(sorted.map((e) => `${e.hash} ${e.ts}`).join('\n'));
}

/** The canonical encoding of a record (everything but its chain value), the input of its chain hash. */
export function canonicalRecord(r: UnchainedRecord): string {
  const head = ['kubetrail-digest/1', r.writer, r.seq, r.at, r.kind];
  switch (r.kind) {
    case 'batch':
      return JSON.stringify([...head, r.count, r.from, r.to, r.entriesHash]);
    case 'prune':
      return JSON.stringify([...head, r.before, r.removed]);
    case 'rekey':
      return JSON.stringify([...head, r.keyId, r.startedAt, r.removed]);
    case 'sign':
      return JSON.stringify([...head, r.signedSeq, r.signedChain, r.signedAt, r.keyId, r.signature]);
  }
}

/** The chain value of a record following `prev`. */
export function chainOf(prev: string, r: UnchainedRecord): string {
  return sha256(`${prev}${canonicalRecord(r)}`);
}

/** The message a sign record's signature is made over. */
export function signMessage(
  writer: string,
  signedSeq: number,
  signedChain: string,
  signedAt: number,
): string {
  return `kubetrail-digest-signature/1\n${JSON.stringify(writer)}\n${signedSeq}\n${signedChain}\n${signedAt}\n`;
}

/**
 * The head of one writer's chain, as a back end's writer keeps it in memory: next() makes the record that
 * follows the head (inside the write's transaction), advance() moves the head once that transaction is
 * committed. Not safe for concurrent writes: the back end serializes them.
 */
export class ChainHead {
  constructor(
    readonly writer: string,
    private last: { seq: number; chain: string } = { seq: 0, chain: GENESIS },
  ) {}

  get seq(): number {
    return this.last.seq;
  }

  get chain(): string {
    return this.last.chain;
  }

  next(body: DigestBody, at: number = Date.now() * 1000): DigestRecord {
    const base: UnchainedRecord = { writer: this.writer, seq: this.last.seq + 1, at, ...body };
    return { ...base, chain: chainOf(this.last.chain, base) };
  }

  advance(r: DigestRecord): void {
    this.last = { seq: r.seq, chain: r.chain };
  }
}

/** The entries of one batch record. */
export interface RecordEntries {
  writer: string;
  seq: number;
  entries: DigestEntry[];
}

/** Told of each record this store's writer committed, in chain order (the digest file appends them). */
export type RecordListener = (record: DigestRecord, entries: readonly DigestEntry[] | undefined) => void;

/**
 * What a store back end keeps for tamper evidence. The back end itself appends a `batch` record in the
 * transaction of every write that adds rows, a `prune` record with every deleteBefore() and a `rekey` record
 * when a key rotation removes the rows it replaced; sign records
 * come from src/integrity/ through appendSign().
 */
export interface IntegrityStorage {
  /** The chain this store's writer extends. */
  readonly writer: string;
  /** The last committed record of this writer's chain, or undefined when it has none. */
  head(): Promise<DigestRecord | undefined>;
  /** Appends a sign record to this writer's chain, after whatever it holds by then; KT_STORE_WRITE when read-only. */
  appendSign(body: SignBody): Promise<DigestRecord>;
  /** Every record of every writer, by writer then seq, as stored (nothing checked). */
  records(): AsyncIterable<DigestRecord>;
  /** The entries of every batch record whose time span meets the range, one record at a time. */
  entries(range: DigestRange): AsyncIterable<RecordEntries>;
  /** The stored rows of the range as entries (hashed by the back end's canonical encoding), in pieces. */
  scan(range: DigestRange): AsyncIterable<DigestEntry[]>;
  /** Sets (or clears, with undefined) the one listener told of each committed record of this writer. */
  onRecord(listener: RecordListener | undefined): void;
  /** Keeps a verification's result (the last one is what the API shows); KT_STORE_WRITE when read-only. */
  saveVerification(v: VerificationRecord): Promise<void>;
  /** The last verification kept, or undefined. */
  lastVerification(): Promise<VerificationRecord | undefined>;
}
