// What a store keeps for detection, as one interface every back end implements in its own dialect: the
// alerts raised here, the outbox of deliveries still owed to alert outputs, and the engine's saved state
// (DetectionState); where they are kept for a given store (DetectionStorage: the store itself, or a local
// state file beside a shared database, with the internal targets that carry alerts from there into it);
// and the store's alerts as read and acknowledged by the API and the `alerts` command (StoredAlertLog).
//
// Detection (src/detect/) uses only these interfaces, through Store.detection() and Store.alertLog(); it
// never asks which kind of store it runs on.
import type { Alert, AlertLog, Severity } from '../core/alert.js';

/** One delivery of an alert still owed to an output. */
export interface Delivery {
  alert: Alert;
  output: string;
  attempts: number;
}

export interface OutboxCounts {
  pending: number;
  failed: number;
}

/**
 * The detection engine's saved state as a store keeps it: one JSON value per rule and the last event
 * time seen. Detection gives the values their shape (src/detect/engine.ts, EngineSnapshot) and checks
 * their version when it restores them; the store only keeps them.
 */
export interface DetectionSnapshot {
  rules: Record<string, unknown>;
  lastTime?: number;
}

/** An output as the outbox knows it: its identity and the lowest severity it takes. */
export interface OutboxOutput {
  readonly name: string;
  readonly minSeverity: Severity;
}

/** An output alerts are delivered to through the outbox (what src/detect/outputs.ts creates). */
export interface AlertTarget extends OutboxOutput {
  /** Alerts sent per call at most. */
  readonly batch: number;
  /** Attempts before a delivery is given up (default: the outbox's); Infinity retries for ever. */
  readonly maxAttempts?: number;
  send(alerts: readonly Alert[]): Promise<void>;
}

/** Alerts raised here, the outbox of their deliveries and the engine's state: what must survive a restart. */
export interface DetectionState extends AlertLog {
  /**
   * Stores alerts (one already stored is skipped) and queues a delivery of each new alert to each output
   * that takes its severity. Returns the alerts that were new.
   */
  save(alerts: readonly Alert[], outputs?: readonly OutboxOutput[]): Promise<Alert[]>;
  /** Deliveries due now (pending, next attempt reached), oldest first. */
  due(nowMs: number, limit?: number): Promise<Delivery[]>;
  /** When the next pending delivery (to one of `outputs`, when given) becomes due, epoch ms. */
  nextDue(outputs?: readonly string[]): Promise<number | undefined>;
  /** Removes delivered items from the outbox. */
  delivered(items: readonly { alertId: string; output: string }[]): Promise<void>;
  /** Schedules another attempt at `nextAtMs`, or keeps the deliveries as failed when `giveUp`. */
  retryLater(
    items: readonly { alertId: string; output: string; attempts: number }[],
    nextAtMs: number,
    error: string,
    giveUp: boolean,
  ): Promise<void>;
  outboxCounts(): Promise<OutboxCounts>;
  /** Replaces the saved state of the rules in `snap` and the last time seen. */
  saveState(snap: DetectionSnapshot): Promise<void>;
  /** The saved state, or undefined when nothing was saved. */
  loadState(): Promise<DetectionSnapshot | undefined>;
}

export interface DetectionStorageOptions {
  /**
   * A local file for detection's state and outbox, for a store that does not keep them itself (a
   * database shared by several collectors). A store that keeps them in its own file ignores it.
   */
  stateFile?: string;
}

/** Where detection keeps what it writes, for one store. */
export interface DetectionStorage {
  /** Alerts raised here, the outbox of deliveries and the engine's state. */
  state: DetectionState;
  /** Where the store's alerts are read and acknowledged (the API, `kubetrail alerts`). */
  log: AlertLog;
  /**
   * Internal targets every new alert is queued for, whatever its severity: the store itself, when the
   * state is kept apart from it. They never give up.
   */
  targets: AlertTarget[];
  /** Where the state is kept, for messages: `the store` or the local state file. */
  where: string;
  /** Closes what was opened for the state (a local state file); the store stays open. */
  close(): Promise<void>;
}

/** The store's alerts, for reading and acknowledging. */
export interface StoredAlertLog extends AlertLog {
  /** The outbox's counts, when the store keeps the outbox itself (else each collector keeps its own). */
  outboxCounts?(): Promise<OutboxCounts>;
}
