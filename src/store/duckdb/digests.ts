// The digest chain of a DuckDB store as its writer extends it: the head of the chain (read once when the
// store is opened for writing), appending a record (and for a batch, the entries of the rows it names,
// computed in SQL) inside the caller's transaction, and, once that transaction is committed, moving the head and telling the listener (the
// digest file). The caller serializes every call (the store's write lock); all run on the writer
// connection. A DuckDB store has one writer, so one chain.
import type { DuckDBConnection } from '@duckdb/node-api';
import { ChainHead, type DigestBody, type DigestRecord, type RecordListener } from '../integrity.js';
import { ROW_HASH_SQL, STAGING_ROWS_SELECT } from './schema.js';

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

  /**
   * Inside the caller's transaction: stores the entries of the rows in the staging table (just inserted,
   * hashed as they are stored) and the batch record naming them. Nothing leaves DuckDB but one summary
   * row: the count, the time span and entriesHash() of the entries, computed in SQL.
   */
  async appendBatch(conn: DuckDBConnection): Promise<DigestRecord> {
    const seq = this.head.seq + 1;
    await conn.run(
      `INSERT INTO kt_digest_entries
       SELECT ?, ?, epoch_us(ts), cluster, audit_id, stage, ${ROW_HASH_SQL}
       FROM (SELECT ${STAGING_ROWS_SELECT} FROM kt_staging s)`,
      [this.head.writer, seq],
    );
    const r = (
      await conn.runAndReadAll(
        `SELECT count(*), min(ts), max(ts),
                sha256(string_agg(hash || ' ' || CAST(ts AS VARCHAR), chr(10) ORDER BY hash, ts))
         FROM kt_digest_entries WHERE writer = ? AND seq = ?`,
        [this.head.writer, seq],
      )
    ).getRows()[0]!;
    return this.append(conn, {
      kind: 'batch',
      count: Number(r[0]),
      from: Number(r[1]),
      to: Number(r[2]),
      entriesHash: String(r[3]),
    });
  }

  /**
   * Inside the caller's transaction: stores the record following the head. The head moves only with
   * committed().
   */
  async append(conn: DuckDBConnection, body: DigestBody): Promise<DigestRecord> {
    const record = this.head.next(body);
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
  committed(record: DigestRecord): void {
    this.head.advance(record);
    try {
      this.listener?.(record, undefined);
    } catch {
      // The listener reports its own failures (the digest file catches up when the store is next opened).
    }
  }
}
