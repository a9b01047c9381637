// The ClickHouse tables of the store's tamper evidence (migration 3) and how a digest record is stored in
// them and read back:
//
// - kt_digests: one row per digest record (writer, seq, at, kind, chain, and the kind's own fields as
//   JSON in `body`), sorted by (writer, seq). A plain MergeTree: nothing is ever collapsed or replaced.
// - kt_digest_entries: the entries of every batch record, one row per row the write added (its hash,
//   identity and time, with the event's content hash for the write path's look-ups), tagged with the
//   record's writer, seq and chain value. Entries are inserted before their record; the entries of a
//   record are those at its place (writer, seq) whose chain value some stored record of the writer has,
//   so entries left by a write that crashed before its record (a chain value no record has) are left
//   out, even when a later record of the same writer takes the seq. Sorted by (ts, content_hash), the
//   look-ups' order.
// - kt_verifications: every verification's record as JSON, with the time it was saved; the newest is
//   the last verification.
//
// Records are read back as stored, nothing checked: a body that does not parse reads as an empty one,
// and the verifier (src/integrity/verify.ts) reports the chain break it makes.
import type { DigestRecord } from '../integrity.js';

export const DIGESTS_TABLE = 'kt_digests';
export const ENTRIES_TABLE = 'kt_digest_entries';
export const VERIFICATIONS_TABLE = 'kt_verifications';

/** The statements creating the digest tables (idempotent): migration 3. */
export function createDigestTablesSql(database: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${database}.${DIGESTS_TABLE} (
  writer String,
  seq UInt64,
  at Int64,
  kind String,
  chain String,
  body String
) ENGINE = MergeTree()
ORDER BY (writer, seq)`,
    `CREATE TABLE IF NOT EXISTS ${database}.${ENTRIES_TABLE} (
  writer String,
  seq UInt64,
  chain String,
  hash String,
  cluster String,
  audit_id String,
  stage String,
  ts Int64,
  content_hash String
) ENGINE = MergeTree()
ORDER BY (ts, content_hash)`,
    `CREATE TABLE IF NOT EXISTS ${database}.${VERIFICATIONS_TABLE} (
  saved_at Int64,
  record String
) ENGINE = MergeTree()
ORDER BY saved_at`,
  ];
}

/** A kt_digests row as JSONEachRow gives it back. */
export interface DigestRow {
  writer: string;
  seq: string | number;
  at: string | number;
  kind: string;
  chain: string;
  body: string;
}

export const DIGEST_COLUMNS = 'writer, seq, at, kind, chain, body';

const HEAD_FIELDS = new Set(['writer', 'seq', 'at', 'kind', 'chain']);

/**
 * A record as a kt_digests row. The body repeats the seq: a record read back keeps the place it was
 * written at even when its row is moved to another (as DuckDB keeps it inside the record), so that its
 * entries, stored under that seq, stay its own and the move shows as a break in the chain.
 */
export function digestRow(r: DigestRecord): Record<string, unknown> {
  const body: Record<string, unknown> = { seq: r.seq };
  for (const [k, v] of Object.entries(r)) if (!HEAD_FIELDS.has(k)) body[k] = v;
  return { writer: r.writer, seq: r.seq, at: r.at, kind: r.kind, chain: r.chain, body: JSON.stringify(body) };
}

/** A kt_digests row as a record, as stored (see the module header). */
export function recordOf(row: DigestRow): DigestRecord {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    body = {};
  }
  const seq = Number.isSafeInteger(body.seq) ? (body.seq as number) : Number(row.seq);
  for (const k of HEAD_FIELDS) delete body[k];
  return {
    ...body,
    writer: row.writer,
    seq,
    at: Number(row.at),
    kind: row.kind,
    chain: row.chain,
  } as DigestRecord;
}
