// Writing events to the DuckDB store. Rows go through an Appender into a connection-local staging table,
// then one set-based INSERT adds those whose content hash is not yet stored within the batch's time
// range (identical content means identical timestamps, so the range filter lets DuckDB skip the rest of
// the table by its zone maps). A batch digest record naming exactly the rows added (each hashed by
// ROW_HASH_SQL, in SQL, from the staging table) is stored in the same transaction (digests.ts). The
// caller serializes writes (one writer connection).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { KubetrailError } from '../../core/errors.js';
import { EVENT_COLUMNS, type EventRow } from '../columns.js';
import type { WriteOptions, WriteResult } from '../store.js';
import type { DuckDBDigests } from './digests.js';
import { createStagingTableSql, STAGING_SELECT } from './schema.js';

/** Writes batches of rows on one connection; not safe for concurrent calls. */
export class DuckDBWriter {
  private stagingReady = false;

  constructor(
    private readonly conn: DuckDBConnection,
    /** The store file, for messages. */
    private readonly file: string,
    private readonly digests: DuckDBDigests,
  ) {}

  async write(rows: readonly EventRow[], opts: WriteOptions = {}): Promise<WriteResult> {
    const conn = this.conn;
    if (!this.stagingReady) {
      await conn.run(createStagingTableSql('kt_staging'));
      this.stagingReady = true;
    }
    // Duplicates inside the batch are dropped here; duplicates of stored events by the INSERT below.
    const seen = new Set<string>();
    const unique: EventRow[] = [];
    /** Position in `rows` of each unique row. */
    const at: number[] = [];
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    for (const [i, r] of rows.entries()) {
      if (seen.has(r.content_hash)) continue;
      seen.add(r.content_hash);
      unique.push(r);
      at.push(i);
      if (r.ts < minTs) minTs = r.ts;
      if (r.ts > maxTs) maxTs = r.ts;
    }
    try {
      await conn.run('BEGIN TRANSACTION');
      const appender = await conn.createAppender('kt_staging', 'main', 'temp');
      // Appended in time order, so that the plain INSERT below keeps it (DuckDB preserves insertion
      // order) without a sort of the wide rows: each row group then spans a narrow time range. In
      // slices, with a turn of the event loop between them, so that a large write does not hold the
      // JavaScript thread while webhook batches wait for their answer.
      const ordered = inTimeOrder(unique);
      for (let i = 0; i < ordered.length; i += APPEND_SLICE) {
        if (i > 0) await nextTurn();
        appendRows(appender, ordered, i, Math.min(ordered.length, i + APPEND_SLICE));
      }
      appender.closeSync();
      // When nothing is stored in the batch's time range (the usual case for an import in time
      // order), no stored event can be a duplicate and the anti-join is skipped.
      const range = [minTs, maxTs];
      const overlap = await conn.runAndReadAll(
        `SELECT count(*) FROM (SELECT 1 FROM events WHERE ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) LIMIT 1)`,
        range,
      );
      const anyStored = Number(overlap.getRows()[0]![0]) !== 0;
      // Rows already stored leave the staging table first (their hashes say which were not new), so that
      // what stays is exactly what is inserted, and named by the batch digest record.
      let known: Set<string> | undefined;
      if (anyStored) {
        const d = await conn.runAndReadAll(
          `DELETE FROM kt_staging s WHERE EXISTS (
             SELECT 1 FROM events e
             WHERE e.ts BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT) AND e.content_hash = s.content_hash)
           RETURNING content_hash`,
          range,
        );
        known = new Set(d.getRows().map((row) => String(row[0])));
      }
      const r = await conn.runAndReadAll(
        `INSERT INTO events SELECT ${STAGING_SELECT} FROM kt_staging s${anyStored ? ' ORDER BY s.ts' : ''}`,
      );
      const stored = Number(r.getRows()[0]?.[0] ?? 0);
      const record = stored > 0 ? await this.digests.appendBatch(conn) : undefined;
      await conn.run('DELETE FROM kt_staging');
      await conn.run('COMMIT');
      if (record) this.digests.committed(record);
      if (!opts.reportNew) return { stored, duplicates: rows.length - stored };
      const fresh = known ? at.filter((_, k) => !known.has(unique[k]!.content_hash)) : at;
      return { stored: fresh.length, duplicates: rows.length - fresh.length, fresh };
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw new KubetrailError(
        'KT_STORE_WRITE',
        `writing ${rows.length} events to ${this.file} failed: ${String(err)}`,
        {
          where: { file: this.file },
          cause: err,
        },
      );
    }
  }
}

/** The rows sorted by time (stable), or the same array when they already are, as imports mostly are. */
function inTimeOrder(rows: readonly EventRow[]): readonly EventRow[] {
  for (let i = 1; i < rows.length; i++) {
    if (rows[i]!.ts < rows[i - 1]!.ts) return [...rows].sort((a, b) => a.ts - b.ts);
  }
  return rows;
}

/** Rows appended between two turns of the event loop (about 10 ms of appender calls on 2 cores). */
export const APPEND_SLICE = 500;

function appendRows(a: DuckDBAppender, rows: readonly EventRow[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    for (const [name, type] of EVENT_COLUMNS) {
      const v = r[name];
      if (v === null || v === undefined) {
        a.appendNull();
        continue;
      }
      switch (type) {
        case 'varchar':
        case 'json':
          a.appendVarchar(v as string);
          break;
        case 'varchar[]':
          a.appendVarchar(JSON.stringify(v));
          break;
        case 'integer':
          a.appendInteger(v as number);
          break;
        case 'double':
        case 'timestamp':
          a.appendDouble(v as number);
          break;
      }
    }
    a.endRow();
  }
}
