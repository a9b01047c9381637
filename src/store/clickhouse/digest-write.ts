// How a write to the ClickHouse store leaves its digest record, soundly without transactions.
//
// ClickHouse has no transaction to put the rows and their record in, so the order is: the events, then
// the batch's entries, then the record itself. The record is the commit point: entries count only under
// a stored record (digest-tables.ts). A crash can then leave only rows that no record names yet (events
// inserted, record not). Each source replays a batch until it is stored (the webhook's segment log, the
// file checkpoints; an interrupted import is run again), and the replay finds those rows already stored:
// the write then looks up, among the rows it found stored, those that no stored record names, reads them
// back, and names them in its own record ("adopts" them). So after the replay the store verifies clean;
// a crash is never mistaken for tampering once its batch has been sent again. What is never sent again
// stays reported as `inserted` (stored, never signed), which is what it is.
//
// The look-ups cost nothing on the usual path (a batch of new events); they run only for a batch with
// rows already stored (retries, a re-run import): one query on the entries, one on the records, and the
// rows read back for those found unsigned.
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import type { EventRow } from '../columns.js';
import {
  entriesHash,
  type ChainHead,
  type DigestEntry,
  type DigestRecord,
  type RecordListener,
} from '../integrity.js';
import { ENTRY_COLUMNS, entryOf, type AnyRow } from './canonical.js';
import type { ClickHouseConnection } from './connection.js';
import { DIGESTS_TABLE, ENTRIES_TABLE, digestRow } from './digest-tables.js';
import { HASH_LOOKUP_CHUNK } from './records.js';

/** An entry with the content hash of its row (for the write path's look-ups). */
export interface WriteEntry extends DigestEntry {
  contentHash: string;
}

/** What the write path needs of the store's tamper evidence: the writer's chain head and its listener. */
export interface DigestSink {
  readonly chainHead: ChainHead;
  readonly listener: RecordListener | undefined;
  /** Reports a committed record and moves the head (called once the record is stored). */
  committed(record: DigestRecord, entries: readonly DigestEntry[] | undefined): void;
}

export const writeEntry = (row: EventRow | AnyRow): WriteEntry => ({
  ...entryOf(row),
  contentHash: String((row as AnyRow).content_hash ?? ''),
});

const key = (writer: string, chain: string) => `${writer}\0${chain}`;

/**
 * The entries of the stored rows, among `rows` (rows of this batch found already stored), that no stored
 * record names: what a crashed write left unsigned. Read back from the store, so they hash as stored.
 */
export async function unsignedStored(
  conn: ClickHouseConnection,
  rows: readonly EventRow[],
): Promise<WriteEntry[]> {
  const db = conn.location.database;
  const out = new Map<string, WriteEntry>();
  const sorted = [...rows].sort((a, b) => a.ts - b.ts);
  for (let i = 0; i < sorted.length; i += HASH_LOOKUP_CHUNK) {
    const chunk = sorted.slice(i, i + HASH_LOOKUP_CHUNK);
    const range = `ts >= ${sqlLiteral(chunk[0]!.ts)} AND ts <= ${sqlLiteral(chunk[chunk.length - 1]!.ts)}`;
    const hashes = chunk.map((r) => sqlLiteral(r.content_hash)).join(', ');
    const named = await conn.rows<{ writer: string; chain: string; content_hash: string }>(
      `SELECT writer, chain, content_hash FROM ${db}.${ENTRIES_TABLE} WHERE ${range} AND content_hash IN (${hashes})`,
    );
    const committed = new Set<string>();
    const chains = [...new Set(named.map((n) => sqlLiteral(n.chain)))];
    for (let j = 0; j < chains.length; j += 500) {
      const recs = await conn.rows<{ writer: string; chain: string }>(
        `SELECT writer, chain FROM ${db}.${DIGESTS_TABLE} WHERE chain IN (${chains.slice(j, j + 500).join(', ')})`,
      );
      for (const r of recs) committed.add(key(r.writer, r.chain));
    }
    const signed = new Set(
      named.filter((n) => committed.has(key(n.writer, n.chain))).map((n) => n.content_hash),
    );
    const unsigned = chunk.filter((r) => !signed.has(r.content_hash));
    if (unsigned.length === 0) continue;
    const clusters = [...new Set(unsigned.map((r) => sqlLiteral(r.cluster)))].join(', ');
    const stored = await conn.rows<AnyRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ${conn.events} WHERE ${range} AND cluster IN (${clusters}) AND content_hash IN (${unsigned.map((r) => sqlLiteral(r.content_hash)).join(', ')})`,
    );
    for (const r of stored) {
      const e = writeEntry(r);
      out.set(e.hash, e);
    }
  }
  return [...out.values()];
}

/** Appends the batch record naming these entries (none: nothing is appended). */
export async function commitBatch(
  conn: ClickHouseConnection,
  sink: DigestSink,
  entries: readonly WriteEntry[],
): Promise<DigestRecord | undefined> {
  if (entries.length === 0) return undefined;
  const plain: DigestEntry[] = entries.map(({ hash, cluster, auditID, stage, ts }) => ({
    hash,
    cluster,
    auditID,
    stage,
    ts,
  }));
  let from = plain[0]!.ts;
  let to = from;
  for (const e of plain) {
    if (e.ts < from) from = e.ts;
    if (e.ts > to) to = e.ts;
  }
  const record = sink.chainHead.next({
    kind: 'batch',
    count: plain.length,
    from,
    to,
    entriesHash: entriesHash(plain),
  });
  const db = conn.location.database;
  await conn.client.insert({
    table: `${db}.${ENTRIES_TABLE}`,
    values: entries.map((e) => ({
      writer: record.writer,
      seq: record.seq,
      chain: record.chain,
      hash: e.hash,
      cluster: e.cluster,
      audit_id: e.auditID,
      stage: e.stage,
      ts: e.ts,
      content_hash: e.contentHash,
    })),
    format: 'JSONEachRow',
  });
  await appendRecord(conn, record);
  sink.committed(record, plain);
  return record;
}

/** Stores one record (the commit point of its write). */
export async function appendRecord(conn: ClickHouseConnection, record: DigestRecord): Promise<void> {
  await conn.client.insert({
    table: `${conn.location.database}.${DIGESTS_TABLE}`,
    values: [digestRow(record)],
    format: 'JSONEachRow',
  });
}
