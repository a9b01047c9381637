// What an alert is and how stored alerts are read, shared by everything that raises, keeps or shows them:
// severities and their order, the Alert record, and the AlertLog interface (listing, one alert by id,
// acknowledging: the first acknowledgement wins). Detection (src/detect) raises alerts; each store back
// end keeps them in its own dialect (src/store/duckdb/detection-state.ts, and
// src/store/clickhouse/alerts.ts, where the alerts of every collector end up; src/store/detection.ts
// says what a back end provides); the HTTP API and the `alerts` command read them through AlertLog.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity: info 0 … critical 4. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export interface Alert {
  /** Stable id: the same detection on the same events always gets the same id. */
  id: string;
  rule: string;
  title: string;
  severity: Severity;
  /** Time of the event that raised it (RFC 3339, UTC). */
  time: string;
  cluster: string;
  /** audit IDs of the events that raised it (for aggregations: those in the window). */
  auditIDs: string[];
  message: string;
  /** ATT&CK technique ids, then covered rules of other tools (falco:…, panther:…). */
  references: string[];
  /** The suppression / grouping key. */
  key: string;
  /** Events counted (aggregations), else 1. */
  count: number;
}

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
