// What the HTTP API and the `alerts` command read and write about stored alerts, whatever keeps them:
// listing, one alert by id, acknowledging (the first acknowledgement wins) and reading acknowledgements.
// The DuckDB AlertStore (src/detect/alert-store.ts) implements it over the store's own file; the
// ClickHouseAlertLog (src/store/clickhouse/alerts.ts) over the shared ClickHouse database, where the
// alerts of every collector end up.
import type { Alert, Severity } from './types.js';

/** Who acknowledged an alert, and when (RFC 3339). */
export interface AlertAck {
  at: string;
  by: string;
}

export interface AlertQuery {
  /** Epoch µs, inclusive. */
  since?: number;
  /** Epoch µs, exclusive. */
  until?: number;
  rules?: string[];
  minSeverity?: Severity;
  /** Most alerts returned: the newest ones (default 1000). */
  limit?: number;
}

export interface AlertLog {
  /** Stored alerts matching the query: the newest `limit` of them, oldest first. */
  list(q?: AlertQuery): Promise<Alert[]>;
  /** One stored alert by id. */
  get(id: string): Promise<Alert | undefined>;
  /**
   * Marks an alert acknowledged by `by` at `nowMs` (epoch ms). Acknowledging again keeps the first
   * acknowledgement. False when no alert has the id.
   */
  acknowledge(id: string, by: string, nowMs?: number): Promise<boolean>;
  /** Acknowledgements of the given alerts (absent: not acknowledged). */
  acks(ids: readonly string[]): Promise<Map<string, AlertAck>>;
}
