// The digest chain of a DuckDB store as its writer extends it: the head of the chain (read once when the
// store is opened for writing), appending a record and the entries it names inside the caller's
// transaction, and, once that transaction is committed, moving the head and telling the listener (the
// digest file). The caller serializes every call (the store's write lock); all run on the writer
// connection. A DuckDB store has one writer, so one chain.
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  ChainHead,
  entriesHash,
  type DigestBody,
  type DigestEntry,
  type DigestRecord,
  type RecordListener,
} from '../integrity.js';

/** The name of a DuckDB store's one chain. */
export const DUCKDB_WRITER = 'local';

/** A record read back from kt_digests. */
export function parseRecord(text: string): DigestRecord {
  return JSON.parse(text) as DigestRecord;
}

export class DuckDBDigests {
  private listener: RecordListener | undefined;

  private constructor(private readonly head: ChainHead) {}

  /** The chain as stored: its head is the last record of this writer. */
  static async open(conn: DuckDBConnection): Promise<DuckDBDigests> {
    const rows = (
      await conn.runAndReadAll(`SELECT record FROM kt_digests WHERE writer = ? ORDER BY seq DESC LIMIT 1`, [
        DUCKDB_WRITER,
      ])
    ).getRows();
    const last = rows[0] ? parseRecord(String(rows[0][0])) : undefined;
    return new DuckDBDigests(
      new ChainHead(DUCKDB_WRITER, last ? { seq: last.seq, chain: last.chain } : undefined),
    );
  }

  onRecord(listener: RecordListener | undefined): void {
    this.listener = listener;
  }

  /** The batch record naming these entries (they are not empty). */
  batch(entries: readonly DigestEntry[]): DigestBody {
    let from = Number.POSITIVE_INFINITY;
    let to = Number.NEGATIVE_INFINITY;
    for (const e of entries) {
      if (e.ts < from) from = e.ts;
      if (e.ts > to) to = e.ts;
    }
    return { kind: 'batch', count: entries.length, from, to, entriesHash: entriesHash(entries) };
  }

  /**
   * Inside the caller's transaction: stores the record following the head and the entries it names.
   * The head moves only with committed().
   */
  async append(
    conn: DuckDBConnection,
    body: DigestBody,
    entries?: readonly DigestEntry[],
  ): Promise<DigestRecord> {
    const record = this.head.next(body);
    if (entries && entries.length > 0) {
      const a = await conn.createAppender('kt_digest_entries');
      for (const e of entries) {
        a.appendVarchar(record.writer);
        a.appendBigInt(BigInt(record.seq));
        a.appendBigInt(BigInt(e.ts));
        a.appendVarchar(e.cluster);
        a.appendVarchar(e.auditID);
        a.appendVarchar(e.stage);
        a.appendVarchar(e.hash);
        a.endRow();
      }
      a.closeSync();
    }
    await conn.run(
      `INSERT INTO kt_digests (writer, seq, kind, from_us, to_us, record) VALUES (?, ?, ?, ?, ?, ?)`,
      [
        record.writer,
        record.seq,
        record.kind,
        record.kind === 'batch' ? record.from : null,
        record.kind === 'batch' ? record.to : null,
        JSON.stringify(record),
      ],
    );
    return record;
  }

  /** After the transaction holding `record` committed: the head moves and the listener is told. */
  committed(record: DigestRecord, entries?: readonly DigestEntry[]): void {
    this.head.advance(record);
    try {
      this.listener?.(record, entries);
    } catch {
      // The listener reports its own failures (the digest file catches up when the store is next opened).
    }
  }
}
