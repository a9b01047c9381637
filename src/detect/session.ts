// Wiring for commands that detect against a store: the rules, the engine with its saved state, the alert
// tables, the outputs and their outbox dispatcher, and the transform that joins them to a pipeline.
// `import --detect`, the live collector and `detect --save` all set detection up through here.
import type { DuckDBConnection } from '@duckdb/node-api';
import { KubetrailError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { AlertStore } from './alert-store.js';
import { DetectionEngine } from './engine.js';
import { Dispatcher, DEFAULT_BACKOFF, type BackoffOptions } from './outbox.js';
import { createOutput, type AlertOutput } from './outputs.js';
import { loadRules, type LoadRulesOptions } from './rules.js';
import { DetectTransform } from './transform.js';
import type { Alert, Severity } from './types.js';

export interface SessionOptions extends LoadRulesOptions {
  /** Output specs (stdout, file:PATH, webhook:URL, slack:URL, alertmanager:URL). */
  outputs?: readonly string[];
  /** Lowest severity sent to outputs (default low: informational alerts are stored, not sent). */
  outputMinSeverity?: Severity;
  /** Where the stdout output writes. */
  write?: (text: string) => void;
  backoff?: BackoffOptions;
  /** Restore the engine's saved state (default true). */
  resume?: boolean;
  /** Called with the alerts that were new (not already stored). */
  onAlerts?: (alerts: Alert[]) => void;
}

export interface DetectionSession {
  engine: DetectionEngine;
  alerts: AlertStore;
  dispatcher: Dispatcher;
  outputs: AlertOutput[];
  transform: DetectTransform;
  /** Alerts stored as new during the session. */
  readonly stored: number;
  /** Checkpoints state, delivers what can be delivered within `drainMs`; returns deliveries still pending. */
  finish(drainMs?: number): Promise<number>;
}

/**
 * A DuckDB connection of the store's own for detection's tables: separate from the connection events are
 * written on, so alert statements never share (and roll back with) an event write's transaction.
 */
export async function storeConnection(store: Store): Promise<DuckDBConnection> {
  const connect = (store as unknown as { connect?: () => Promise<DuckDBConnection> }).connect;
  if (typeof connect !== 'function') {
    throw new KubetrailError('KT_STORE_OPEN', `alerts need a DuckDB store; this is a ${store.kind} store`);
  }
  return connect.call(store);
}

export async function openDetection(store: Store, opts: SessionOptions = {}): Promise<DetectionSession> {
  const rules = loadRules(opts);
  const outputs = (opts.outputs ?? []).map((spec) =>
    createOutput(spec, {
      minSeverity: opts.outputMinSeverity ?? 'low',
      ...(opts.write ? { write: opts.write } : {}),
    }),
  );
  const alerts = await AlertStore.open(await storeConnection(store));
  const engine = new DetectionEngine(rules);
  if (opts.resume !== false) {
    const snap = await alerts.loadState();
    if (snap) engine.restore(snap);
  }
  const dispatcher = new Dispatcher(alerts, outputs, opts.backoff ?? DEFAULT_BACKOFF);
  let stored = 0;
  const transform = new DetectTransform(engine, {
    alerts: async (list) => {
      const fresh = await alerts.save(list, outputs);
      stored += fresh.length;
      if (fresh.length > 0) {
        opts.onAlerts?.(fresh);
        dispatcher.notify();
      }
    },
    checkpoint: (snap) => alerts.saveState(snap),
  });
  if (outputs.length > 0) dispatcher.start();
  return {
    engine,
    alerts,
    dispatcher,
    outputs,
    transform,
    get stored() {
      return stored;
    },
    async finish(drainMs = 10_000) {
      await transform.close();
      if (outputs.length === 0) {
        dispatcher.stop();
        return 0;
      }
      return dispatcher.drain(drainMs);
    },
  };
}
