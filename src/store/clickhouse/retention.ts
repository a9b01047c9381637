// Retention on the ClickHouse store: deleting the events before a time drops the whole UTC-day
// partitions before it (instant, no rewrite) and deletes the rest of a partial day with a mutation,
// waiting until the mutation is done. The caller serializes it with writes, and is told how many events
// go before anything is deleted (to append its prune record first).
import { KubetrailError } from '../../core/errors.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import type { ClickHouseConnection } from './connection.js';
import { dayOf, DAY_US } from './schema.js';

/** Deletes the events before `until` (epoch µs); returns how many there were. */
export async function deleteEventsBefore(
  conn: ClickHouseConnection,
  until: number,
  beforeDeleting: (before: number, removed: number) => Promise<void> = async () => undefined,
): Promise<number> {
  const limit = Math.round(until);
  const [c] = await conn.rows<{ n: string | number }>(
    `SELECT count() AS n FROM ${conn.events} WHERE ts < ${sqlLiteral(limit)}`,
  );
  const n = Number(c?.n ?? 0);
  if (n === 0) return 0;
  try {
    await beforeDeleting(limit, n);
    // Whole days before the limit: drop their partitions (instant, no rewrite).
    const parts = await conn.rows<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts WHERE database = ${sqlLiteral(conn.location.database)} AND table = 'events' AND active`,
    );
    for (const p of parts) {
      const day = Number(p.partition);
      if (Number.isSafeInteger(day) && (day + 1) * DAY_US <= limit) {
        await conn.command(`ALTER TABLE ${conn.events} DROP PARTITION ${sqlLiteral(day)}`);
      }
    }
    // The part of a day before the limit: a mutation rewrites the parts of that day only.
    if (limit % DAY_US !== 0) {
      const day = dayOf(limit);
      const [left] = await conn.rows<{ n: string | number }>(
        `SELECT count() AS n FROM ${conn.events} WHERE ts >= ${sqlLiteral(day * DAY_US)} AND ts < ${sqlLiteral(limit)}`,
      );
      if (Number(left?.n ?? 0) > 0) {
        await conn.command(`ALTER TABLE ${conn.events} DELETE WHERE ts < ${sqlLiteral(limit)}`);
        await waitForMutations(conn);
      }
    }
  } catch (err) {
    if (err instanceof KubetrailError) throw err;
    throw new KubetrailError('KT_STORE_WRITE', `deleting old events failed: ${String(err)}`, {
      where: { file: conn.location.display },
      cause: err,
    });
  }
  return n;
}

/** Waits until every mutation of the events table has been applied (they run in the background). */
export async function waitForMutations(conn: ClickHouseConnection, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
    const [r] = await conn.rows<{ n: string | number }>(
      `SELECT count() AS n FROM system.mutations WHERE database = ${sqlLiteral(conn.location.database)} AND table = 'events' AND is_done = 0`,
    );
    if (Number(r?.n ?? 0) === 0) return;
    if (Date.now() > deadline) {
      throw new KubetrailError('KT_STORE_WRITE', 'a ClickHouse mutation deleting old events did not finish', {
        where: { file: conn.location.display },
        hint: 'see system.mutations on the server',
      });
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
