// Where detection keeps its state for a ClickHouse store. The engine's state, the outbox and the alerts
// raised here are per-process operational state, kept in a local DuckDB file (a collector's
// DATADIR/detect.duckdb, the CLI's --state; src/store/duckdb/detection-state.ts). Every new alert is
// queued in that outbox for an internal target, the ClickHouse store itself, which retries for ever with
// backoff, so alerts raised while ClickHouse is down reach it later, across restarts too. What the API
// and `kubetrail alerts` read and acknowledge is the ClickHouse alert log (src/store/clickhouse/alerts.ts),
// which holds the alerts of every collector writing to the database.
import path from 'node:path';
import { KubetrailError } from '../../core/errors.js';
import type { DataKey } from '../../crypto/cipher.js';
import type { AlertTarget, DetectionStorage, DetectionStorageOptions } from '../detection.js';
import { ClickHouseAlertLog, type ClickHouseHandle } from './alerts.js';

/** The internal target that copies every new alert into the ClickHouse store; never gives up. */
export function clickhouseTarget(log: Pick<ClickHouseAlertLog, 'save'>, display: string): AlertTarget {
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

/**
 * Opens the local state file (sealed with the store's data key, when it has one) and the ClickHouse
 * alert log detection writes to.
 */
export async function clickhouseDetection(
  store: ClickHouseHandle & { readonly key?: DataKey | undefined },
  opts: DetectionStorageOptions = {},
): Promise<DetectionStorage> {
  if (store.readOnly) {
    throw new KubetrailError('KT_STORE_WRITE', `${store.location.display} is open read-only`);
  }
  if (!opts.stateFile) {
    throw new KubetrailError(
      'KT_STORE_OPEN',
      'detection on a ClickHouse store keeps its state and outbox in a local file, and none was given',
      { hint: 'give --state FILE (a collector uses DATADIR/detect.duckdb)' },
    );
  }
  // Loaded on first use: the native DuckDB binding is needed only for the state file.
  const { openDetectionStateFile } = await import('../duckdb/detection-state.js');
  const local = await openDetectionStateFile(opts.stateFile, store.key ? { key: store.key } : {});
  const log = ClickHouseAlertLog.forStore(store);
  return {
    state: local.state,
    log,
    targets: [clickhouseTarget(log, store.location.display)],
    where: path.resolve(opts.stateFile),
    close: local.close,
  };
}

/**
 * The ClickHouse alert log of a store. With `existing`, undefined when the database has no alert tables
 * (a read-only handle on a database no recent kubetrail has written).
 */
export async function clickhouseAlertLog(
  store: ClickHouseHandle,
  opts: { existing?: boolean } = {},
): Promise<ClickHouseAlertLog | undefined> {
  if (opts.existing && !(await ClickHouseAlertLog.hasTables(store))) return undefined;
  return ClickHouseAlertLog.forStore(store);
}
