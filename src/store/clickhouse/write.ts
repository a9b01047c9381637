// Writing events to the ClickHouse store. A batch is deduplicated by content hash, then the hashes
// already stored in the batch's time range (and clusters) are looked up and only the new rows are
// inserted (as JSONEachRow: no SQL text to escape), grouped so that one insert touches few day
// partitions. The caller serializes writes within one process; between processes the
// ReplacingMergeTree sorting key (which ends with the content hash) collapses any duplicate that two
// writers race in at the next merge. See docs/scaling.md.
//
// Every write that adds rows then appends its digest record: after the rows, entries then record, and it
// also names the rows it found stored that no record names (what a crash before a record left): the
// order and why it survives a crash are in digest-write.ts.
import { KubetrailError } from '../../core/errors.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import type { EventRow } from '../columns.js';
import type { WriteOptions, WriteResult } from '../store.js';
import type { ClickHouseConnection } from './connection.js';
import { commitBatch, unsignedStored, writeEntry, type DigestSink } from './digest-write.js';
import { HASH_LOOKUP_CHUNK } from './records.js';
import { dayOf, insertRow } from './schema.js';

/** Distinct day partitions per insert (newer servers refuse more than 100 by default). */
const DAYS_PER_INSERT = 90;

/** Writes a non-empty batch; not safe for concurrent calls. */
export async function writeEventRows(
  conn: ClickHouseConnection,
  rows: readonly EventRow[],
  opts: WriteOptions,
  digests: DigestSink,
): Promise<WriteResult> {
  const seen = new Set<string>();
  const unique: EventRow[] = [];
  /** Position in `rows` of each unique row. */
  const at: number[] = [];
  for (const [i, r] of rows.entries()) {
    if (seen.has(r.content_hash)) continue;
    seen.add(r.content_hash);
    unique.push(r);
    at.push(i);
  }
  try {
    const stored = await storedHashes(conn, unique);
    const fresh = unique.filter((r) => !stored.has(r.content_hash)).sort((a, b) => a.ts - b.ts);
    const result: WriteResult = { stored: fresh.length, duplicates: rows.length - fresh.length };
    if (opts.reportNew) result.fresh = at.filter((_, k) => !stored.has(unique[k]!.content_hash));
    for (const chunk of byDays(fresh, DAYS_PER_INSERT)) {
      await conn.client.insert({
        table: conn.events,
        values: chunk.map(insertRow),
        format: 'JSONEachRow',
      });
    }
    const found = unique.filter((r) => stored.has(r.content_hash));
    const adopted = found.length > 0 ? await unsignedStored(conn, found) : [];
    await commitBatch(conn, digests, [...fresh.map(writeEntry), ...adopted]);
    return result;
  } catch (err) {
    throw new KubetrailError(
      'KT_STORE_WRITE',
      `writing ${rows.length} events to ${conn.location.display} failed: ${String(err)}`,
      { where: { file: conn.location.display }, cause: err },
    );
  }
}

/** Content hashes of these rows that are already stored. */
async function storedHashes(conn: ClickHouseConnection, rows: readonly EventRow[]): Promise<Set<string>> {
  const found = new Set<string>();
  const sorted = [...rows].sort((a, b) => a.ts - b.ts);
  for (let i = 0; i < sorted.length; i += HASH_LOOKUP_CHUNK) {
    const chunk = sorted.slice(i, i + HASH_LOOKUP_CHUNK);
    const clusters = [...new Set(chunk.map((r) => r.cluster))];
    const range = `cluster IN (${clusters.map((c) => sqlLiteral(c)).join(', ')}) AND ts >= ${sqlLiteral(chunk[0]!.ts)} AND ts <= ${sqlLiteral(chunk[chunk.length - 1]!.ts)}`;
    // When nothing is stored in the range (an import in time order, a live collector), skip the lookup.
    const [probe] = await conn.rows<{ n: string | number }>(
      `SELECT count() AS n FROM (SELECT 1 FROM ${conn.events} WHERE ${range} LIMIT 1)`,
    );
    if (Number(probe?.n ?? 0) === 0) continue;
    const hashes = chunk.map((r) => sqlLiteral(r.content_hash)).join(', ');
    const hits = await conn.rows<{ content_hash: string }>(
      `SELECT DISTINCT content_hash FROM ${conn.events} WHERE ${range} AND content_hash IN (${hashes})`,
    );
    for (const h of hits) found.add(h.content_hash);
  }
  return found;
}

/** Splits rows sorted by time into groups spanning at most `maxDays` distinct days. */
function* byDays(rows: readonly EventRow[], maxDays: number): Generator<EventRow[]> {
  let group: EventRow[] = [];
  let days = 0;
  let lastDay: number | undefined;
  for (const r of rows) {
    const d = dayOf(r.ts);
    if (d !== lastDay) {
      if (days === maxDays) {
        yield group;
        group = [];
        days = 0;
      }
      days++;
      lastDay = d;
    }
    group.push(r);
  }
  if (group.length > 0) yield group;
}
