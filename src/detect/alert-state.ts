// Where a store's alerts, outbox and detection state live, per kind of store:
//
// - DuckDB: everything in the store's own file (AlertStore on a connection of the store's own).
// - ClickHouse: the engine's state, the outbox and the alerts raised here are per-process operational
//   state, kept in a local DuckDB file (a collector's DATADIR/detect.duckdb, the CLI's --state); every new
//   alert is queued in that outbox for an internal target, the ClickHouse store itself, which retries
//   for ever with backoff, so alerts raised while ClickHouse is down reach it later, across restarts too.
//   What the API and `kubetrail alerts` read and acknowledge is the ClickHouse alert log, which holds the
//   alerts of every collector writing to the database.
//
// The ClickHouse modules and the DuckDB binding are loaded on first use, as src/store/open.ts does.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { KubetrailError } from '../core/errors.js';
import type { ClickHouseAlertLog } from '../store/clickhouse/alerts.js';
import type { ClickHouseStore } from '../store/clickhouse/store.js';
import type { Store } from '../store/store.js';
import type { AlertLog } from '../core/alert.js';
import { AlertStore } from './alert-store.js';
import type { AlertOutput } from './outputs.js';

export interface AlertStateOptions {
  /**
   * The local DuckDB file for detection's state and outbox, for a store that does not keep them itself
   * (ClickHouse). Ignored for a DuckDB store.
   */
  stateFile?: string;
}

export interface AlertState {
  /** Alerts raised here, the outbox of deliveries and the engine's state. */
  state: AlertStore;
  /** Where stored alerts are read and acknowledged (the API, `kubetrail alerts`). */
  log: AlertLog;
  /** Internal outputs every new alert is queued for, whatever its severity: the ClickHouse store. */
  targets: AlertOutput[];
  /** Where the state is kept, for messages: `the store` or the local state file. */
  where: string;
  /** Closes the local state file, if any (the store stays open). */
  close(): Promise<void>;
}

/**
 * A DuckDB connection of the store's own for detection's tables: separate from the connection events are
 * written on, so alert statements never share (and roll back with) an event write's transaction.
 */
export async function storeConnection(store: Store): Promise<DuckDBConnection> {
  const connect = (store as unknown as { connect?: () => Promise<DuckDBConnection> }).connect;
  if (typeof connect !== 'function') {
    throw new KubetrailError(
      'KT_STORE_OPEN',
      `a ${store.kind} store keeps no detection tables of its own; this needs a DuckDB store`,
    );
  }
  return connect.call(store);
}

/** The store as a ClickHouseStore, or undefined when it is another kind. */
async function asClickHouse(store: Store): Promise<ClickHouseStore | undefined> {
  if (store.kind !== 'clickhouse') return undefined;
  const { ClickHouseStore } = await import('../store/clickhouse/store.js');
  return store instanceof ClickHouseStore ? store : undefined;
}

function isLockError(err: unknown): boolean {
  return /lock|Conflicting lock|already open/i.test(String(err));
}

/** Opens (creating it when absent) a local DuckDB file holding detection's tables. */
async function openLocalState(file: string): Promise<{ state: AlertStore; close(): Promise<void> }> {
  const abs = path.resolve(file);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  let instance: Awaited<ReturnType<typeof DuckDBInstance.create>>;
  try {
    mkdirSync(path.dirname(abs), { recursive: true });
    instance = await DuckDBInstance.create(abs, { memory_limit: '256MB', threads: '1' });
  } catch (err) {
    if (isLockError(err)) {
      throw new KubetrailError('KT_STORE_OPEN', `${abs} is in use by another kubetrail process`, {
        where: { file: abs },
        hint: 'each collector and each detecting import keeps its detection state in a file of its own: give another data directory or --state',
        cause: err,
      });
    }
    throw new KubetrailError('KT_STORE_OPEN', `cannot open the detection state ${abs}: ${String(err)}`, {
      where: { file: abs },
      cause: err,
    });
  }
  const conn = await instance.connect();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await conn.run('CHECKPOINT').catch(() => undefined);
    conn.closeSync();
    instance.closeSync();
  };
  try {
    return { state: await AlertStore.open(conn), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The internal target that copies every new alert into the ClickHouse store; never gives up. */
export function clickhouseTarget(log: Pick<ClickHouseAlertLog, 'save'>, display: string): AlertOutput {
  return {
    // The identity in the outbox: deliveries owed before a restart go to the same database after it.
    name: `store:${display}`,
    minSeverity: 'info',
    batch: 500,
    maxAttempts: Number.POSITIVE_INFINITY,
    send: async (alerts) => {
      await log.save(alerts);
    },
  };
}

/** Opens what detection writes to for this store: its state, the outbox and the alert log. */
export async function openAlertState(store: Store, opts: AlertStateOptions = {}): Promise<AlertState> {
  const ch = await asClickHouse(store);
  if (!ch) {
    const state = await AlertStore.open(await storeConnection(store));
    return { state, log: state, targets: [], where: 'the store', close: async () => undefined };
  }
  if (ch.readOnly) {
    throw new KubetrailError('KT_STORE_WRITE', `${ch.location.display} is open read-only`);
  }
  if (!opts.stateFile) {
    throw new KubetrailError(
      'KT_STORE_OPEN',
      'detection on a ClickHouse store keeps its state and outbox in a local file, and none was given',
      { hint: 'give --state FILE (a collector uses DATADIR/detect.duckdb)' },
    );
  }
  const { ClickHouseAlertLog } = await import('../store/clickhouse/alerts.js');
  const local = await openLocalState(opts.stateFile);
  const log = ClickHouseAlertLog.forStore(ch);
  return {
    state: local.state,
    log,
    targets: [clickhouseTarget(log, ch.location.display)],
    where: path.resolve(opts.stateFile),
    close: local.close,
  };
}

/**
 * The alert log of a store, for reading and acknowledging: the store's own tables (DuckDB), or the
 * ClickHouse alert tables. With `existing`, nothing is created, and undefined means the store holds no
 * alert tables (a read-only handle on a store detection never wrote to).
 */
export async function openAlertLog(
  store: Store,
  opts: { existing?: boolean } = {},
): Promise<AlertLog | undefined> {
  // A DuckDB store read through the server that holds it (src/store/remote.ts): its alerts too.
  if ('alertLog' in store && typeof store.alertLog === 'function')
    return (store.alertLog as () => AlertLog)();
  const ch = await asClickHouse(store);
  if (ch) {
    const { ClickHouseAlertLog } = await import('../store/clickhouse/alerts.js');
    if (opts.existing && !(await ClickHouseAlertLog.hasTables(ch))) return undefined;
    return ClickHouseAlertLog.forStore(ch);
  }
  const conn = await storeConnection(store);
  return opts.existing ? AlertStore.openExisting(conn) : AlertStore.open(conn);
}
